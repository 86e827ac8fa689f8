package io.respawn.server.shard;

import io.respawn.core.Command;
import io.respawn.core.Entry;
import io.respawn.storage.Mutation;
import io.respawn.storage.MutationBatchCodec;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** Log entries as a shard member's state machine applies them, for its tests. */
final class ShardEntries {
  private ShardEntries() {}

  static byte[] b(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  /** A committed write of {@code mutations} at (term, index), naming their keys (CLEAR has none). */
  static Entry write(long term, long index, Mutation... mutations) {
    List<byte[]> keys = new ArrayList<>();
    for (Mutation m : mutations) {
      if (m.kind() != Mutation.Kind.CLEAR) {
        keys.add(m.key());
      }
    }
    return Entry.normal(term, index, Command.of(MutationBatchCodec.encode(List.of(mutations)),
        keys));
  }
}
