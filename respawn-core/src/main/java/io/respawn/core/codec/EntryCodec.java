package io.respawn.core.codec;

import io.respawn.core.Command;
import io.respawn.core.Entry;
import io.respawn.core.EntryKind;
import io.respawn.core.Membership;
import io.respawn.core.NodeId;
import io.respawn.core.Role;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Log entries on the wire (inside AppendEntries and RequestLogResponse bodies) and as standalone
 * framed records (frame type {@link #FRAME_TYPE}). Pure; integers big-endian.
 *
 * <pre>
 * Entry body
 *  +-----------+-----------+--------+--------+--------------------------------+
 *  | term i64  | index i64 | kind u8| flags u8| kind-specific payload         |
 *  +-----------+-----------+--------+--------+--------------------------------+
 *   flags bit 0: ELIDED (NORMAL only: no data follows; a witness's copy)
 *
 * NORMAL payload
 *  +--------------+---------------------------------+-------------+-----------+
 *  | keyCount u32 | keyCount x (keyLen u32, key)    | dataLen u32 | data      |
 *  +--------------+---------------------------------+-------------+-----------+
 *                                                     (dataLen and data absent when ELIDED)
 * NOOP payload: empty
 *
 * CONFIG payload (a Membership)
 *  +------------+-------------------------+-------------+-------------------------+
 *  | inCount u16| inCount x member        | outCount u16| outCount x member       |
 *  +------------+-------------------------+-------------+-------------------------+
 *   member = id u32 | role u8 (0 PRIMARY, 1 BACKUP, 2 WITNESS) | flags u8 | [address]
 *     flags bit 0: voting; bit 1: an address follows (older logs hold 0 or 1 here, no address)
 *     address = len u16 (1..255) | len bytes of UTF-8, opaque to the core
 * </pre>
 */
public final class EntryCodec {
  /** Frame type of a standalone entry record (outside the message type range). */
  public static final int FRAME_TYPE = 0x80;
  /** Limits applied while decoding, before allocating. */
  public static final int KEYS_PER_ENTRY_MAX = 65_536;
  public static final int MEMBERS_MAX = 1_024;

  private static final int FLAG_ELIDED = 1;
  private static final int MEMBER_VOTING = 1;
  private static final int MEMBER_HAS_ADDRESS = 2;

  private EntryCodec() {}

  /** One framed entry record. */
  public static ByteBuffer encode(Entry e) {
    BodyWriter w = BodyWriter.forFrame(128);
    write(w, e);
    return Frames.frame(FRAME_TYPE, w);
  }

  /** Decodes one framed entry record, consuming it from {@code buf}. */
  public static Entry decode(ByteBuffer buf) {
    return decode(buf, Frames.BODY_BYTES_MAX_DEFAULT);
  }

  public static Entry decode(ByteBuffer buf, int bodyBytesMax) {
    int[] type = new int[1];
    ByteBuffer body = Frames.unframe(buf, bodyBytesMax, type);
    if (type[0] != FRAME_TYPE) {
      throw new CodecException("frame type " + type[0] + " is not an entry (" + FRAME_TYPE + ")");
    }
    BodyReader r = new BodyReader(body);
    Entry e = read(r);
    r.expectEnd("entry");
    return e;
  }

  /**
   * The entry body alone, without a frame or checksum: for containers that checksum their
   * records themselves (the replica log's batches).
   */
  public static byte[] encodeBody(Entry e) {
    BodyWriter w = new BodyWriter(bodyBytes(e));
    write(w, e);
    return w.toArray();
  }

  /**
   * The exact body size of a NORMAL or NOOP entry (what {@link #write} produces), so that its
   * buffer is allocated once; 128 for a CONFIG entry (its buffer grows as needed).
   */
  static int bodyBytes(Entry e) {
    int header = 8 + 8 + 1 + 1;
    return switch (e.kind()) {
      case NOOP -> header;
      case NORMAL -> {
        Command c = e.command();
        long bytes = header + 4L;
        for (byte[] k : c.keys()) {
          bytes += 4 + k.length;
        }
        if (!c.isElided()) {
          bytes += 4L + c.dataLength();
        }
        yield (int) Math.min(bytes, Integer.MAX_VALUE - 16);
      }
      default -> 128;
    };
  }

  /** Decodes an entry body written by {@link #encodeBody}; the whole array must be one entry. */
  public static Entry decodeBody(byte[] body) {
    BodyReader r = new BodyReader(ByteBuffer.wrap(body));
    Entry e = read(r);
    r.expectEnd("entry");
    return e;
  }

  static void write(BodyWriter w, Entry e) {
    w.i64(e.term()).i64(e.index()).u8(e.kind().code).u8(e.isElided() ? FLAG_ELIDED : 0);
    switch (e.kind()) {
      case NORMAL -> {
        Command c = e.command();
        List<byte[]> keys = c.keys();
        w.i32(keys.size());
        for (byte[] k : keys) {
          w.i32(k.length).bytes(k);
        }
        if (!c.isElided()) {
          w.i32(c.dataLength()).bytes(c.dataView()); // the payload copied once, into the body
        }
      }
      case NOOP -> {
        // nothing
      }
      case CONFIG -> writeMembership(w, e.membership());
      default -> throw new AssertionError(e.kind());
    }
  }

  static Entry read(BodyReader r) {
    long term = r.i64("entry term");
    long index = r.i64("entry index");
    if (term < 1 || index < 1) {
      throw new CodecException("entry term and index must be >= 1, were " + term + "/" + index);
    }
    int kindCode = r.u8("entry kind");
    EntryKind kind;
    try {
      kind = EntryKind.fromCode(kindCode);
    } catch (IllegalArgumentException ex) {
      throw new CodecException("unknown entry kind " + kindCode);
    }
    int flags = r.u8("entry flags");
    if ((flags & ~FLAG_ELIDED) != 0 || (flags != 0 && kind != EntryKind.NORMAL)) {
      throw new CodecException("invalid entry flags " + flags + " for " + kind);
    }
    return switch (kind) {
      case NORMAL -> {
        int keyCount = r.count("key count", Math.min(KEYS_PER_ENTRY_MAX, r.remaining() / 4));
        List<byte[]> keys = new ArrayList<>(keyCount);
        for (int i = 0; i < keyCount; i++) {
          int len = r.count("key length", r.remaining());
          keys.add(r.bytes(len, "key"));
        }
        Command c;
        if ((flags & FLAG_ELIDED) != 0) {
          c = Command.elided(keys);
        } else {
          int len = r.count("data length", r.remaining());
          c = Command.of(r.bytes(len, "data"), keys);
        }
        yield Entry.normal(term, index, c);
      }
      case NOOP -> Entry.noop(term, index);
      case CONFIG -> Entry.config(term, index, readMembership(r));
    };
  }

  static void writeMembership(BodyWriter w, Membership m) {
    writeHalf(w, m.incoming());
    writeHalf(w, m.outgoing());
  }

  private static void writeHalf(BodyWriter w, List<Membership.Member> half) {
    w.u16(half.size());
    for (Membership.Member m : half) {
      boolean hasAddress = !m.address().isEmpty();
      w.i32(m.id().value()).u8(roleCode(m.role()))
          .u8((m.voting() ? MEMBER_VOTING : 0) | (hasAddress ? MEMBER_HAS_ADDRESS : 0));
      if (hasAddress) {
        byte[] a = m.address().getBytes(StandardCharsets.UTF_8);
        w.u16(a.length).bytes(a);
      }
    }
  }

  static Membership readMembership(BodyReader r) {
    List<Membership.Member> in = readHalf(r, "incoming");
    List<Membership.Member> out = readHalf(r, "outgoing");
    try {
      return new Membership(in, out);
    } catch (IllegalArgumentException ex) {
      throw new CodecException("invalid membership: " + ex.getMessage());
    }
  }

  private static List<Membership.Member> readHalf(BodyReader r, String name) {
    int n = r.u16(name + " member count");
    if (n > MEMBERS_MAX) {
      throw new CodecException(name + " member count " + n + " exceeds " + MEMBERS_MAX);
    }
    List<Membership.Member> out = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      int id = r.nonNegativeInt("member id");
      Role role = roleOf(r.u8("member role"));
      int flags = r.u8("member flags");
      if ((flags & ~(MEMBER_VOTING | MEMBER_HAS_ADDRESS)) != 0) {
        throw new CodecException("unknown member flags " + flags);
      }
      String address = "";
      if ((flags & MEMBER_HAS_ADDRESS) != 0) {
        int len = r.u16("member address length");
        if (len < 1 || len > Membership.Member.ADDRESS_BYTES_MAX) {
          throw new CodecException("member address length " + len + " is not 1.."
              + Membership.Member.ADDRESS_BYTES_MAX);
        }
        address = new String(r.bytes(len, "member address"), StandardCharsets.UTF_8);
      }
      try {
        out.add(new Membership.Member(NodeId.of(id), role, (flags & MEMBER_VOTING) != 0,
            address));
      } catch (IllegalArgumentException ex) {
        throw new CodecException("invalid member: " + ex.getMessage());
      }
    }
    return out;
  }

  private static int roleCode(Role role) {
    return switch (role) {
      case PRIMARY -> 0;
      case BACKUP -> 1;
      case WITNESS -> 2;
    };
  }

  private static Role roleOf(int code) {
    return switch (code) {
      case 0 -> Role.PRIMARY;
      case 1 -> Role.BACKUP;
      case 2 -> Role.WITNESS;
      default -> throw new CodecException("unknown member role " + code);
    };
  }
}
