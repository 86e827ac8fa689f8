package io.respawn.node.recovery;

import io.respawn.core.NodeId;
import io.respawn.storage.backup.BatchPullCursor;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * Value transfer between members, outside the consensus messages: a primary that holds keys only
 * as timestamps (it was a witness) asks a backup for their values before it serves them (DESIGN
 * §5.3 step 4; the full BatchPull/PriorityPull protocol of the recovery work builds on this).
 * Framed like every peer frame ({@code version u8 | type u8 | length u32 | body | crc32c u32},
 * big-endian, CRC over header and body), with frame types from the range the protocol reserves
 * for data movement (16-31), so the transport routes them without the core codec.
 *
 * <pre>
 * PULL_KEYS (16), primary -> backup
 * | from u32 | to u32 | requestId i64 | minAppliedIndex i64 | count u32 |
 * | count x (keyLen u32 | key) |
 *
 * PULL_KEYS_REPLY (17), backup -> primary
 * | from u32 | to u32 | requestId i64 | appliedIndex i64 | count u32 |
 * | count x (keyLen u32 | key | found u8 | expiresAt i64 | valueLen u32 | value) |
 *
 * POPULARITY_REPORT (18), primary -> backup, every report interval while it has samples
 * | from u32 | to u32 | reportSeq i64 | requestsSampled i64 | count u32 |
 * | count x keyHash i64 |                     count <= {@link #REPORT_HASHES_MAX}
 *
 * BATCH_PULL (19), primary -> backup: the popular set, then the backup's logs, hot first (term
 * 0: cancel)
 * | from u32 | to u32 | requestId i64 | term i64 | cursor (17 bytes) | chunksMax u32 |
 * | chunkBytesMax u32 |
 *     cursor: {@code BatchPullCursor#toBytes} (phase u8: 3 popular set, 1 hot log, 2 cold log,
 *     0 done | segmentId u64 | offset u64, in the popular set the rank of the next key)
 *     chunksMax in [1, {@link #BATCH_CHUNKS_MAX}], chunkBytesMax in [4096, {@link
 *     #BATCH_CHUNK_BYTES_MAX}]
 *
 * BATCH_PULL_REPLY (20), backup -> primary, one per chunk
 * | from u32 | to u32 | requestId i64 | appliedIndex i64 | next cursor (17 bytes) | flags u8 |
 * | clearIndex i64 |
 * | count u32 | count x (keyLen u32 | key | found u8 | expiresAt i64 | valueLen u32 | value) |
 *     flags: bit 0 = the last chunk this request gets; count <= {@link #BATCH_VALUES_MAX}
 *     clearIndex: the newest CLEAR (FLUSHALL) the backup had applied when it read the chunk
 *     (0: none); values pulled earlier at an applied index below it are dead
 *
 * PRIORITY_PULL_KEYS (21), primary -> backup: as PULL_KEYS; a client command waits for it, so
 * the backup answers it before any background pull (and returns the other current records on
 * the key's log page too)
 * </pre>
 *
 * {@code minAppliedIndex} is the newest log index the primary knows of a write to any of the
 * keys: a backup whose applied index is below it (it has not applied that write yet) answers with
 * count 0 and its applied index, and the primary asks again. Priority pulls (a client command
 * waits for them; type 21) and background pulls (type 16) share the layout
 * (docs/recovery.md).
 *
 * <p>BatchPull: the backup pauses its GC, drains its buffer into its logs and streams the
 * records its index still points to, hot log first, in chunks of about {@code chunkBytesMax} log
 * bytes, at most {@code chunksMax} per request; each reply carries the cursor to continue from
 * (done: log 0) and the backup's applied index read before the chunk, so every value in it is at
 * least that new. A backup without hot and cold logs answers at once with a done cursor and no
 * values (the primary then pulls every key by name). A BatchPull with term 0 ends the scan and
 * resumes the backup's GC.
 *
 * <p>A popularity report carries the 64-bit hashes ({@code io.respawn.storage.backup.KeyHash}) of
 * the keys the primary sampled since its last report (DESIGN §3); {@code requestsSampled} counts
 * every sample taken, including those dropped because a report is full. Reports are advisory: a
 * lost one only delays a key's move between the hot and cold logs.
 */
public final class ValuePull {
  public static final int TYPE_PULL_KEYS = 16;
  public static final int TYPE_PULL_KEYS_REPLY = 17;
  public static final int VERSION = 1;
  public static final int KEYS_PER_REQUEST_MAX = 4096;
  public static final int TYPE_POPULARITY_REPORT = 18;
  /** Hashes in one popularity report at most (32 KiB of hashes). */
  public static final int REPORT_HASHES_MAX = 4096;
  public static final int TYPE_BATCH_PULL = 19;
  public static final int TYPE_BATCH_PULL_REPLY = 20;
  public static final int TYPE_PRIORITY_PULL_KEYS = 21;
  /** Chunks one BatchPull request may ask for at most. */
  public static final int BATCH_CHUNKS_MAX = 16;
  /** Log bytes one BatchPull chunk may read at most. */
  public static final int BATCH_CHUNK_BYTES_MAX = 1 << 20;
  /**
   * Values one BatchPull reply carries at most: a chunk of {@link #BATCH_CHUNK_BYTES_MAX} log
   * bytes holds fewer (every backup record has a 49-byte header).
   */
  public static final int BATCH_VALUES_MAX = 1 << 15;

  private ValuePull() {}

  /**
   * A request for the current values of {@code keys}; {@code priority} when a client command
   * waits for it (answered first).
   */
  public record PullKeys(NodeId from, NodeId to, long requestId, long minAppliedIndex,
      List<byte[]> keys, boolean priority) implements PullMessage {
    /** A background pull. */
    public PullKeys(NodeId from, NodeId to, long requestId, long minAppliedIndex,
        List<byte[]> keys) {
      this(from, to, requestId, minAppliedIndex, keys, false);
    }
  }

  /**
   * Asks for up to {@code chunksMax} chunks of the backup's logs from {@code cursor}; {@code
   * term} 0 cancels the scan (GC resumes).
   */
  public record BatchPull(NodeId from, NodeId to, long requestId, long term,
      BatchPullCursor cursor, int chunksMax, int chunkBytesMax) implements PullMessage {
    public BatchPull {
      if (term < 0 || chunksMax < 1 || chunksMax > BATCH_CHUNKS_MAX || chunkBytesMax < 4096
          || chunkBytesMax > BATCH_CHUNK_BYTES_MAX) {
        throw new IllegalArgumentException("BatchPull term " + term + ", chunksMax " + chunksMax
            + ", chunkBytesMax " + chunkBytesMax + ": need term >= 0, chunksMax in [1, "
            + BATCH_CHUNKS_MAX + "], chunkBytesMax in [4096, " + BATCH_CHUNK_BYTES_MAX + "]");
      }
    }
  }

  /**
   * One chunk: values at least as new as {@code appliedIndex}, where to go on ({@code next}),
   * and whether it is the last chunk of its request.
   */
  public record BatchPullReply(NodeId from, NodeId to, long requestId, long appliedIndex,
      BatchPullCursor next, boolean last, long clearIndex, List<PulledValue> values)
      implements PullMessage {
    public BatchPullReply {
      if (values.size() > BATCH_VALUES_MAX) {
        throw new IllegalArgumentException("a BatchPull reply of " + values.size()
            + " values exceeds BATCH_VALUES_MAX " + BATCH_VALUES_MAX);
      }
      if (clearIndex < 0 || clearIndex > appliedIndex) {
        throw new IllegalArgumentException("clearIndex " + clearIndex + " must be in [0, "
            + "appliedIndex " + appliedIndex + "]");
      }
    }

    /** A chunk from a backup that applied no CLEAR. */
    public BatchPullReply(NodeId from, NodeId to, long requestId, long appliedIndex,
        BatchPullCursor next, boolean last, List<PulledValue> values) {
      this(from, to, requestId, appliedIndex, next, last, 0, values);
    }
  }

  /** One key's value as the backup has it applied; {@code found} false means absent. */
  public record PulledValue(byte[] key, boolean found, long expiresAtMillis, byte[] value) {}

  /** The answer; empty {@code values} with a low {@code appliedIndex} means "not yet". */
  public record PullKeysReply(NodeId from, NodeId to, long requestId, long appliedIndex,
      List<PulledValue> values) implements PullMessage {}

  /** The primary's sampled key hashes for a backup's popularity (hot and cold logs). */
  public record PopularityReport(NodeId from, NodeId to, long reportSeq, long requestsSampled,
      long[] keyHashes) implements PullMessage {
    public PopularityReport {
      if (keyHashes.length > REPORT_HASHES_MAX) {
        throw new IllegalArgumentException("a popularity report of " + keyHashes.length
            + " hashes exceeds REPORT_HASHES_MAX " + REPORT_HASHES_MAX);
      }
    }
  }

  /** Any message of the value-pull channel. */
  public sealed interface PullMessage
      permits PullKeys, PullKeysReply, PopularityReport, BatchPull, BatchPullReply {
    NodeId from();

    NodeId to();
  }

  /** True if a frame of this type is a value-pull frame (not a core message). */
  public static boolean isPullType(int type) {
    return type == TYPE_PULL_KEYS || type == TYPE_PULL_KEYS_REPLY
        || type == TYPE_POPULARITY_REPORT || type == TYPE_BATCH_PULL
        || type == TYPE_BATCH_PULL_REPLY || type == TYPE_PRIORITY_PULL_KEYS;
  }

  private static int typeOf(PullMessage m) {
    return switch (m) {
      case PullKeys p -> p.priority() ? TYPE_PRIORITY_PULL_KEYS : TYPE_PULL_KEYS;
      case PullKeysReply r -> TYPE_PULL_KEYS_REPLY;
      case PopularityReport r -> TYPE_POPULARITY_REPORT;
      case BatchPull p -> TYPE_BATCH_PULL;
      case BatchPullReply r -> TYPE_BATCH_PULL_REPLY;
    };
  }

  private static int valuesBytes(List<PulledValue> values) {
    int n = 0;
    for (PulledValue v : values) {
      n += 4 + v.key().length + 1 + 8 + 4 + (v.value() == null ? 0 : v.value().length);
    }
    return n;
  }

  private static void putValues(ByteBuffer b, List<PulledValue> values) {
    b.putInt(values.size());
    for (PulledValue v : values) {
      byte[] value = v.value() == null ? new byte[0] : v.value();
      b.putInt(v.key().length).put(v.key()).put((byte) (v.found() ? 1 : 0))
          .putLong(v.expiresAtMillis()).putInt(value.length).put(value);
    }
  }

  /** Bytes of {@code m}'s frame (header, body, checksum). */
  /** The length of {@code m}'s whole frame, header and checksum included. */
  public static int frameBytes(PullMessage m) {
    int n = 4 + 4 + 8 + 8 + 4;
    if (m instanceof PullKeys p) {
      for (byte[] k : p.keys()) {
        n += 4 + k.length;
      }
    } else if (m instanceof PullKeysReply r) {
      n += valuesBytes(r.values());
    } else if (m instanceof PopularityReport r) {
      n += 8 * r.keyHashes().length;
    } else if (m instanceof BatchPull) {
      n = 4 + 4 + 8 + 8 + BatchPullCursor.ENCODED_BYTES + 4 + 4;
    } else if (m instanceof BatchPullReply r) {
      n = 4 + 4 + 8 + 8 + BatchPullCursor.ENCODED_BYTES + 1 + 8 + 4 + valuesBytes(r.values());
    }
    return 6 + n + 4;
  }

  /** Encodes {@code m} as one frame in a heap buffer (position 0, limit at its end). */
  public static ByteBuffer encode(PullMessage m) {
    int bytes = frameBytes(m);
    ByteBuffer b = ByteBuffer.allocate(bytes);
    writeFrame(m, b, bytes);
    return b.flip();
  }

  /**
   * Writes {@code m}'s frame of {@code bytes} ({@link #frameBytes}) into {@code b} from position
   * 0: version, type, body length, the body, then the CRC32C of all before it. A driver that
   * sends from memory of its own (a direct buffer of its transport) encodes into a view of it.
   */
  public static void writeFrame(PullMessage m, ByteBuffer b, int bytes) {
    int n = bytes - 10;
    b.put((byte) VERSION).put((byte) typeOf(m)).putInt(n);
    b.putInt(m.from().value()).putInt(m.to().value());
    if (m instanceof BatchPull p) {
      b.putLong(p.requestId()).putLong(p.term()).put(p.cursor().toBytes()).putInt(p.chunksMax())
          .putInt(p.chunkBytesMax());
    } else if (m instanceof BatchPullReply r) {
      b.putLong(r.requestId()).putLong(r.appliedIndex()).put(r.next().toBytes())
          .put((byte) (r.last() ? 1 : 0)).putLong(r.clearIndex());
      putValues(b, r.values());
    } else if (m instanceof PullKeys p) {
      b.putLong(p.requestId()).putLong(p.minAppliedIndex()).putInt(p.keys().size());
      for (byte[] k : p.keys()) {
        b.putInt(k.length).put(k);
      }
    } else if (m instanceof PullKeysReply r) {
      b.putLong(r.requestId()).putLong(r.appliedIndex());
      putValues(b, r.values());
    } else if (m instanceof PopularityReport r) {
      b.putLong(r.reportSeq()).putLong(r.requestsSampled()).putInt(r.keyHashes().length);
      for (long h : r.keyHashes()) {
        b.putLong(h);
      }
    }
    CRC32C crc = new CRC32C();
    crc.update(b.duplicate().flip());
    b.putInt((int) crc.getValue());
  }

  /** Decodes one whole frame; throws {@link IllegalArgumentException} naming the fault. */
  public static PullMessage decode(ByteBuffer frame) {
    ByteBuffer b = frame.duplicate();
    if (b.remaining() < 10) {
      throw new IllegalArgumentException("pull frame of " + b.remaining() + " bytes is truncated");
    }
    int start = b.position();
    int version = Byte.toUnsignedInt(b.get(start));
    int type = Byte.toUnsignedInt(b.get(start + 1));
    long n = Integer.toUnsignedLong(b.getInt(start + 2));
    if (version != VERSION || !isPullType(type)) {
      throw new IllegalArgumentException("not a pull frame (version " + version + ", type "
          + type + ")");
    }
    if (b.remaining() != 6 + n + 4) {
      throw new IllegalArgumentException("pull frame says " + n + " body bytes, has "
          + (b.remaining() - 10));
    }
    CRC32C crc = new CRC32C();
    ByteBuffer covered = b.duplicate().limit(start + 6 + (int) n);
    crc.update(covered);
    if ((int) crc.getValue() != b.getInt(start + 6 + (int) n)) {
      throw new IllegalArgumentException("pull frame checksum mismatch");
    }
    ByteBuffer body = b.duplicate().position(start + 6).limit(start + 6 + (int) n).slice();
    NodeId from = NodeId.of(nonNegative(body.getInt(), "from"));
    NodeId to = NodeId.of(nonNegative(body.getInt(), "to"));
    if (body.remaining() < 16) {
      throw new IllegalArgumentException("pull frame body of type " + type + " is truncated");
    }
    long requestId = body.getLong();
    long index = body.getLong();
    if (type == TYPE_BATCH_PULL || type == TYPE_BATCH_PULL_REPLY) {
      return decodeBatch(type, from, to, requestId, index, body);
    }
    if (body.remaining() < 4) {
      throw new IllegalArgumentException("pull frame count is truncated");
    }
    int count = nonNegative(body.getInt(), "count");
    if (count > KEYS_PER_REQUEST_MAX || count > body.remaining() / 4) {
      throw new IllegalArgumentException("pull count " + count + " is over the limit or the bytes");
    }
    if (type == TYPE_POPULARITY_REPORT) {
      if (count > REPORT_HASHES_MAX || body.remaining() != 8L * count) {
        throw new IllegalArgumentException("popularity report of " + count + " hashes is over "
            + "the limit or does not match its " + body.remaining() + " bytes");
      }
      long[] hashes = new long[count];
      for (int i = 0; i < count; i++) {
        hashes[i] = body.getLong();
      }
      return new PopularityReport(from, to, requestId, index, hashes);
    }
    if (type == TYPE_PULL_KEYS || type == TYPE_PRIORITY_PULL_KEYS) {
      List<byte[]> keys = new ArrayList<>(count);
      for (int i = 0; i < count; i++) {
        keys.add(bytes(body, "key " + i));
      }
      expectEnd(body);
      return new PullKeys(from, to, requestId, index, keys, type == TYPE_PRIORITY_PULL_KEYS);
    }
    List<PulledValue> values = values(body, count);
    expectEnd(body);
    return new PullKeysReply(from, to, requestId, index, values);
  }

  private static PullMessage decodeBatch(int type, NodeId from, NodeId to, long requestId,
      long index, ByteBuffer body) {
    if (body.remaining() < BatchPullCursor.ENCODED_BYTES + (type == TYPE_BATCH_PULL ? 8 : 5)) {
      throw new IllegalArgumentException("BatchPull frame of type " + type + " is truncated");
    }
    byte[] cursorBytes = new byte[BatchPullCursor.ENCODED_BYTES];
    body.get(cursorBytes);
    BatchPullCursor cursor = BatchPullCursor.fromBytes(cursorBytes);
    if (type == TYPE_BATCH_PULL) {
      int chunks = body.getInt();
      int chunkBytes = body.getInt();
      expectEnd(body);
      return new BatchPull(from, to, requestId, index, cursor, chunks, chunkBytes);
    }
    int flags = Byte.toUnsignedInt(body.get());
    if ((flags & ~1) != 0) {
      throw new IllegalArgumentException("BatchPull reply flags " + flags + " name unknown bits");
    }
    long clearIndex = body.getLong();
    if (clearIndex < 0 || clearIndex > index) {
      throw new IllegalArgumentException("BatchPull reply clearIndex " + clearIndex
          + " is not in [0, appliedIndex " + index + "]");
    }
    int count = nonNegative(body.getInt(), "count");
    if (count > BATCH_VALUES_MAX || count > body.remaining() / 4) {
      throw new IllegalArgumentException("BatchPull reply count " + count
          + " is over the limit or the bytes");
    }
    List<PulledValue> values = values(body, count);
    expectEnd(body);
    return new BatchPullReply(from, to, requestId, index, cursor, (flags & 1) != 0, clearIndex,
        values);
  }

  private static List<PulledValue> values(ByteBuffer body, int count) {
    List<PulledValue> values = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      byte[] key = bytes(body, "key " + i);
      if (body.remaining() < 9) {
        throw new IllegalArgumentException("pulled value " + i + " is truncated");
      }
      boolean found = body.get() != 0;
      long expires = body.getLong();
      byte[] value = bytes(body, "value " + i);
      values.add(new PulledValue(key, found, expires, value));
    }
    return values;
  }

  private static byte[] bytes(ByteBuffer body, String what) {
    if (body.remaining() < 4) {
      throw new IllegalArgumentException(what + " length is truncated");
    }
    int len = body.getInt();
    if (len < 0 || len > body.remaining()) {
      throw new IllegalArgumentException(what + " of " + len + " bytes exceeds the "
          + body.remaining() + " left");
    }
    byte[] out = new byte[len];
    body.get(out);
    return out;
  }

  private static int nonNegative(int v, String what) {
    if (v < 0) {
      throw new IllegalArgumentException(what + " is negative: " + v);
    }
    return v;
  }

  private static void expectEnd(ByteBuffer body) {
    if (body.hasRemaining()) {
      throw new IllegalArgumentException(body.remaining() + " trailing bytes in a pull frame");
    }
  }
}
