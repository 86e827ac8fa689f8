package io.respawn.server.peer;

import io.respawn.core.NodeId;
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
 * </pre>
 *
 * {@code minAppliedIndex} is the newest log index the primary knows of a write to any of the
 * keys: a backup whose applied index is below it (it has not applied that write yet) answers with
 * count 0 and its applied index, and the primary asks again. Priority pulls (a client command
 * waits for them) and background pulls use the same frames (docs/recovery.md).
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

  private ValuePull() {}

  /** A request for the current values of {@code keys}. */
  public record PullKeys(NodeId from, NodeId to, long requestId, long minAppliedIndex,
      List<byte[]> keys) implements PullMessage {}

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
  public sealed interface PullMessage permits PullKeys, PullKeysReply, PopularityReport {
    NodeId from();

    NodeId to();
  }

  /** True if a frame of this type is a value-pull frame (not a core message). */
  public static boolean isPullType(int type) {
    return type == TYPE_PULL_KEYS || type == TYPE_PULL_KEYS_REPLY
        || type == TYPE_POPULARITY_REPORT;
  }

  public static ByteBuffer encode(PullMessage m) {
    int n = 4 + 4 + 8 + 8 + 4;
    if (m instanceof PullKeys p) {
      for (byte[] k : p.keys()) {
        n += 4 + k.length;
      }
    } else if (m instanceof PullKeysReply r) {
      for (PulledValue v : r.values()) {
        n += 4 + v.key().length + 1 + 8 + 4 + (v.value() == null ? 0 : v.value().length);
      }
    } else if (m instanceof PopularityReport r) {
      n += 8 * r.keyHashes().length;
    }
    ByteBuffer b = ByteBuffer.allocate(6 + n + 4);
    b.put((byte) VERSION).put((byte) (m instanceof PullKeys ? TYPE_PULL_KEYS
        : m instanceof PullKeysReply ? TYPE_PULL_KEYS_REPLY : TYPE_POPULARITY_REPORT)).putInt(n);
    b.putInt(m.from().value()).putInt(m.to().value());
    if (m instanceof PullKeys p) {
      b.putLong(p.requestId()).putLong(p.minAppliedIndex()).putInt(p.keys().size());
      for (byte[] k : p.keys()) {
        b.putInt(k.length).put(k);
      }
    } else if (m instanceof PullKeysReply r) {
      b.putLong(r.requestId()).putLong(r.appliedIndex()).putInt(r.values().size());
      for (PulledValue v : r.values()) {
        byte[] value = v.value() == null ? new byte[0] : v.value();
        b.putInt(v.key().length).put(v.key()).put((byte) (v.found() ? 1 : 0))
            .putLong(v.expiresAtMillis()).putInt(value.length).put(value);
      }
    } else if (m instanceof PopularityReport r) {
      b.putLong(r.reportSeq()).putLong(r.requestsSampled()).putInt(r.keyHashes().length);
      for (long h : r.keyHashes()) {
        b.putLong(h);
      }
    }
    CRC32C crc = new CRC32C();
    crc.update(b.array(), 0, 6 + n);
    b.putInt((int) crc.getValue());
    return b.flip();
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
    long requestId = body.getLong();
    long index = body.getLong();
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
    if (type == TYPE_PULL_KEYS) {
      List<byte[]> keys = new ArrayList<>(count);
      for (int i = 0; i < count; i++) {
        keys.add(bytes(body, "key " + i));
      }
      expectEnd(body);
      return new PullKeys(from, to, requestId, index, keys);
    }
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
    expectEnd(body);
    return new PullKeysReply(from, to, requestId, index, values);
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
