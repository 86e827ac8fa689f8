package io.respawn.server.shard;

import io.respawn.core.Entry;
import io.respawn.core.EntryKind;
import io.respawn.node.StateMachineStore;
import io.respawn.storage.KvStore;
import io.respawn.storage.Mutation;
import io.respawn.storage.MutationBatchCodec;
import io.respawn.storage.StoredValue;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A member's state machine on the storage engine: a committed entry's command is a {@link
 * MutationBatchCodec} batch, applied to {@code store} as one atomic batch. An entry in witness
 * form (keys and (term, index) only) records the keys' timestamps and drops what the store held
 * for them, so {@link #read} reports such a key as {@link Read#unknown} — its newest value lives
 * on a backup — and never as the stale value it had.
 *
 * <p>Recovery rule (the port's contract): the store is rebuilt from the replica log on every
 * start (it opens empty, {@link #appliedIndex} 0), so it can never be ahead of the log it
 * restarts with. Snapshots (a later step) will let it start from a durable image instead.
 *
 * <p>Owned by the node loop thread; {@link #store} is thread-safe for the command thread's reads.
 */
public final class EngineStateMachine implements StateMachineStore<Void, EngineStateMachine.Read> {
  /** What a read finds: a value, absent ({@code value == null, !unknown}), or unknown here. */
  public record Read(StoredValue value, boolean unknown) {
    static final Read ABSENT = new Read(null, false);
    static final Read UNKNOWN = new Read(null, true);
  }

  private final KvStore store;
  /** Keys whose newest version this member saw only in witness form: key -> {term, index}. */
  private final Map<ByteBuffer, long[]> unknownKeys = new HashMap<>();
  private long appliedIndex;

  public EngineStateMachine(KvStore store) {
    this.store = store;
  }

  public KvStore store() {
    return store;
  }

  @Override
  public long appliedIndex() {
    return appliedIndex;
  }

  @Override
  public Void apply(Entry entry) {
    if (entry.index() != appliedIndex + 1) {
      throw new IllegalStateException("applying index " + entry.index() + " after "
          + appliedIndex);
    }
    if (entry.kind() == EntryKind.NORMAL) {
      if (entry.isElided()) {
        List<Mutation> drops = new ArrayList<>();
        for (byte[] key : entry.command().keys()) {
          unknownKeys.put(ByteBuffer.wrap(key), new long[] {entry.term(), entry.index()});
          drops.add(Mutation.delete(key));
        }
        if (!drops.isEmpty()) {
          store.apply(drops);
        }
      } else {
        List<Mutation> batch = MutationBatchCodec.decode(entry.command().data());
        for (Mutation m : batch) {
          if (m.kind() == Mutation.Kind.CLEAR) {
            unknownKeys.clear();
          } else if (!unknownKeys.isEmpty()) {
            unknownKeys.remove(ByteBuffer.wrap(m.key()));
          }
        }
        store.apply(batch);
      }
    }
    appliedIndex = entry.index();
    return null;
  }

  @Override
  public Read read(byte[] key) {
    StoredValue v = store.get(key);
    if (v != null) {
      return new Read(v, false);
    }
    return unknownKeys.containsKey(ByteBuffer.wrap(key)) ? Read.UNKNOWN : Read.ABSENT;
  }

  /** Up to {@code max} keys this member holds only as timestamps, in no particular order. */
  public List<byte[]> unknownKeys(int max) {
    List<byte[]> out = new ArrayList<>(Math.min(max, unknownKeys.size()));
    for (ByteBuffer k : unknownKeys.keySet()) {
      if (out.size() == max) {
        break;
      }
      byte[] b = new byte[k.remaining()];
      k.duplicate().get(b);
      out.add(b);
    }
    return out;
  }

  /**
   * Installs a value pulled from a backup whose applied index covered this member's commit at
   * the time of the pull, if the key is still unknown here (a later local write wins).
   */
  public void installPulled(byte[] key, boolean found, byte[] value, long expiresAtMillis) {
    if (unknownKeys.remove(ByteBuffer.wrap(key)) == null) {
      return;
    }
    if (found) {
      store.apply(List.of(Mutation.put(key, value, expiresAtMillis)));
    }
  }

  /** How many keys this member holds only as timestamps. */
  public int unknownKeyCount() {
    return unknownKeys.size();
  }
}
