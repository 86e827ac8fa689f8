package io.respawn.sim.storage;

import io.respawn.core.Command;
import io.respawn.core.Entry;
import io.respawn.core.EntryKind;
import io.respawn.core.HardState;
import io.respawn.core.Membership;
import io.respawn.core.Membership.Member;
import io.respawn.core.NodeId;
import io.respawn.core.Role;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * Byte layouts the simulator uses to keep a replica's log and hard state in the storage engine.
 * Big endian throughout.
 *
 * <pre>
 *   entry      = term:i64 | index:i64 | kind:u8 | body
 *   body       = NORMAL: dataLength:i32 (-1 when elided) | data | keyCount:u16 | keyCount x key
 *                CONFIG: half(incoming) | half(outgoing)
 *                NOOP:   (nothing)
 *   key        = length:u16 | bytes
 *   half       = count:u8 | count x ( id:i32 | role:u8 | voting:u8 )
 *   hard state = term:i64 | votedFor:i32 (-1 = none) | commitIndex:i64
 * </pre>
 */
public final class EntryCodec {

  private EntryCodec() {}

  public static byte[] encode(Entry e) {
    int size = 17;
    if (e.kind() == EntryKind.NORMAL) {
      size += 4 + e.command().dataLength() + 2;
      for (byte[] k : e.command().keys()) {
        size += 2 + k.length;
      }
    } else if (e.kind() == EntryKind.CONFIG) {
      size += 2 + 6 * (e.membership().incoming().size() + e.membership().outgoing().size());
    }
    ByteBuffer b = ByteBuffer.allocate(size);
    b.putLong(e.term()).putLong(e.index()).put((byte) e.kind().code);
    if (e.kind() == EntryKind.NORMAL) {
      Command c = e.command();
      if (c.isElided()) {
        b.putInt(-1);
      } else {
        byte[] data = c.data();
        b.putInt(data.length).put(data);
      }
      List<byte[]> keys = c.keys();
      b.putShort((short) keys.size());
      for (byte[] k : keys) {
        b.putShort((short) k.length).put(k);
      }
    } else if (e.kind() == EntryKind.CONFIG) {
      putHalf(b, e.membership().incoming());
      putHalf(b, e.membership().outgoing());
    }
    return b.array();
  }

  private static void putHalf(ByteBuffer b, List<Member> half) {
    b.put((byte) half.size());
    for (Member m : half) {
      b.putInt(m.id().value()).put((byte) m.role().ordinal()).put((byte) (m.voting() ? 1 : 0));
    }
  }

  public static Entry decode(byte[] bytes) {
    ByteBuffer b = ByteBuffer.wrap(bytes);
    long term = b.getLong();
    long index = b.getLong();
    EntryKind kind = EntryKind.fromCode(b.get());
    switch (kind) {
      case NORMAL -> {
        int dataLength = b.getInt();
        byte[] data = null;
        if (dataLength >= 0) {
          data = new byte[dataLength];
          b.get(data);
        }
        int keyCount = b.getShort();
        List<byte[]> keys = new ArrayList<>(keyCount);
        for (int i = 0; i < keyCount; i++) {
          byte[] k = new byte[b.getShort()];
          b.get(k);
          keys.add(k);
        }
        Command c = data == null ? Command.elided(keys) : Command.of(data, keys);
        return Entry.normal(term, index, c);
      }
      case CONFIG -> {
        List<Member> incoming = getHalf(b);
        List<Member> outgoing = getHalf(b);
        return Entry.config(term, index, new Membership(incoming, outgoing));
      }
      default -> {
        return Entry.noop(term, index);
      }
    }
  }

  private static List<Member> getHalf(ByteBuffer b) {
    int n = b.get();
    List<Member> half = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      half.add(new Member(NodeId.of(b.getInt()), Role.values()[b.get()], b.get() == 1));
    }
    return half;
  }

  public static byte[] encode(HardState hs) {
    return ByteBuffer.allocate(20).putLong(hs.term())
        .putInt(hs.votedFor() == null ? -1 : hs.votedFor().value()).putLong(hs.commitIndex())
        .array();
  }

  public static HardState decodeHardState(byte[] bytes) {
    ByteBuffer b = ByteBuffer.wrap(bytes);
    long term = b.getLong();
    int voted = b.getInt();
    return new HardState(term, voted < 0 ? null : NodeId.of(voted), b.getLong());
  }
}
