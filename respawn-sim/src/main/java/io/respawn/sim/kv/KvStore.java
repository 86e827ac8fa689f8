package io.respawn.sim.kv;

import io.respawn.core.Entry;
import io.respawn.node.StateMachineStore;
import java.nio.charset.StandardCharsets;

/**
 * The simulator's {@link StateMachineStore}: the {@link KvStateMachine} behind the runtime's
 * port. A result the node cannot know (its value was elided) is {@code null}, as the port says.
 */
public final class KvStore implements StateMachineStore<Long, KvStore.Value> {

  /** A read: the value ({@code known}) or "this node holds the key only in witness form". */
  public record Value(boolean known, long value) {}

  private final KvStateMachine sm;

  public KvStore(KvStateMachine sm) {
    this.sm = sm;
  }

  public KvStateMachine stateMachine() {
    return sm;
  }

  @Override
  public long appliedIndex() {
    return sm.appliedIndex();
  }

  @Override
  public Long apply(Entry entry) {
    long r = sm.apply(entry);
    return r == KvStateMachine.UNKNOWN_RESULT ? null : r;
  }

  @Override
  public Value read(byte[] key) {
    int k = keyOf(key);
    return new Value(sm.known(k), sm.value(k));
  }

  /** The key index of a key name "k&lt;n&gt;" ({@link KvCommand#keyName}). */
  public static int keyOf(byte[] name) {
    return Integer.parseInt(new String(name, 1, name.length - 1, StandardCharsets.US_ASCII));
  }
}
