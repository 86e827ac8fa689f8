package io.respawn.server.shard;

import io.respawn.core.NodeId;
import io.respawn.server.peer.ValuePull.PullKeys;
import io.respawn.server.peer.ValuePull.PullKeysReply;
import io.respawn.server.peer.ValuePull.PullMessage;
import io.respawn.server.peer.ValuePull.PulledValue;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * A new primary that was a witness holds many keys only as timestamps; before it serves, it
 * pulls their values from a backup (the offline-recovery baseline of DESIGN §5.4, done with
 * point pulls of {@link #KEYS_PER_PULL} keys at a time). Each pull carries the primary's applied
 * index at the time it is sent, which covers the newest write to every key it asks for (a key
 * becomes unknown when an entry in witness form is applied): a backup answers only once it has
 * applied at least that much, so every value it sends is at least that new. Values land in the
 * state machine only for keys still unknown whose newest write known here (its timestamp in the
 * state machine's witness table) the backup's applied index covers: a key written again in
 * witness form after the pull was sent stays unknown and is asked for again.
 *
 * <p>Recovery is active while this member leads and holds any unknown key, not only for the keys
 * it held when it was elected: entries of earlier terms in its log commit (and are applied, in
 * witness form) with the new term's first entry, after the election. The node loop neither
 * serves nor takes writes while it is active.
 *
 * <p>Also answers other members' pulls when this member is the one asked ({@link #answer}).
 *
 * <p>Owned by the node loop thread. Time is passed in.
 */
final class ValueRecovery {
  static final int KEYS_PER_PULL = 256;
  static final long PULL_TIMEOUT_NANOS = 300_000_000L;
  static final long NOT_YET_RETRY_NANOS = 5_000_000L;
  /** A reply stops adding values past this many bytes; the rest is asked for again. */
  static final int REPLY_BYTES_MAX = 4 << 20;

  private final NodeId self;
  private final EngineStateMachine stateMachine;
  private final Consumer<PullMessage> send;
  private List<NodeId> sources = List.of();
  private boolean leading;
  private long requestId;
  private long outstanding = -1;
  /** The applied index the outstanding pull asked the backup for. */
  private long outstandingMinAppliedIndex;
  private long nextSendAtNanos;
  private int rotation;
  private long keysPulled;
  private long pulls;
  private long nextReportNanos;
  private String lastReply = "none";
  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(ValueRecovery.class);

  ValueRecovery(NodeId self, EngineStateMachine stateMachine, Consumer<PullMessage> send) {
    this.self = self;
    this.stateMachine = stateMachine;
    this.send = send;
  }

  /** This member leads from now on: pull every unknown key from {@code sources}. */
  void start(List<NodeId> sources) {
    this.sources = List.copyOf(sources);
    this.leading = true;
    this.outstanding = -1;
    this.nextSendAtNanos = 0;
  }

  /** This member no longer leads. */
  void stop() {
    leading = false;
    outstanding = -1;
  }

  /** True while this member leads and holds keys without values. */
  boolean active() {
    return leading && stateMachine.unknownKeyCount() > 0;
  }

  long keysPulled() {
    return keysPulled;
  }

  long pulls() {
    return pulls;
  }

  /** Sends the next pull when none is outstanding (or the last timed out). */
  void tick(long nowNanos) {
    if (!active()) {
      return;
    }
    if (nowNanos >= nextReportNanos) {
      if (nextReportNanos != 0) {
        log.info("recovering values: {} keys still unknown, {} pulled in {} pulls; last reply {}",
            stateMachine.unknownKeyCount(), keysPulled, pulls, lastReply);
      }
      nextReportNanos = nowNanos + 2_000_000_000L;
    }
    if (nowNanos < nextSendAtNanos || sources.isEmpty()) {
      return;
    }
    List<byte[]> keys = stateMachine.unknownKeys(KEYS_PER_PULL);
    NodeId target = sources.get(Math.floorMod(rotation++, sources.size()));
    outstanding = ++requestId;
    outstandingMinAppliedIndex = stateMachine.appliedIndex();
    pulls++;
    send.accept(new PullKeys(self, target, outstanding, outstandingMinAppliedIndex, keys));
    nextSendAtNanos = nowNanos + PULL_TIMEOUT_NANOS;
  }

  /** A reply to one of our pulls. */
  void onReply(PullKeysReply reply, long nowNanos) {
    lastReply = "#" + reply.requestId() + " from " + reply.from() + ": applied "
        + reply.appliedIndex() + " (need " + outstandingMinAppliedIndex + "), "
        + reply.values().size() + " values (outstanding #" + outstanding + ")";
    if (!active() || reply.requestId() != outstanding) {
      return; // late or duplicate
    }
    outstanding = -1;
    if (reply.appliedIndex() < outstandingMinAppliedIndex) {
      nextSendAtNanos = nowNanos + NOT_YET_RETRY_NANOS; // the backup is still applying
      return;
    }
    for (PulledValue v : reply.values()) {
      if (stateMachine.installPulled(v.key(), v.found(), v.value(), v.expiresAtMillis(),
          reply.appliedIndex())) {
        keysPulled++;
      }
    }
    nextSendAtNanos = nowNanos;
  }

  /** Answers another member's pull from what this member has applied. */
  PullKeysReply answer(PullKeys pull) {
    long applied = stateMachine.appliedIndex();
    if (applied < pull.minAppliedIndex()) {
      return new PullKeysReply(self, pull.from(), pull.requestId(), applied, List.of());
    }
    List<PulledValue> values = new ArrayList<>(pull.keys().size());
    long bytes = 0;
    for (byte[] key : pull.keys()) {
      EngineStateMachine.Read r = stateMachine.read(key);
      if (r.unknown()) {
        continue; // not ours to answer; the asker tries another member
      }
      byte[] value = r.value() == null ? null : r.value().value();
      bytes += key.length + (value == null ? 0 : value.length) + 17;
      if (bytes > REPLY_BYTES_MAX && !values.isEmpty()) {
        break;
      }
      values.add(new PulledValue(key, value != null, r.value() == null ? 0
          : r.value().expiresAtMillis(), value));
    }
    return new PullKeysReply(self, pull.from(), pull.requestId(), applied, values);
  }
}
