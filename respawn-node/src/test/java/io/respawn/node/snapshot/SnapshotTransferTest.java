package io.respawn.node.snapshot;

import static org.assertj.core.api.Assertions.assertThat;

import io.respawn.core.Membership;
import io.respawn.core.Message;
import io.respawn.core.Message.SnapshotAck;
import io.respawn.core.Message.SnapshotChunk;
import io.respawn.core.NodeId;
import io.respawn.core.Role;
import io.respawn.core.SnapshotMeta;
import io.respawn.core.codec.MessageCodec;
import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;

/** The chunked snapshot stream: loss, duplication, reordering, resumption, checksums, rate. */
class SnapshotTransferTest {
  static final NodeId LEADER = NodeId.of(1);
  static final NodeId FOLLOWER = NodeId.of(2);
  static final long MS = 1_000_000L;

  /** An image over a byte array. */
  record ArrayImage(SnapshotMeta meta, byte[] body) implements SnapshotImage {
    @Override
    public boolean keysOnly() {
      return false;
    }

    @Override
    public long bodyBytes() {
      return body.length;
    }

    @Override
    public int bodyCrc32c() {
      CRC32C c = new CRC32C();
      c.update(body);
      return (int) c.getValue();
    }

    @Override
    public void read(long offset, byte[] dst, int dstOff, int len) {
      System.arraycopy(body, (int) offset, dst, dstOff, len);
    }

    @Override
    public SnapshotImage keysOnlyView() {
      return this;
    }
  }

  /** An image whose checksum does not match its bytes. */
  record LyingImage(ArrayImage inner) implements SnapshotImage {
    @Override
    public SnapshotMeta meta() {
      return inner.meta();
    }

    @Override
    public boolean keysOnly() {
      return false;
    }

    @Override
    public long bodyBytes() {
      return inner.bodyBytes();
    }

    @Override
    public int bodyCrc32c() {
      return inner.bodyCrc32c() ^ 1;
    }

    @Override
    public void read(long offset, byte[] dst, int dstOff, int len) {
      inner.read(offset, dst, dstOff, len);
    }

    @Override
    public SnapshotImage keysOnlyView() {
      return this;
    }
  }

  /** Stages into memory; counts what it was given. */
  static final class MemoryStager implements SnapshotReceiver.Stager {
    final List<ByteArrayOutputStream> sinks = new ArrayList<>();

    @Override
    public SnapshotSink stage(SnapshotMeta meta, boolean keysOnly, long bodyBytes) {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      sinks.add(out);
      return new SnapshotSink() {
        @Override
        public void write(byte[] src, int off, int len) {
          out.write(src, off, len);
        }

        @Override
        public long bytes() {
          return out.size();
        }

        @Override
        public void abort() {
          out.reset();
        }
      };
    }
  }

  static SnapshotMeta meta() {
    Membership m = Membership.of(List.of(new Membership.Member(LEADER, Role.PRIMARY, true),
        new Membership.Member(FOLLOWER, Role.BACKUP, true)));
    return new SnapshotMeta(500, 3, m);
  }

  static byte[] body(int n) {
    byte[] b = new byte[n];
    new SplittableRandom(7).nextBytes(b);
    return b;
  }

  /** Runs sender and receiver over a channel that loses, duplicates and reorders. */
  static SnapshotReceiver.Staged run(SnapshotSender sender, SnapshotReceiver receiver,
      SplittableRandom rnd, int lossPercent, long[] clock, long untilNanos) {
    return run(sender, receiver, rnd, lossPercent, clock, untilNanos, 1);
  }

  /** {@link #run} with the receiver in {@code currentTerm}. */
  static SnapshotReceiver.Staged run(SnapshotSender sender, SnapshotReceiver receiver,
      SplittableRandom rnd, int lossPercent, long[] clock, long untilNanos, long currentTerm) {
    List<Message> inFlight = new ArrayList<>();
    while (clock[0] < untilNanos) {
      clock[0] += MS;
      inFlight.addAll(sender.pump(clock[0]));
      List<Message> now = new ArrayList<>(inFlight);
      inFlight.clear();
      java.util.Collections.shuffle(now, new java.util.Random(rnd.nextLong()));
      for (Message m : now) {
        if (rnd.nextInt(100) < lossPercent) {
          continue;
        }
        if (rnd.nextInt(100) < 5) {
          inFlight.add(m); // late duplicate
        }
        Message wire = MessageCodec.decode(MessageCodec.encode(m)); // every piece crosses the codec
        if (wire instanceof SnapshotChunk c) {
          SnapshotReceiver.Outcome o = receiver.onChunk(c, currentTerm, true);
          if (o.ack() != null) {
            inFlight.add(o.ack());
          }
          if (o.complete() != null) {
            sender.onAck(receiver.installedAck(o.complete(), currentTerm), clock[0]);
            return o.complete();
          }
        } else if (wire instanceof SnapshotAck a) {
          sender.onAck(a, clock[0]);
        }
      }
    }
    return null;
  }

  @Test
  void aLossyReorderingChannelDeliversTheExactImage() {
    SnapshotPolicy policy = new SnapshotPolicy(10, 0, 1000, 4, 10_000_000, 20, 1 << 20);
    byte[] body = body(50_000);
    SnapshotSender sender = new SnapshotSender(LEADER, policy);
    MemoryStager stager = new MemoryStager();
    SnapshotReceiver receiver = new SnapshotReceiver(FOLLOWER, policy, stager);
    long[] clock = {0};
    sender.request(FOLLOWER, 1, new ArrayImage(meta(), body), clock[0]);
    SnapshotReceiver.Staged done = run(sender, receiver, new SplittableRandom(1), 20, clock,
        60_000 * MS);
    assertThat(done).isNotNull();
    assertThat(done.meta()).isEqualTo(meta());
    assertThat(stager.sinks.get(stager.sinks.size() - 1).toByteArray()).isEqualTo(body);
    assertThat(sender.active(FOLLOWER)).isFalse();
    assertThat(receiver.chunksIgnored()).isPositive(); // the channel did disturb it
  }

  @Test
  void aTransferStartedOverResumesFromWhatTheFollowerHolds() {
    SnapshotPolicy policy = new SnapshotPolicy(10, 0, 1000, 4, 1_000_000, 20, 1 << 20);
    byte[] body = body(40_000);
    ArrayImage image = new ArrayImage(meta(), body);
    SnapshotSender first = new SnapshotSender(LEADER, policy);
    MemoryStager stager = new MemoryStager();
    SnapshotReceiver receiver = new SnapshotReceiver(FOLLOWER, policy, stager);
    long[] clock = {0};
    first.request(FOLLOWER, 1, image, clock[0]);
    // about half goes through (1 MB/s for 20 ms), then the connection drops and the sender is gone
    assertThat(run(first, receiver, new SplittableRandom(2), 0, clock, 20 * MS)).isNull();
    long held = receiver.stagedOffset();
    assertThat(held).isBetween(10_000L, 30_000L);
    SnapshotSender second = new SnapshotSender(LEADER, policy);
    second.request(FOLLOWER, 1, image, clock[0]);
    SnapshotReceiver.Staged done = run(second, receiver, new SplittableRandom(3), 0, clock,
        1000 * MS);
    assertThat(done).isNotNull();
    assertThat(stager.sinks).hasSize(1); // one staging, continued
    assertThat(stager.sinks.get(0).toByteArray()).isEqualTo(body);
    long total = body.length + SnapshotFormat.header(meta(), false, body.length).length + 4;
    // the second sender sent its first window from 0 (before the first answer named the
    // offset held), then only what was missing, plus at most a window or so of resends
    assertThat(second.bytesSent()).isLessThan(total - held + 6L * policy.chunkBytes());
    assertThat(held).isGreaterThan(6L * policy.chunkBytes()); // so this is a real saving
  }

  @Test
  void aCorruptedBodyIsRefusedAndFetchedAgain() {
    SnapshotPolicy policy = new SnapshotPolicy(10, 0, 512, 2, 10_000_000, 20, 1 << 20);
    byte[] body = body(4_000);
    ArrayImage good = new ArrayImage(meta(), body);
    SnapshotImage lying = new LyingImage(good);
    SnapshotSender sender = new SnapshotSender(LEADER, policy);
    MemoryStager stager = new MemoryStager();
    SnapshotReceiver receiver = new SnapshotReceiver(FOLLOWER, policy, stager);
    long[] clock = {0};
    sender.request(FOLLOWER, 1, lying, clock[0]);
    assertThat(run(sender, receiver, new SplittableRandom(4), 0, clock, 200 * MS)).isNull();
    assertThat(receiver.checksumFailures()).isPositive();
  }

  @Test
  void theRateLimitBoundsBytesPerSecond() {
    long rate = 100_000;
    SnapshotPolicy policy = new SnapshotPolicy(10, 0, 1000, 4, rate, 1000, 1 << 20);
    SnapshotSender sender = new SnapshotSender(LEADER, policy);
    SnapshotReceiver receiver = new SnapshotReceiver(FOLLOWER, policy, new MemoryStager());
    long[] clock = {0};
    sender.request(FOLLOWER, 1, new ArrayImage(meta(), body(1_000_000)), clock[0]);
    run(sender, receiver, new SplittableRandom(5), 0, clock, 2_000 * MS);
    // two seconds at 100 kB/s plus the initial bucket of one window
    assertThat(sender.bytesSent()).isBetween(2 * rate - 4_000, 2 * rate + 4_000);
  }

  @Test
  void aSnapshotTheFollowerHasIsAcknowledgedNotStaged() {
    SnapshotPolicy policy = new SnapshotPolicy(10, 0, 512, 2, 10_000_000, 20, 1 << 20);
    MemoryStager stager = new MemoryStager();
    SnapshotReceiver receiver = new SnapshotReceiver(FOLLOWER, policy, stager);
    SnapshotChunk c = new SnapshotChunk(LEADER, FOLLOWER, 1, 500, 3, 1000, 0, new byte[100]);
    SnapshotReceiver.Outcome o = receiver.onChunk(c, 1, false);
    assertThat(o.ack().installed()).isTrue();
    assertThat(stager.sinks).isEmpty();
    assertThat(receiver.onChunk(c, 2, true).ack()).isNull(); // an older term: ignored
  }

  /**
   * F8 of respawn-sim/FINDINGS.md, seed 13644: a backup was staging a newer image (index 120)
   * from a helper a witness leader of term 1 had asked, and that transfer stopped half-way (the
   * term ended). The primary, leading term 2, then streamed its own kept image (index 118, still
   * above everything the backup had committed); the receiver ignored every chunk of it without
   * an answer, since it was older than the one staged, and the leader kept asking for ever: the
   * backup, whom every write needs, never caught up. A chunk of a newer term now replaces a
   * staging begun in an older term.
   */
  @Test
  void aStagingLeftFromAnOlderTermGivesWayToTheCurrentLeadersImage() {
    SnapshotPolicy policy = new SnapshotPolicy(10, 0, 1000, 4, 1_000_000, 20, 1 << 20);
    MemoryStager stager = new MemoryStager();
    SnapshotReceiver receiver = new SnapshotReceiver(FOLLOWER, policy, stager);
    long[] clock = {0};
    SnapshotMeta newer = new SnapshotMeta(600, 3, meta().membership());
    SnapshotSender helper = new SnapshotSender(NodeId.of(3), policy);
    helper.request(FOLLOWER, 1, new ArrayImage(newer, body(40_000)), clock[0]);
    assertThat(run(helper, receiver, new SplittableRandom(2), 0, clock, 20 * MS, 1)).isNull();
    assertThat(receiver.stagedOffset()).isPositive(); // half an image of term 1 staged
    byte[] body = body(30_000);
    SnapshotSender leader = new SnapshotSender(LEADER, policy);
    leader.request(FOLLOWER, 2, new ArrayImage(meta(), body), clock[0]);
    SnapshotReceiver.Staged done = run(leader, receiver, new SplittableRandom(3), 0, clock,
        1000 * MS, 2);
    assertThat(done).as("the leader's image of term 2 is staged and completes").isNotNull();
    assertThat(done.meta()).isEqualTo(meta());
    assertThat(stager.sinks.get(stager.sinks.size() - 1).toByteArray()).isEqualTo(body);
  }

  /** An image that counts the holds on it, as a store whose image is an open file would. */
  static final class HeldImage implements SnapshotImage {
    final ArrayImage inner;
    int holds;
    int releases;

    HeldImage(ArrayImage inner) {
      this.inner = inner;
    }

    @Override public SnapshotMeta meta() { return inner.meta(); }
    @Override public boolean keysOnly() { return false; }
    @Override public long bodyBytes() { return inner.bodyBytes(); }
    @Override public int bodyCrc32c() { return inner.bodyCrc32c(); }
    @Override public SnapshotImage keysOnlyView() { return this; }

    @Override
    public void read(long offset, byte[] dst, int dstOff, int len) {
      assertThat(holds).as("read without a hold").isPositive();
      inner.read(offset, dst, dstOff, len);
    }

    @Override
    public boolean retain() {
      holds++;
      return true;
    }

    @Override
    public void release() {
      assertThat(holds).as("released more often than held").isPositive();
      holds--;
      releases++;
    }
  }

  /**
   * A transfer holds its image from its start until it leaves the table (installed, replaced by
   * a newer image, dropped with its term or with leadership), so a store can free a replaced
   * image's file when its last transfer ends instead of whenever the collector gets to it.
   */
  @Test
  void aTransferHoldsItsImageUntilItEnds() {
    SnapshotPolicy policy = new SnapshotPolicy(10, 0, 1000, 4, 10_000_000, 20, 1 << 20);
    SnapshotSender sender = new SnapshotSender(LEADER, policy);
    HeldImage first = new HeldImage(new ArrayImage(meta(), body(5_000)));
    long[] clock = {0};
    sender.request(FOLLOWER, 1, first, clock[0]);
    assertThat(first.holds).isEqualTo(1);
    sender.request(FOLLOWER, 1, first, clock[0]); // under way already: no second hold
    assertThat(first.holds).isEqualTo(1);

    HeldImage newer = new HeldImage(new ArrayImage(
        new SnapshotMeta(meta().index() + 100, meta().term(), meta().membership()), body(5_000)));
    sender.request(FOLLOWER, 1, newer, clock[0]); // replaces the first transfer
    assertThat(first.holds).isZero();
    assertThat(newer.holds).isEqualTo(1);

    SnapshotReceiver receiver = new SnapshotReceiver(FOLLOWER, policy, new MemoryStager());
    assertThat(run(sender, receiver, new SplittableRandom(2), 10, clock, 60_000 * MS)).isNotNull();
    assertThat(newer.holds).as("installed: the transfer ended").isZero();

    HeldImage third = new HeldImage(new ArrayImage(meta(), body(5_000)));
    HeldImage fourth = new HeldImage(new ArrayImage(meta(), body(5_000)));
    sender.request(FOLLOWER, 1, third, clock[0]);
    sender.request(NodeId.of(3), 2, fourth, clock[0]);
    sender.dropOlderThan(2);
    assertThat(third.holds).isZero();
    assertThat(fourth.holds).isEqualTo(1);
    sender.clear();
    assertThat(fourth.holds).isZero();
    assertThat(List.of(first.releases, newer.releases, third.releases, fourth.releases))
        .containsExactly(1, 1, 1, 1);
  }
}
