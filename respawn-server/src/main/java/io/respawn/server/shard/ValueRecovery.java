package io.respawn.server.shard;

import io.respawn.core.NodeId;
import io.respawn.server.peer.ValuePull.PullKeys;
import io.respawn.server.peer.ValuePull.PullKeysReply;
import io.respawn.server.peer.ValuePull.PullMessage;
import io.respawn.server.peer.ValuePull.PulledValue;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/**
 * A new primary that was a witness holds many keys only as timestamps; it pulls their values from
 * a backup (DESIGN §5.3 step 4, §5.4). Two kinds of pull, both {@link PullKeys} messages:
 *
 * <ul>
 *   <li><b>Background</b>: {@link #KEYS_PER_PULL} unknown keys at a time, walking the witness
 *       table until no key is unknown; offline with {@link #OFFLINE_PULLS_OUTSTANDING} pulls
 *       outstanding (the copy goes as fast as the backup answers), online with one (so that a
 *       priority pull waits behind at most one background answer at the backup).
 *   <li><b>Priority</b> ({@link #pullNow}, online recovery only): the keys a client command needs
 *       now. Every key asked for in one pass of the node loop goes out in one pull at the end of
 *       the pass ({@link #tick}), at most {@link #PRIORITY_KEYS_PER_PULL} keys per message, any
 *       number outstanding; concurrent requests for a key already on its way share that pull (one
 *       future per key).
 * </ul>
 *
 * <p>{@link RecoveryMode#OFFLINE}: this member serves nothing until every value is here ({@link
 * #holdsServing}); {@link RecoveryMode#ONLINE}: it serves at once and a command that touches an
 * unknown key waits for its priority pull (the command layer holds it; see {@code
 * Dispatcher}).
 *
 * <p>Safety: each pull carries the newest log index known here of a write to any key it asks
 * for (the keys' timestamps in the witness table; a key becomes unknown when an entry in witness
 * form is applied): a backup answers only once it has applied at least that much, so every value
 * it sends is at least that new. (Asking for this member's whole applied index instead would make
 * a backup that lags the newest writes by a few entries answer "not yet" to most pulls while
 * clients write.) Values land in the state machine only for keys still unknown whose newest
 * write known here the backup's applied index covers ({@link EngineStateMachine#installPulled}); a
 * key written here meanwhile is known already and keeps its newer value.
 *
 * <p>Recovery is active while this member leads and holds any unknown key, not only for the keys
 * it held when it was elected: entries of earlier terms in its log commit (and are applied, in
 * witness form) with the new term's first entry, after the election. Once this member serves, its
 * own entries are full, so the set of unknown keys only shrinks.
 *
 * <p>Also answers other members' pulls when this member is the one asked ({@link #answer}).
 *
 * <p>Owned by the node loop thread (the counters are read from any thread). Time is passed in.
 */
final class ValueRecovery {
  static final int KEYS_PER_PULL = 256;
  /** Keys one priority pull message asks for at most; more make more messages. */
  static final int PRIORITY_KEYS_PER_PULL = 256;
  /**
   * A pull unanswered this long is asked again (its waiters re-check and ask again). A late
   * answer is still installed: every value is checked against the key's newest write known here,
   * whichever pull it answers.
   */
  static final long PULL_TIMEOUT_NANOS = 1_000_000_000L;
  static final long NOT_YET_RETRY_NANOS = 5_000_000L;
  /** A reply stops adding values past this many bytes; the rest is asked for again. */
  static final int REPLY_BYTES_MAX = 4 << 20;
  /** Background pulls outstanding at most in offline recovery (online: one). */
  static final int OFFLINE_PULLS_OUTSTANDING = 4;
  /** Priority pulls outstanding at most; keys asked for past that wait for the next tick. */
  static final int PRIORITY_PULLS_OUTSTANDING_MAX = 64;

  private final NodeId self;
  private final EngineStateMachine stateMachine;
  private final Consumer<PullMessage> send;
  private final RecoveryMode mode;
  private List<NodeId> sources = List.of();
  private boolean leading;
  private long requestId;
  /** Background pulls on their way: request id -> the applied index each asked for. */
  private final Map<Long, Long> outstanding = new HashMap<>();
  /** When each background pull was sent, by request id (to time it out). */
  private final Map<Long, Long> outstandingSentAt = new HashMap<>();
  private long nextSendAtNanos;
  private int rotation;
  private long pulls;
  private long nextReportNanos;
  private String lastReply = "none";
  /** When the current recovery started (leadership with unknown keys), or 0. */
  private long startedAtNanos;

  /** One future per key a priority pull is wanted or on its way for. */
  private final Map<Key, CompletableFuture<Void>> wanted = new HashMap<>();
  /** Keys asked for since the last tick, not sent yet (insertion order). */
  private final LinkedHashMap<Key, Boolean> queued = new LinkedHashMap<>();
  /** Priority pulls on their way, by request id. */
  private final Map<Long, PriorityPull> priorityOutstanding = new HashMap<>();

  private volatile long keysPulled;
  private volatile long bytesPulled;
  private volatile long priorityPulls;
  private volatile long priorityKeysAsked;
  private volatile long priorityLatencyLastMicros;
  private volatile long priorityLatencyMaxMicros;
  private volatile long priorityLatencyTotalMicros;
  private volatile long priorityReplies;
  private volatile long lastRecoveryMillis = -1;
  private volatile long recoveries;

  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(ValueRecovery.class);

  /** A key as a map key (byte arrays compare by identity). */
  private record Key(byte[] bytes) {
    @Override
    public boolean equals(Object o) {
      return o instanceof Key k && Arrays.equals(bytes, k.bytes);
    }

    @Override
    public int hashCode() {
      return Arrays.hashCode(bytes);
    }
  }

  private record PriorityPull(List<Key> keys, long sentAtNanos, long minAppliedIndex) {}

  ValueRecovery(NodeId self, EngineStateMachine stateMachine, Consumer<PullMessage> send,
      RecoveryMode mode) {
    this.self = self;
    this.stateMachine = stateMachine;
    this.send = send;
    this.mode = mode;
  }

  /** With the default mode, {@link ShardConfig#RECOVERY_DEFAULT}. */
  ValueRecovery(NodeId self, EngineStateMachine stateMachine, Consumer<PullMessage> send) {
    this(self, stateMachine, send, ShardConfig.RECOVERY_DEFAULT);
  }

  RecoveryMode mode() {
    return mode;
  }

  /** This member leads from now on: pull every unknown key from {@code sources}. */
  void start(List<NodeId> sources, long nowNanos) {
    this.sources = List.copyOf(sources);
    this.leading = true;
    this.outstanding.clear();
    this.outstandingSentAt.clear();
    this.nextSendAtNanos = 0;
    this.startedAtNanos = stateMachine.unknownKeyCount() > 0 ? nowNanos : 0;
  }

  /** As {@link #start(List, long)} at time 0. */
  void start(List<NodeId> sources) {
    start(sources, 0);
  }

  /** This member no longer leads: every command waiting for a pull is let go (it re-checks). */
  void stop() {
    leading = false;
    outstanding.clear();
    outstandingSentAt.clear();
    startedAtNanos = 0;
    releaseAll();
  }

  /** True while this member leads and holds keys without values. */
  boolean active() {
    return leading && stateMachine.unknownKeyCount() > 0;
  }

  /** True while this member must not serve: offline recovery under way. */
  boolean holdsServing() {
    return mode == RecoveryMode.OFFLINE && active();
  }

  long keysPulled() {
    return keysPulled;
  }

  long pulls() {
    return pulls;
  }

  /** What INFO shows about recovery (any thread). */
  java.util.Map<String, Object> info() {
    java.util.Map<String, Object> m = new java.util.LinkedHashMap<>();
    m.put("respawn_recovery_mode", mode.spelling());
    m.put("respawn_recovery_phase", !active() ? "none"
        : mode == RecoveryMode.OFFLINE ? "offline-copy" : "online");
    m.put("respawn_recovery_keys_left", leading ? stateMachine.unknownKeyCount() : 0);
    m.put("respawn_recovery_bytes_pulled", bytesPulled);
    m.put("respawn_recovery_priority_pulls", priorityPulls);
    m.put("respawn_recovery_priority_keys", priorityKeysAsked);
    long replies = priorityReplies;
    m.put("respawn_recovery_priority_latency_avg_us",
        replies == 0 ? 0 : priorityLatencyTotalMicros / replies);
    m.put("respawn_recovery_priority_latency_last_us", priorityLatencyLastMicros);
    m.put("respawn_recovery_priority_latency_max_us", priorityLatencyMaxMicros);
    m.put("respawn_recovery_last_ms", lastRecoveryMillis);
    m.put("respawn_recoveries", recoveries);
    return m;
  }

  /**
   * Online recovery: asks for {@code keys}' values now. The future completes once a reply for
   * each key that was unknown has been applied (or its pull timed out, or this member stopped
   * leading): the caller checks again and asks again if a key is still unknown.
   */
  CompletableFuture<Void> pullNow(List<byte[]> keys) {
    List<CompletableFuture<Void>> waits = new ArrayList<>(keys.size());
    for (byte[] k : keys) {
      if (!leading || !stateMachine.isUnknown(k)) {
        continue;
      }
      Key key = new Key(k);
      CompletableFuture<Void> f = wanted.get(key);
      if (f == null) {
        f = new CompletableFuture<>();
        wanted.put(key, f);
        queued.put(key, Boolean.TRUE);
      }
      waits.add(f);
    }
    if (waits.isEmpty()) {
      return CompletableFuture.completedFuture(null);
    }
    return waits.size() == 1 ? waits.getFirst()
        : CompletableFuture.allOf(waits.toArray(CompletableFuture[]::new));
  }

  /** Sends the queued priority pulls and the next background pull; times out lost ones. */
  void tick(long nowNanos) {
    if (!leading) {
      return;
    }
    expirePriority(nowNanos);
    sendPriority(nowNanos);
    if (!active()) {
      if (startedAtNanos != 0) {
        lastRecoveryMillis = (nowNanos - startedAtNanos) / 1_000_000;
        recoveries++;
        log.info("recovery ({}) done: every value is here, {} keys ({} bytes) pulled in {} ms; "
            + "{} priority pulls, average latency {} us", mode.spelling(), keysPulled,
            bytesPulled, lastRecoveryMillis, priorityPulls,
            priorityReplies == 0 ? 0 : priorityLatencyTotalMicros / priorityReplies);
        startedAtNanos = 0;
      }
      return;
    }
    if (startedAtNanos == 0) {
      startedAtNanos = nowNanos;
    }
    if (nowNanos >= nextReportNanos) {
      if (nextReportNanos != 0) {
        log.info("recovering values ({}): {} keys still unknown, {} pulled in {} pulls, {} "
            + "priority pulls; last reply {}", mode.spelling(), stateMachine.unknownKeyCount(),
            keysPulled, pulls, priorityPulls, lastReply);
      }
      nextReportNanos = nowNanos + 2_000_000_000L;
    }
    if (sources.isEmpty()) {
      return;
    }
    // A lost answer: that pull's keys are asked for again by a later one.
    outstandingSentAt.entrySet().removeIf(e -> {
      boolean lost = nowNanos - e.getValue() >= PULL_TIMEOUT_NANOS;
      if (lost) {
        outstanding.remove(e.getKey());
      }
      return lost;
    });
    int max = mode == RecoveryMode.OFFLINE ? OFFLINE_PULLS_OUTSTANDING : 1;
    while (outstanding.size() < max && nowNanos >= nextSendAtNanos) {
      List<byte[]> keys = stateMachine.unknownKeys(KEYS_PER_PULL);
      if (keys.isEmpty()) {
        return;
      }
      NodeId target = sources.get(Math.floorMod(rotation++, sources.size()));
      long id = ++requestId;
      long minApplied = stateMachine.newestUnknownIndex(keys);
      outstanding.put(id, minApplied);
      outstandingSentAt.put(id, nowNanos);
      pulls++;
      send.accept(new PullKeys(self, target, id, minApplied, keys));
    }
  }

  private void sendPriority(long nowNanos) {
    if (sources.isEmpty()) {
      return;
    }
    while (!queued.isEmpty() && priorityOutstanding.size() < PRIORITY_PULLS_OUTSTANDING_MAX) {
      List<Key> batch = new ArrayList<>(Math.min(queued.size(), PRIORITY_KEYS_PER_PULL));
      Iterator<Key> it = queued.keySet().iterator();
      while (it.hasNext() && batch.size() < PRIORITY_KEYS_PER_PULL) {
        batch.add(it.next());
        it.remove();
      }
      List<byte[]> keys = new ArrayList<>(batch.size());
      for (Key k : batch) {
        keys.add(k.bytes());
      }
      long id = ++requestId;
      long minApplied = stateMachine.newestUnknownIndex(keys);
      priorityOutstanding.put(id, new PriorityPull(batch, nowNanos, minApplied));
      priorityPulls++;
      priorityKeysAsked += batch.size();
      NodeId target = sources.get(Math.floorMod(rotation++, sources.size()));
      send.accept(new PullKeys(self, target, id, minApplied, keys));
    }
  }

  /** Priority pulls unanswered for {@link #PULL_TIMEOUT_NANOS}: their waiters re-check. */
  private void expirePriority(long nowNanos) {
    if (priorityOutstanding.isEmpty()) {
      return;
    }
    Iterator<Map.Entry<Long, PriorityPull>> it = priorityOutstanding.entrySet().iterator();
    while (it.hasNext()) {
      PriorityPull p = it.next().getValue();
      if (nowNanos - p.sentAtNanos() >= PULL_TIMEOUT_NANOS) {
        it.remove();
        release(p.keys());
      }
    }
  }

  private void release(List<Key> keys) {
    for (Key k : keys) {
      CompletableFuture<Void> f = wanted.remove(k);
      if (f != null) {
        f.complete(null);
      }
    }
  }

  private void releaseAll() {
    queued.clear();
    priorityOutstanding.clear();
    List<CompletableFuture<Void>> all = new ArrayList<>(wanted.values());
    wanted.clear();
    for (CompletableFuture<Void> f : all) {
      f.complete(null);
    }
  }

  /** A reply to one of our pulls. */
  void onReply(PullKeysReply reply, long nowNanos) {
    PriorityPull priority = priorityOutstanding.remove(reply.requestId());
    if (priority != null) {
      onPriorityReply(priority, reply, nowNanos);
      return;
    }
    if (leading && !outstanding.containsKey(reply.requestId())) {
      install(reply); // a late answer to a pull given up on: its values are as good
      return;
    }
    Long need = outstanding.remove(reply.requestId());
    outstandingSentAt.remove(reply.requestId());
    lastReply = "#" + reply.requestId() + " from " + reply.from() + ": applied "
        + reply.appliedIndex() + " (need " + need + "), " + reply.values().size() + " values ("
        + outstanding.size() + " outstanding)";
    if (!active() || need == null) {
      return; // late or duplicate
    }
    if (reply.appliedIndex() < need) {
      nextSendAtNanos = nowNanos + NOT_YET_RETRY_NANOS; // the backup is still applying
      return;
    }
    install(reply);
    nextSendAtNanos = nowNanos;
  }

  private void onPriorityReply(PriorityPull p, PullKeysReply reply, long nowNanos) {
    if (!leading) {
      return;
    }
    long micros = (nowNanos - p.sentAtNanos()) / 1_000;
    priorityLatencyLastMicros = micros;
    priorityLatencyMaxMicros = Math.max(priorityLatencyMaxMicros, micros);
    priorityLatencyTotalMicros += micros;
    priorityReplies++;
    if (reply.appliedIndex() >= p.minAppliedIndex()) {
      install(reply);
    }
    // Every waiter re-checks: a key the backup had not applied far enough, or left out of a
    // full reply, is asked for again by the command that still needs it.
    release(p.keys());
  }

  private void install(PullKeysReply reply) {
    if (!leading) {
      return;
    }
    for (PulledValue v : reply.values()) {
      if (stateMachine.installPulled(v.key(), v.found(), v.value(), v.expiresAtMillis(),
          reply.appliedIndex())) {
        keysPulled++;
        bytesPulled += v.key().length + (v.value() == null ? 0 : v.value().length);
      }
    }
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
