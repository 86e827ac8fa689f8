package io.respawn.sim.kv;

import io.respawn.core.Command;
import io.respawn.sim.lin.OpKind;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * A simulated client write as it travels through the log: the core sees opaque bytes plus the
 * keys; this class owns the byte layout and turns it back into a command.
 *
 * <pre>
 *   data = kind:u8 | opId:i64 (big endian) | count:u8 | count x ( key:u8 | value:i64 )
 *   keys = "k&lt;key&gt;" in ASCII, one per key, in the same order
 * </pre>
 *
 * The op id makes every proposed command unique, so "same entry" checks compare real identity.
 *
 * @param kind SET, DEL, INCR or MSET (GETs are never proposed)
 * @param opId the history op id of the client request
 * @param keys key indexes
 * @param values one per key for SET and MSET; for INCR the new value the primary computed when
 *     it proposed it (as the server proposes a read-modify-write: the value it wrote); else empty
 */
public record KvCommand(OpKind kind, long opId, int[] keys, long[] values) {

  public KvCommand {
    if (!kind.writes()) {
      throw new IllegalArgumentException("only writes go through the log: " + kind);
    }
  }

  public Command toCommand() {
    ByteBuffer b = ByteBuffer.allocate(1 + 8 + 1 + keys.length * 9);
    b.put((byte) kind.ordinal()).putLong(opId).put((byte) keys.length);
    List<byte[]> keyBytes = new ArrayList<>(keys.length);
    for (int i = 0; i < keys.length; i++) {
      b.put((byte) keys[i]).putLong(values.length == 0 ? 0 : values[i]);
      keyBytes.add(keyName(keys[i]));
    }
    return Command.of(b.array(), keyBytes);
  }

  public static KvCommand decode(Command command) {
    ByteBuffer b = ByteBuffer.wrap(command.data());
    OpKind kind = OpKind.values()[b.get()];
    long opId = b.getLong();
    int n = b.get();
    int[] keys = new int[n];
    long[] values = new long[n];
    for (int i = 0; i < n; i++) {
      keys[i] = b.get();
      values[i] = b.getLong();
    }
    boolean carriesValues = kind == OpKind.SET || kind == OpKind.MSET || kind == OpKind.INCR;
    return new KvCommand(kind, opId, keys, carriesValues ? values : new long[0]);
  }

  /** Key indexes of an elided command (witness form), read from its key names. */
  public static int[] keysOf(Command command) {
    List<byte[]> names = command.keys();
    int[] keys = new int[names.size()];
    for (int i = 0; i < keys.length; i++) {
      keys[i] = Integer.parseInt(new String(names.get(i), 1, names.get(i).length - 1,
          StandardCharsets.US_ASCII));
    }
    return keys;
  }

  public static byte[] keyName(int key) {
    return ("k" + key).getBytes(StandardCharsets.US_ASCII);
  }
}
