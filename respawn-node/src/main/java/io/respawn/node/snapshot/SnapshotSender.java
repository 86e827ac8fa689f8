package io.respawn.node.snapshot;

import io.respawn.core.Message.SnapshotAck;
import io.respawn.core.Message.SnapshotChunk;
import io.respawn.core.NodeId;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Leader side of snapshot transfers: at most one per peer, each streaming one immutable image in
 * its {@link SnapshotFormat} envelope as {@link SnapshotChunk}s.
 *
 * <p>Flow control: at most {@code windowChunks} chunks beyond the last acknowledged offset, and a
 * token bucket of {@code bytesPerSecond} (holding one window) per transfer, so a transfer takes a
 * bounded share of the leader's time and network. Loss: the receiver acknowledges the offset it
 * has verified; a transfer that made no progress for {@code retryMillis} goes back to that
 * offset, and each further silent period doubles the wait (up to 32 times), so a peer that is
 * down costs a window now and then, not the rate limit. Resumption: a new transfer to a peer (after the old one was dropped, e.g. leadership
 * moved and came back) starts at offset 0, and the receiver answers with the offset it already
 * holds for the same snapshot, so only the rest is sent. Each transfer holds its image ({@link
 * SnapshotImage#retain}) from its start until it leaves the table (done, replaced, dropped with
 * its term or with leadership), so a store frees a replaced image's file when its last transfer
 * ends. Owned by the runtime's driver thread.
 */
public final class SnapshotSender {
  /** A silent peer is retried at most every this many retry periods. */
  static final long RETRY_BACKOFF_MAX = 32;

  /** One transfer in progress. */
  private static final class Transfer {
    final NodeId peer;
    final long term;
    final SnapshotImage image;
    final byte[] header;
    final byte[] trailer;
    final long totalBytes;
    long ackedOffset;
    long sentOffset;
    long lastProgressNanos;
    /** Wait before resending; doubles while the peer stays silent (it may be down). */
    long retryNanos;
    double tokens;
    long tokensAtNanos;

    Transfer(NodeId peer, long term, SnapshotImage image, long nowNanos, double tokens) {
      this.peer = peer;
      this.term = term;
      this.image = image;
      this.header = SnapshotFormat.header(image.meta(), image.keysOnly(), image.bodyBytes());
      this.trailer = SnapshotFormat.trailer(image.bodyCrc32c());
      this.totalBytes = header.length + image.bodyBytes() + trailer.length;
      this.lastProgressNanos = nowNanos;
      this.tokens = tokens;
      this.tokensAtNanos = nowNanos;
    }
  }

  private final NodeId self;
  private final SnapshotPolicy policy;
  private final boolean holdsImages;
  private final Map<NodeId, Transfer> transfers = new LinkedHashMap<>();
  private long chunksSent;
  private long bytesSent;
  private long transfersStarted;
  private long transfersCompleted;

  public SnapshotSender(NodeId self, SnapshotPolicy policy) {
    this(self, policy, true);
  }

  /**
   * @param holdsImages false only for the broken variant {@code SENDER_HOLDS_NO_IMAGE}: no hold
   *     is taken on the images sent
   */
  public SnapshotSender(NodeId self, SnapshotPolicy policy, boolean holdsImages) {
    this.self = self;
    this.policy = policy;
    this.holdsImages = holdsImages;
  }

  /**
   * The core asked to send {@code peer} a snapshot: starts a transfer of {@code image} in {@code
   * term} unless one to that peer of the same term and at least that index is under way.
   */
  public void request(NodeId peer, long term, SnapshotImage image, long nowNanos) {
    request(peer, term, image, Long.MAX_VALUE, nowNanos);
  }

  /**
   * As {@link #request(NodeId, long, SnapshotImage, long)}, also keeping a transfer under way of
   * an older image whose index is still at or above {@code logBaseIndex} (the sender's log holds
   * every entry after it, so the peer catches up from the log once it installed it): a peer that
   * restarted mid-transfer resumes it instead of starting over on every newer image the sender
   * kept meanwhile.
   */
  public void request(NodeId peer, long term, SnapshotImage image, long logBaseIndex,
      long nowNanos) {
    Transfer t = transfers.get(peer);
    if (t != null && t.term == term && t.image.keysOnly() == image.keysOnly()
        && (t.image.meta().index() >= image.meta().index()
            || t.image.meta().index() >= logBaseIndex)) {
      return;
    }
    if (holdsImages && !image.retain()) {
      return; // freed meanwhile: the next request names the image kept now
    }
    end(transfers.put(peer, new Transfer(peer, term, image, nowNanos, bucketBytes())));
    transfersStarted++;
  }

  /** A transfer left the table (replaced, done or dropped): its hold on the image ends. */
  private void end(Transfer t) {
    if (t != null && holdsImages) {
      t.image.release();
    }
  }

  /** The receiver's answer: move the acknowledged offset, or end the transfer. */
  public void onAck(SnapshotAck a, long nowNanos) {
    Transfer t = transfers.get(a.from());
    if (t == null || a.term() != t.term || a.snapshotIndex() != t.image.meta().index()
        || a.snapshotTerm() != t.image.meta().term()) {
      return;
    }
    if (a.installed()) {
      end(transfers.remove(a.from()));
      transfersCompleted++;
      return;
    }
    long next = Math.min(a.nextOffset(), t.totalBytes);
    t.retryNanos = policy.retryMillis() * 1_000_000L; // it answers
    if (next > t.ackedOffset) { // progress (or the peer already held this much: resume there)
      t.ackedOffset = next;
      t.sentOffset = Math.max(t.sentOffset, next);
      t.lastProgressNanos = nowNanos;
    } else if (next < t.ackedOffset) { // it lost what it had staged: resend from there
      t.ackedOffset = next;
      t.sentOffset = next;
      t.lastProgressNanos = nowNanos;
    }
  }

  /** Chunks that window, rate and retry timer allow now, for every transfer. */
  public List<SnapshotChunk> pump(long nowNanos) {
    List<SnapshotChunk> out = new ArrayList<>();
    long retryMinNanos = policy.retryMillis() * 1_000_000L;
    for (Transfer t : transfers.values()) {
      refill(t, nowNanos);
      if (t.retryNanos == 0) {
        t.retryNanos = retryMinNanos;
      }
      if (nowNanos - t.lastProgressNanos >= t.retryNanos) {
        // nothing heard: resend from what the peer confirmed, and wait longer next time (up to
        // 32 retry periods), so a peer that is down costs little
        t.sentOffset = t.ackedOffset;
        t.lastProgressNanos = nowNanos;
        t.retryNanos = Math.min(t.retryNanos * 2, retryMinNanos * RETRY_BACKOFF_MAX);
      }
      long windowEnd = Math.min(t.totalBytes,
          t.ackedOffset + (long) policy.windowChunks() * policy.chunkBytes());
      while (t.sentOffset < windowEnd) {
        int len = (int) Math.min(policy.chunkBytes(), t.totalBytes - t.sentOffset);
        if (t.tokens < len) {
          break;
        }
        out.add(chunk(t, t.sentOffset, len));
        t.tokens -= len;
        t.sentOffset += len;
        chunksSent++;
        bytesSent += len;
      }
    }
    return out;
  }

  /** Transfers of a term below {@code term} end (their receivers ignore them anyway). */
  public void dropOlderThan(long term) {
    transfers.values().removeIf(t -> {
      if (t.term < term) {
        end(t);
        return true;
      }
      return false;
    });
  }

  /** Leadership ended (or the runtime stopped): every transfer is dropped. */
  public void clear() {
    transfers.values().forEach(this::end);
    transfers.clear();
  }

  public boolean active(NodeId peer) {
    return transfers.containsKey(peer);
  }

  public int activeTransfers() {
    return transfers.size();
  }

  public long chunksSent() {
    return chunksSent;
  }

  public long bytesSent() {
    return bytesSent;
  }

  public long transfersStarted() {
    return transfersStarted;
  }

  public long transfersCompleted() {
    return transfersCompleted;
  }

  private double bucketBytes() {
    return (double) policy.windowChunks() * policy.chunkBytes();
  }

  private void refill(Transfer t, long nowNanos) {
    long dt = Math.max(0, nowNanos - t.tokensAtNanos);
    t.tokens = Math.min(bucketBytes(), t.tokens + dt * (policy.bytesPerSecond() / 1e9));
    t.tokensAtNanos = nowNanos;
  }

  /** Bytes [offset, offset + len) of the envelope: header, body, trailer. */
  private SnapshotChunk chunk(Transfer t, long offset, int len) {
    byte[] data = new byte[len];
    long bodyStart = t.header.length;
    long trailerStart = bodyStart + t.image.bodyBytes();
    int filled = 0;
    while (filled < len) {
      long at = offset + filled;
      int n;
      if (at < bodyStart) {
        n = (int) Math.min(len - filled, bodyStart - at);
        System.arraycopy(t.header, (int) at, data, filled, n);
      } else if (at < trailerStart) {
        n = (int) Math.min(len - filled, trailerStart - at);
        t.image.read(at - bodyStart, data, filled, n);
      } else {
        n = (int) Math.min(len - filled, t.totalBytes - at);
        System.arraycopy(t.trailer, (int) (at - trailerStart), data, filled, n);
      }
      filled += n;
    }
    return new SnapshotChunk(self, t.peer, t.term, t.image.meta().index(), t.image.meta().term(),
        t.totalBytes, offset, data);
  }
}
