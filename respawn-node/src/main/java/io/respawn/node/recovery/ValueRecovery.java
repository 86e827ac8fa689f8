package io.respawn.node.recovery;

import io.respawn.core.FailureDetector.Suspicion;
import io.respawn.core.NodeId;
import io.respawn.core.Role;
import io.respawn.core.Status;
import io.respawn.node.recovery.ValuePull.BatchPull;
import io.respawn.node.recovery.ValuePull.BatchPullReply;
import io.respawn.node.recovery.ValuePull.PullKeys;
import io.respawn.node.recovery.ValuePull.PullKeysReply;
import io.respawn.node.recovery.ValuePull.PullMessage;
import io.respawn.node.recovery.ValuePull.PulledValue;
import io.respawn.storage.backup.BatchPullCursor;
import io.respawn.storage.backup.LogKind;
import io.respawn.storage.memory.SlabAllocator;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import org.HdrHistogram.Histogram;

/**
 * A new primary that was a witness holds many keys only as timestamps; it pulls their values from
 * a backup (DESIGN §5.3 step 4, §5.4). Three kinds of pull:
 *
 * <ul>
 *   <li><b>BatchPull</b> ({@link BatchPull}): the background copy gets the records of the
 *       backup's popular set first (the keys clients use most, read by hash wherever they live),
 *       then streams the backup's hot log and its cold log, in chunks of {@link
 *       #BATCH_CHUNK_BYTES} log bytes.
 *       Offline: {@link #BATCH_CHUNKS_IN_FLIGHT} chunks per request, back to back. Online: paced
 *       by {@link CopyPace}, a rate derived from the priority-pull latency measured here, one
 *       chunk per request while a priority pull waits (so a command waiting for its key queues
 *       behind at most one chunk at the backup and on the wire). A backup without hot and cold
 *       logs answers "done" at once.
 *   <li><b>Sweep</b>: once the scan is done, the keys still unknown (written after the scan
 *       started, or older in the scan than a write known here) are asked for by name, {@link
 *       #KEYS_PER_PULL} at a time, up to {@link #SWEEP_PULLS_OUTSTANDING} pulls outstanding
 *       (online: one while a priority pull waits).
 *   <li><b>Priority</b> ({@link #pullNow}, online recovery only): the keys a client command needs
 *       now, sent at once on the caller's thread (the command thread), at most {@link
 *       #PRIORITY_KEYS_PER_PULL} keys per message; concurrent requests for a key already on its
 *       way share that pull (one future per key). The backup answers them before anything else
 *       and adds the other current records of the key's log page.
 * </ul>
 *
 * <p>{@link RecoveryMode#OFFLINE}: this member serves nothing until every value is here ({@link
 * #holdsServing}); {@link RecoveryMode#ONLINE}: it serves at once and a command that touches an
 * unknown key waits for its priority pull (the command layer holds it; see {@code
 * Dispatcher}).
 *
 * <p>Safety: every answer carries the backup's applied index read before it read the values, so
 * every value in it is at least that new; a point pull also carries the newest log index known
 * here of a write to any key it asks for (the keys' timestamps in the witness table; a key
 * becomes unknown when an entry in witness form is applied), and the backup answers "not yet"
 * until it has applied that much. Values land in the state machine only for keys still unknown
 * whose newest write known here the answer's applied index covers ({@link
 * RecoverableStore#installPulled}); a key written here meanwhile is known already and keeps its
 * newer value, and a key whose value came out older stays unknown and is asked for again (by the
 * sweep, or by the command that needs it).
 *
 * <p>Recovery is active while this member leads and holds any unknown key, not only for the keys
 * it held when it was elected: entries of earlier terms in its log commit (and are applied, in
 * witness form) with the new term's first entry, after the election. Once this member serves, its
 * own entries are full, so the set of unknown keys only shrinks.
 *
 * <p>Also answers other members' pulls when this member is the one asked and keeps no backup
 * store ({@link #answer}; a backup answers on its own thread, {@link PullAnswers}).
 *
 * <p>Threads: owned by the node loop thread, except {@link #pullNow} (any thread: the command
 * thread sends its priority pulls itself) and the counters (read from any thread). Time is passed
 * in.
 */
public final class ValueRecovery {
  public static final int KEYS_PER_PULL = 256;
  /**
   * Values (key and value bytes) a witness keeps from its proactive pulls at most, until it leads
   * or the suspicion ends: the hot set is {@code backup-hot-keys} records (100,000 of 512 bytes by
   * default, ~50 MiB); past this the warm-up ends early.
   */
  public static final long STAGED_BYTES_MAX = 512L << 20;
  /**
   * Speculative takeover: a warm-up is reported done this long after it started even if the hot
   * set has not arrived (the backup is slow, gone, or has a large hot set), so a backup that does
   * not answer cannot keep the shard leaderless; the scan goes on while the witness campaigns and
   * after it is elected. A second: about the hard suspicion's ~430 ms of silence plus the time a
   * backup reading ~100 MiB/s needs for a 50 MiB hot set.
   */
  public static final long WARM_UP_NANOS_MAX = 1_000_000_000L;
  /** Keys one priority pull message asks for at most; more make more messages. */
  public static final int PRIORITY_KEYS_PER_PULL = 256;
  /**
   * A pull unanswered this long is asked again (its waiters re-check and ask again). A late
   * answer is still installed: every value is checked against the key's newest write known here,
   * whichever pull it answers.
   */
  public static final long PULL_TIMEOUT_NANOS = 1_000_000_000L;
  /**
   * A BatchPull request whose next chunk has not come for this long is sent again from the last
   * cursor (the backup's first chunk waits for it to drain its buffer into its logs).
   */
  public static final long BATCH_TIMEOUT_NANOS = 3_000_000_000L;
  public static final long NOT_YET_RETRY_NANOS = 5_000_000L;
  /** A reply stops adding values past this many bytes; the rest is asked for again. */
  public static final int REPLY_BYTES_MAX = 4 << 20;
  /** Log bytes the backup reads for one BatchPull chunk. */
  public static final int BATCH_CHUNK_BYTES = 256 << 10;
  /** Log bytes per BatchPull chunk asked for: {@link #BATCH_CHUNK_BYTES}, less in a rehearsal. */
  private int chunkBytes = BATCH_CHUNK_BYTES;
  /**
   * Chunks one BatchPull request asks for, unless a priority pull waits while priority pulls take
   * longer than the copy's target ({@link CopyPace#targetNanos}; then one).
   */
  public static final int BATCH_CHUNKS_IN_FLIGHT = 4;
  /** Point pulls of the sweep outstanding at most (online: one while a priority pull waits). */
  public static final int SWEEP_PULLS_OUTSTANDING = 4;
  /**
   * Longest a client command waits for values still on a backup before it is told TRYAGAIN (the
   * server's command layer and the simulator's nodes hold commands this long).
   */
  public static final long COMMAND_WAIT_NANOS_MAX = 3_000_000_000L;
  /** Priority pulls outstanding at most; keys asked for past that wait for the next tick. */
  public static final int PRIORITY_PULLS_OUTSTANDING_MAX = 64;

  /** Where the background copy stands. */
  public enum Background {
    /** Streaming the backup's logs (BatchPull). */
    BATCH,
    /** Asking for the keys still unknown by name. */
    SWEEP
  }

  private final NodeId self;
  private final RecoverableStore stateMachine;
  private final Consumer<PullMessage> send;
  private final RecoveryMode mode;
  /**
   * The driver's clock: priority pulls are stamped with it when sent (off the driver's thread in
   * the server), and a chunk's install is timed with it.
   */
  private final LongSupplier clock;
  /**
   * The broken variant {@link io.respawn.core.Variant#PULL_IGNORES_APPLIED_INDEX}: answers ignore
   * the index the asker needs, and every answer is installed as if read at the newest index.
   */
  private boolean ignoresAppliedIndex;
  private volatile List<NodeId> sources = List.of();
  private volatile boolean leading;
  private long term;
  private final AtomicLong requestId = new AtomicLong();
  private final AtomicInteger rotation = new AtomicInteger();
  /** Sweep pulls on their way, by request id. */
  private final Map<Long, SweepPull> outstanding = new HashMap<>();
  /** The keys of those pulls: the next sweep pull asks for others. */
  private final java.util.Set<Key> sweepInFlight = new java.util.HashSet<>();
  private long nextSendAtNanos;
  private long pulls;
  private long nextReportNanos;
  /**
   * The last answer, for the progress log line: its fields, formatted only when the line is
   * written (building the text for every chunk took a twentieth of a new primary's event loop).
   */
  private Object lastReply = "none";
  /** The store expects this recovery's values ({@link RecoverableStore#expectPulledValues}). */
  private boolean expectingValues;

  /** A BatchPull chunk, as {@link #lastReply}. */
  private record BatchReplySeen(long requestId, NodeId from, long appliedIndex, int records,
      int installed, BatchPullCursor next) {
    @Override
    public String toString() {
      return "BatchPull #" + requestId + " from " + from + ": applied " + appliedIndex + ", "
          + records + " records, " + installed + " installed, next " + next;
    }
  }

  /** A sweep pull's answer, as {@link #lastReply}. */
  private record SweepReplySeen(long requestId, NodeId from, long appliedIndex, Long need,
      int values, int outstanding) {
    @Override
    public String toString() {
      return "#" + requestId + " from " + from + ": applied " + appliedIndex + " (need " + need
          + "), " + values + " values (" + outstanding + " outstanding)";
    }
  }
  /** When the current recovery started (leadership with unknown keys), or 0. */
  private long startedAtNanos;

  private volatile Background background = Background.BATCH;
  /** The backup the BatchPull scan runs on, or null before it started. */
  private NodeId batchSource;
  private volatile BatchPullCursor batchCursor = BatchPullCursor.START;
  /**
   * The BatchPull request on its way (0: none). Volatile: a priority pull sent from a command
   * thread notes whether the copy was idle ({@link CopyPace}).
   */
  private volatile long batchRequestId;
  /** When it was sent, and the log bytes it asked for (the copy's own rate, {@link CopyPace}). */
  private long batchSentAtNanos;
  private long batchAskedBytes;
  /** When its last chunk (or the request) was seen. */
  private long batchHeardAtNanos;
  /** The request's source is reachable again: the request goes to it again (it may be lost). */
  private boolean batchResend;
  /** The request's source became unreachable: the next source takes the scan over. */
  private boolean batchSourceLost;
  /** Online: the next BatchPull request goes out no earlier than this ({@link CopyPace}). */
  private long batchNextSendAtNanos;
  /** Online: the background copy's rate, from the priority-pull latency. */
  private final CopyPace pace = new CopyPace();

  // ---- proactive recovery: a witness that suspects its leader pulls the hot set (staged) ----
  /** The suspicion episode being warmed up for, or 0. */
  private long warmEpisode;
  private NodeId warmSource;
  private long warmTerm;
  private long warmRequestId;
  private long warmHeardAtNanos;
  private long warmStartedAtNanos;
  private BatchPullCursor warmCursor = BatchPullCursor.START;
  private boolean warmDone;
  /** Chunks pulled before this member led, each with the backup's applied and CLEAR indexes. */
  private final List<Staged> staged = new ArrayList<>();
  private volatile long stagedBytes;
  private volatile long stagedKeys;
  private volatile long warmUps;
  private volatile long warmUpsCancelled;
  private volatile long stagedKeysInstalled;
  private volatile long stagedKeysDropped;
  private volatile long lastWarmUpMillis = -1;
  /**
   * Speculative takeover: told the suspicion episode whose warm-up is done (the core then
   * campaigns); null when the runtime reports warm-ups done by itself (hard-timeout takeover).
   */
  private java.util.function.LongConsumer warmUpDoneListener;
  /** The last episode reported to {@link #warmUpDoneListener}, or 0. */
  private long warmUpReportedEpisode;
  private volatile long warmUpsReportedAtBound;

  private record Staged(long appliedIndex, long clearIndex, List<PulledValue> values,
      long bytes) {}

  /** One future per key a priority pull is on its way for. Any thread. */
  private final ConcurrentHashMap<Key, CompletableFuture<Void>> wanted = new ConcurrentHashMap<>();
  /** Priority pulls on their way, by request id. Any thread. */
  private final ConcurrentHashMap<Long, PriorityPull> priorityOutstanding =
      new ConcurrentHashMap<>();

  private volatile long keysPulled;
  private volatile long bytesPulled;
  private volatile long batchKeys;
  private volatile long batchChunks;
  private volatile long batchBytes;
  private final AtomicLong priorityPulls = new AtomicLong();
  private final AtomicLong priorityKeysAsked = new AtomicLong();
  private volatile long priorityLatencyLastMicros;
  private volatile long priorityLatencyMaxMicros;
  private volatile long priorityLatencyTotalMicros;
  private volatile long priorityReplies;
  /** Moving average of the priority-pull latency (1/5 weight to each new reply); 0 before one. */
  private volatile long priorityLatencyAvgNanos;
  /**
   * Priority-pull latencies of the recovery under way, in microseconds (loop thread only): their
   * percentiles end the "done" line, so a slow tail shows without a profiler.
   */
  private final Histogram priorityLatencyMicros = new Histogram(PRIORITY_LATENCY_MICROS_MAX, 2);
  /** The slowest priority pull since the last progress line, in microseconds (loop thread). */
  private long priorityLatencyMaxSinceReportMicros;
  public static final long PRIORITY_LATENCY_MICROS_MAX = 600_000_000L;
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

  /** {@code copyIdle}: no BatchPull request was on its way when it was sent. */
  private record PriorityPull(List<Key> keys, long sentAtNanos, long minAppliedIndex,
      boolean copyIdle) {}

  private record SweepPull(List<Key> keys, long sentAtNanos, long minAppliedIndex) {}

  /**
   * A recovery for member {@code self} over {@code stateMachine}, sending its pulls and answers
   * with {@code send} (from the driver's thread, and from any thread that calls {@link #pullNow}),
   * reading time from {@code clock} (the driver's, in nanoseconds).
   */
  public ValueRecovery(NodeId self, RecoverableStore stateMachine, Consumer<PullMessage> send,
      RecoveryMode mode, LongSupplier clock) {
    this.self = self;
    this.stateMachine = stateMachine;
    this.send = send;
    this.mode = mode;
    this.clock = clock;
  }

  public RecoveryMode mode() {
    return mode;
  }

  /**
   * Tests and the simulator: a broken variant ({@link
   * io.respawn.core.Variant#PULL_IGNORES_APPLIED_INDEX} breaks this class; others change
   * nothing here).
   */
  public ValueRecovery variant(io.respawn.core.Variant variant) {
    this.ignoresAppliedIndex = variant == io.respawn.core.Variant.PULL_IGNORES_APPLIED_INDEX;
    return this;
  }

  /**
   * The takeover rehearsal: asks for chunks of {@code bytes} instead of {@link
   * #BATCH_CHUNK_BYTES}, so that its few thousand keys come in hundreds of chunks and the code run
   * once per chunk is compiled before a real recovery needs it.
   */
  public ValueRecovery chunkBytes(int bytes) {
    if (bytes <= 0) {
      throw new IllegalArgumentException("chunk bytes " + bytes);
    }
    this.chunkBytes = bytes;
    return this;
  }

  /**
   * Speculative takeover ({@code NodeRuntime.deferWarmUps}): {@code done} is told each suspicion
   * episode whose warm-up is done, once: when the hot set is staged ({@link #tickWarmUp}), at once
   * on a member that stages nothing (not a witness, or no voting backup to pull from), and after
   * {@link #WARM_UP_NANOS_MAX} whatever has arrived. Node loop thread; call before the first pass.
   */
  public void reportWarmUpsTo(java.util.function.LongConsumer done) {
    this.warmUpDoneListener = done;
  }

  /** What {@link #followLeadership} saw change in a pass. */
  public enum Leadership {
    /** This member leads (a new term): recovery started, with the voting backups as sources. */
    BEGAN,
    /** This member stopped leading: recovery stopped, every waiting command let go. */
    ENDED,
    /** Neither. */
    UNCHANGED
  }

  /** The configuration the sources were last taken from (driver's thread). */
  private io.respawn.core.Membership sourcesOf;

  /**
   * The driver's call after each pass over its input: starts recovery when {@code r} leads in a
   * term this recovery does not lead in yet, stops it when {@code r} no longer leads, and while it
   * leads keeps the sources equal to {@link #sourcesIn} of the configuration, so a backup
   * replaced or added during a recovery is asked from then on and a removed one no longer.
   * Driver's thread.
   */
  public Leadership followLeadership(io.respawn.core.Replica r, long nowNanos) {
    boolean leader = r.status() == Status.LEADER;
    if (leader && (!leading || term != r.term())) {
      if (leading) {
        stop();
      }
      sourcesOf = r.membership();
      start(sourcesIn(sourcesOf, self), r.term(), nowNanos);
      return Leadership.BEGAN;
    }
    if (!leader) {
      if (leading) {
        stop();
        return Leadership.ENDED;
      }
      return Leadership.UNCHANGED;
    }
    if (r.membership() != sourcesOf) {
      sourcesOf = r.membership();
      List<NodeId> now = sourcesIn(sourcesOf, self);
      if (!now.equals(sources)) {
        log.info("value recovery: the voting backups are {} now (were {})", now, sources);
        sources = now;
      }
    }
    return Leadership.UNCHANGED;
  }

  /**
   * The members {@code self} pulls values from in configuration {@code m}, in id order: its voting
   * backups, which hold every committed value (DESIGN §5.1). A configuration may have none for a
   * while (a dead backup removed while a witness stands in for it, its replacement still a
   * learner): then every other member, since the values are on the old primary, on the witness
   * standing in (for what it received in full) and on learners catching up; each answers only
   * the keys it knows, with its applied index, and the install rule ({@link
   * RecoverableStore#installPulled}) keeps any older answer out. Without this a new primary of
   * such a configuration never got its values: the simulator found it stuck (offline recovery
   * serving nothing) with the old primary holding all of them.
   */
  public static List<NodeId> sourcesIn(io.respawn.core.Membership m, NodeId self) {
    List<NodeId> out = new ArrayList<>(m.votingBackups());
    if (out.isEmpty()) {
      for (NodeId n : m.nodes()) {
        if (!n.equals(self)) {
          out.add(n);
        }
      }
    }
    out.sort(java.util.Comparator.comparingInt(NodeId::value));
    return List.copyOf(out);
  }

  /** The members this recovery pulls from now. */
  public List<NodeId> sources() {
    return sources;
  }

  /** This member leads in {@code term} from now on: pull every unknown key from {@code sources}. */
  public void start(List<NodeId> sources, long term, long nowNanos) {
    if (term < 1) {
      throw new IllegalArgumentException("term " + term + " must be >= 1");
    }
    this.sources = List.copyOf(sources);
    this.term = term;
    this.outstanding.clear();
    this.sweepInFlight.clear();
    this.nextSendAtNanos = 0;
    this.background = Background.BATCH;
    this.batchSource = null;
    this.batchCursor = BatchPullCursor.START;
    this.batchRequestId = 0;
    this.batchResend = false;
    this.batchSourceLost = false;
    this.batchNextSendAtNanos = 0;
    this.pace.reset();
    if (warmEpisode != 0 && warmSource != null && sources.contains(warmSource)) {
      // The scan the warm-up started goes on from where it stopped (the backup replaces the
      // scan of the old term with this one, from this cursor; a done cursor gets one empty
      // chunk); the staged values are installed with the first chunk that can vouch for them
      // (onBatchReply).
      this.batchSource = warmSource;
      this.batchCursor = warmCursor;
      log.info("leading after a warm-up: {} values staged from {} ({} bytes), the BatchPull scan "
          + "goes on from {}", stagedKeys, warmSource, stagedBytes, warmCursor);
    } else if (!staged.isEmpty()) {
      dropStaged("their backup is not a source now");
    }
    this.warmEpisode = 0;
    this.warmRequestId = 0;
    stateMachine.finishDrain(); // every key it held when it last led is in the table from here
    this.startedAtNanos = stateMachine.unknownKeyCount() > 0 ? nowNanos : 0;
    this.leading = true;
    expectingValues = stateMachine.unknownKeyCount() > 0;
    if (expectingValues) {
      stateMachine.expectPulledValues(true); // the store sizes its index for them now
    }
    installStagedReadAfterWitnessForm();
  }

  /**
   * Staged chunks the backup read at an applied index at least every entry applied here in
   * witness form are current (a later write or CLEAR reaches this member as a full entry it
   * applies itself, or as another witness-form entry that empties the store): installed now, at
   * the election. The others wait for a chunk that vouches for them ({@link
   * #installStagedIfVouched}).
   */
  private void installStagedReadAfterWitnessForm() {
    if (staged.isEmpty()) {
      return;
    }
    long witnessForm = stateMachine.witnessFormIndex();
    long installed = 0;
    long dropped = 0;
    Iterator<Staged> it = staged.iterator();
    while (it.hasNext()) {
      Staged st = it.next();
      if (st.appliedIndex() >= witnessForm) {
        int n = install(st.appliedIndex(), st.values());
        installed += n;
        dropped += st.values().size() - n;
        stagedKeys -= st.values().size();
        stagedBytes -= st.bytes();
        it.remove();
      }
    }
    stagedKeysInstalled += installed;
    stagedKeysDropped += dropped;
    log.info("staged values installed at the election: {} ({} older than a write known here); "
        + "{} wait for a chunk that vouches for them", installed, dropped, stagedKeys);
  }

  /** As {@link #start(List, long, long)} in term 1. */
  public void start(List<NodeId> sources, long nowNanos) {
    start(sources, 1, nowNanos);
  }

  /** As {@link #start(List, long)} at time 0. */
  public void start(List<NodeId> sources) {
    start(sources, 0);
  }

  /** This member no longer leads: every command waiting for a pull is let go (it re-checks). */
  public void stop() {
    leading = false;
    if (!staged.isEmpty()) {
      dropStaged("no longer leading");
    }
    cancelBatch();
    outstanding.clear();
    sweepInFlight.clear();
    startedAtNanos = 0;
    endExpectingValues();
    releaseAll();
  }

  /** The store was told the recovery's keys are coming ({@link #start}): tells it they came. */
  private void endExpectingValues() {
    if (expectingValues) {
      expectingValues = false;
      stateMachine.expectPulledValues(false);
    }
  }

  /** True while this member leads and holds keys without values. */
  public boolean active() {
    return leading && stateMachine.unknownKeyCount() > 0;
  }

  /**
   * True while this member pulls values: it leads and holds keys without values ({@link
   * #active}), or it warms up for a suspected leader (proactive recovery).
   */
  public boolean pulling() {
    return active() || warmEpisode != 0;
  }

  /** True while this member must not serve: offline recovery under way. */
  public boolean holdsServing() {
    return mode == RecoveryMode.OFFLINE && active();
  }

  public long keysPulled() {
    return keysPulled;
  }

  public long pulls() {
    return pulls;
  }

  /** Recoveries that ended with every value here. */
  public long recoveries() {
    return recoveries;
  }

  /** Keys installed from BatchPull chunks. */
  public long batchKeys() {
    return batchKeys;
  }

  public Background background() {
    return background;
  }

  /** What INFO shows about recovery (any thread). */
  public java.util.Map<String, Object> info() {
    java.util.Map<String, Object> m = new java.util.LinkedHashMap<>();
    boolean active = active();
    m.put("respawn_recovery_mode", mode.spelling());
    m.put("respawn_recovery_phase", !active ? "none"
        : mode == RecoveryMode.OFFLINE ? "offline-copy" : "online");
    BatchPullCursor cursor = batchCursor;
    m.put("respawn_recovery_background", !active ? "none"
        : background == Background.SWEEP ? "sweep"
        : switch (cursor.phase()) {
          case POPULAR -> "batch-popular";
          case HOT -> "batch-hot";
          case COLD -> "batch-cold";
          case DONE -> "sweep";
        });
    m.put("respawn_recovery_keys_left", leading ? stateMachine.unknownKeyCount() : 0);
    m.put("respawn_recovery_bytes_pulled", bytesPulled);
    m.put("respawn_recovery_batch_chunks", batchChunks);
    m.put("respawn_recovery_batch_keys", batchKeys);
    m.put("respawn_recovery_batch_bytes_read", batchBytes);
    m.put("respawn_recovery_priority_pulls", priorityPulls.get());
    m.put("respawn_recovery_priority_keys", priorityKeysAsked.get());
    m.put("respawn_recovery_priority_waiting_keys", wanted.size());
    m.put("respawn_recovery_priority_outstanding", priorityOutstanding.size());
    long replies = priorityReplies;
    m.put("respawn_recovery_priority_latency_avg_us",
        replies == 0 ? 0 : priorityLatencyTotalMicros / replies);
    m.put("respawn_recovery_priority_latency_last_us", priorityLatencyLastMicros);
    m.put("respawn_recovery_priority_latency_moving_us", priorityLatencyAvgNanos / 1_000);
    m.put("respawn_recovery_priority_latency_max_us", priorityLatencyMaxMicros);
    boolean paced = active && mode == RecoveryMode.ONLINE;
    m.put("respawn_recovery_copy_rate_bytes_per_s", paced ? (long) pace.bytesPerSecond() : 0);
    m.put("respawn_recovery_copy_floor_bytes_per_s",
        paced ? (long) pace.floorBytesPerSecond() : 0);
    m.put("respawn_recovery_copy_target_us", paced ? pace.targetNanos() / 1_000 : 0);
    m.put("respawn_recovery_copy_install_us", paced ? pace.chunkInstallNanos() / 1_000 : 0);
    m.put("respawn_recovery_copy_loop_cap_bytes_per_s",
        paced ? (long) Math.min(pace.loopCapBytesPerSecond(), CopyPace.RATE_MAX_BYTES_PER_SECOND) : 0);
    m.put("respawn_recovery_warmups", warmUps);
    m.put("respawn_recovery_warmups_cancelled", warmUpsCancelled);
    m.put("respawn_recovery_warmup_last_ms", lastWarmUpMillis);
    m.put("respawn_recovery_warmups_at_bound", warmUpsReportedAtBound);
    m.put("respawn_recovery_staged_keys", stagedKeys);
    m.put("respawn_recovery_staged_bytes", stagedBytes);
    m.put("respawn_recovery_staged_installed", stagedKeysInstalled);
    m.put("respawn_recovery_staged_dropped", stagedKeysDropped);
    m.put("respawn_recovery_last_ms", lastRecoveryMillis);
    m.put("respawn_recoveries", recoveries);
    return m;
  }

  /**
   * Online recovery: asks for {@code keys}' values now; the keys not already on their way go out
   * in a priority pull from this thread at once. The future completes (on the node loop thread)
   * once a reply for each key that was unknown has been applied (or its pull timed out, or this
   * member stopped leading): the caller checks again and asks again if a key is still unknown.
   * Any thread.
   */
  public CompletableFuture<Void> pullNow(List<byte[]> keys) {
    if (!leading) {
      return CompletableFuture.completedFuture(null);
    }
    List<CompletableFuture<Void>> waits = new ArrayList<>(keys.size());
    List<Key> ask = new ArrayList<>();
    for (byte[] k : keys) {
      if (!stateMachine.isUnknown(k)) {
        continue;
      }
      Key key = new Key(k);
      CompletableFuture<Void> mine = new CompletableFuture<>();
      CompletableFuture<Void> f = wanted.putIfAbsent(key, mine);
      if (f == null) {
        f = mine;
        ask.add(key);
      }
      waits.add(f);
    }
    for (int from = 0; from < ask.size(); from += PRIORITY_KEYS_PER_PULL) {
      sendPriority(ask.subList(from, Math.min(ask.size(), from + PRIORITY_KEYS_PER_PULL)),
          clock.getAsLong());
    }
    if (!leading) {
      release(ask); // stopped meanwhile: stop() may have run before these were registered
    }
    if (waits.isEmpty()) {
      return CompletableFuture.completedFuture(null);
    }
    return waits.size() == 1 ? waits.getFirst()
        : CompletableFuture.allOf(waits.toArray(CompletableFuture[]::new));
  }

  /**
   * Whether {@code requestId} is a priority pull still waiting for its answer: the node loop
   * handles such an answer ahead of its other input. Any thread.
   */
  public boolean awaitsPriorityReply(long requestId) {
    return priorityOutstanding.containsKey(requestId);
  }

  /** Sends one priority pull (any thread); with no backup to ask it only times out. */
  private void sendPriority(List<Key> batch, long nowNanos) {
    List<Key> copy = List.copyOf(batch);
    List<byte[]> keys = new ArrayList<>(copy.size());
    for (Key k : copy) {
      keys.add(k.bytes());
    }
    long id = requestId.incrementAndGet();
    long minApplied = Math.max(stateMachine.newestUnknownIndex(keys),
        stateMachine.witnessFormIndex());
    priorityOutstanding.put(id, new PriorityPull(copy, nowNanos, minApplied,
        batchRequestId == 0));
    priorityPulls.incrementAndGet();
    priorityKeysAsked.addAndGet(copy.size());
    List<NodeId> to = sources;
    if (!to.isEmpty()) {
      NodeId target = to.get(Math.floorMod(rotation.getAndIncrement(), to.size()));
      send.accept(new PullKeys(self, target, id, minApplied, keys, true));
    }
  }

  /**
   * Whether the background work sends less at once now: a command waits for a priority pull, and
   * priority pulls (moving average) have been slower than the copy's target of late ({@link
   * CopyPace#targetNanos}: twice what one costs with the copy out of the way). Below it the pulls
   * ahead of a priority answer cost it less than a slower copy or sweep costs the commands that
   * touch keys not copied yet.
   */
  private boolean priorityWaits() {
    return !priorityOutstanding.isEmpty() && priorityLatencyAvgNanos > pace.targetNanos();
  }

  /** Sends the next background pull; times out lost ones. Node loop thread. */
  public void tick(long nowNanos) {
    if (!leading) {
      return;
    }
    expirePriority(nowNanos);
    if (!active()) {
      if (!staged.isEmpty()) {
        dropStaged("every value is here"); // their keys came another way
      }
      cancelBatch();
      if (startedAtNanos != 0) {
        lastRecoveryMillis = (nowNanos - startedAtNanos) / 1_000_000;
        recoveries++;
        Histogram h = priorityLatencyMicros;
        log.info("recovery ({}) done: every value is here, {} keys ({} bytes) pulled in {} ms "
            + "({} from {} BatchPull chunks); {} priority pulls, average latency {} us (p50 {}, "
            + "p99 {}, p99.9 {}, max {} us)",
            mode.spelling(), keysPulled, bytesPulled, lastRecoveryMillis, batchKeys, batchChunks,
            priorityPulls.get(),
            priorityReplies == 0 ? 0 : priorityLatencyTotalMicros / priorityReplies,
            h.getValueAtPercentile(50), h.getValueAtPercentile(99),
            h.getValueAtPercentile(99.9), h.getMaxValue());
        h.reset();
        startedAtNanos = 0;
      }
      endExpectingValues();
      return;
    }
    if (startedAtNanos == 0) {
      startedAtNanos = nowNanos;
    }
    if (nowNanos >= nextReportNanos) {
      if (nextReportNanos != 0) {
        log.info("recovering values ({}, {}): {} keys still unknown, {} pulled ({} from {} "
            + "BatchPull chunks), {} sweep pulls, {} priority pulls (slowest since the last "
            + "line {} us); last reply {}",
            mode.spelling(), background, stateMachine.unknownKeyCount(), keysPulled, batchKeys,
            batchChunks, pulls, priorityPulls.get(), priorityLatencyMaxSinceReportMicros,
            lastReply);
      }
      priorityLatencyMaxSinceReportMicros = 0;
      nextReportNanos = nowNanos + 2_000_000_000L;
    }
    List<NodeId> from = sources;
    if (from.isEmpty()) {
      return;
    }
    if (mode == RecoveryMode.ONLINE) {
      pace.control(nowNanos, oldestPriorityWaitNanos(nowNanos));
    }
    if (background == Background.BATCH) {
      tickBatch(from, nowNanos);
      if (background == Background.BATCH) {
        return; // the sweep starts once the scan is done
      }
    }
    if (!staged.isEmpty()) {
      dropStaged("the scan ended before a chunk vouched for them"); // the sweep pulls them
    }
    // A lost answer: that pull's keys are asked for again by a later one.
    outstanding.values().removeIf(p -> {
      boolean lost = nowNanos - p.sentAtNanos() >= PULL_TIMEOUT_NANOS;
      if (lost) {
        p.keys().forEach(sweepInFlight::remove);
      }
      return lost;
    });
    int max = mode == RecoveryMode.ONLINE && priorityWaits() ? 1 : SWEEP_PULLS_OUTSTANDING;
    while (outstanding.size() < max && nowNanos >= nextSendAtNanos) {
      List<byte[]> keys = new ArrayList<>(KEYS_PER_PULL);
      List<Key> named = new ArrayList<>(KEYS_PER_PULL);
      for (byte[] k : stateMachine.unknownKeys(KEYS_PER_PULL)) {
        Key key = new Key(k);
        if (!sweepInFlight.contains(key)) { // asked for already: not twice at once
          keys.add(k);
          named.add(key);
        }
      }
      if (keys.isEmpty()) {
        return;
      }
      NodeId target = from.get(Math.floorMod(rotation.getAndIncrement(), from.size()));
      long id = requestId.incrementAndGet();
      long minApplied = Math.max(stateMachine.newestUnknownIndex(keys),
          stateMachine.witnessFormIndex());
      outstanding.put(id, new SweepPull(named, nowNanos, minApplied));
      sweepInFlight.addAll(named);
      pulls++;
      send.accept(new PullKeys(self, target, id, minApplied, keys));
    }
  }

  /** The BatchPull scan: one request on its way at a time, re-sent if it went quiet. */
  private void tickBatch(List<NodeId> from, long nowNanos) {
    boolean waiting = batchRequestId != 0;
    boolean silent = waiting && nowNanos - batchHeardAtNanos >= BATCH_TIMEOUT_NANOS;
    boolean moveOn = batchSource != null
        && (silent || batchSourceLost || !from.contains(batchSource));
    if (waiting && !moveOn && !batchResend) {
      return;
    }
    if (batchSource == null || moveOn) {
      // The first request; or the source left the configuration (a dead backup removed), went
      // quiet for the timeout (down, or the request or its chunks lost) or its connection
      // closed: the next source in turn goes on at once (the only one: again from the cursor).
      int at = batchSource == null ? -1 : from.indexOf(batchSource);
      NodeId next = from.get(at < 0 ? 0 : (at + 1) % from.size());
      if (batchSource != null && !next.equals(batchSource)) {
        endScanAt(batchSource); // its GC resumes now, not after its scan's idle bound
        batchCursor = BatchPullCursor.START; // a cursor names places in its own backup's logs
      }
      batchSource = next;
    }
    batchResend = false;
    batchSourceLost = false;
    int chunks = BATCH_CHUNKS_IN_FLIGHT;
    // The popular set is not paced: its keys are the ones commands would otherwise wait for,
    // one priority pull each, so bringing them sooner is what keeps priority pulls few. Its
    // chunks are a few random reads each, no longer than a log chunk's read, and the backup
    // answers a priority pull between any two chunks.
    boolean popular = batchCursor.phase() == BatchPullCursor.Phase.POPULAR;
    if (mode == RecoveryMode.ONLINE && !popular) {
      if (batchRequestId == 0 && nowNanos < batchNextSendAtNanos) {
        return; // paced: the rate says not yet
      }
      chunks = onlineChunks();
      batchNextSendAtNanos = nowNanos + pace.gapNanos((long) chunks * chunkBytes);
    }
    batchRequestId = requestId.incrementAndGet();
    batchHeardAtNanos = nowNanos;
    batchSentAtNanos = nowNanos;
    // The copy's unpaced rate (the pace's floor) is measured on the logs' sequential chunks.
    batchAskedBytes = popular ? 0 : (long) chunks * chunkBytes;
    send.accept(new BatchPull(self, batchSource, batchRequestId, term, batchCursor, chunks,
        chunkBytes));
  }

  /**
   * Chunks of the next online request: one while a command waits for a priority pull and priority
   * pulls have been slow of late ({@link #priorityWaits}: its answer then queues behind at most one
   * chunk on the wire), else as many as a tenth of a second at the paced rate holds, 1 to {@link
   * #BATCH_CHUNKS_IN_FLIGHT}.
   */
  private int onlineChunks() {
    if (priorityWaits()) {
      return 1;
    }
    double perTenth = pace.bytesPerSecond() / 10 / chunkBytes;
    return (int) Math.clamp((long) perTenth, 1, BATCH_CHUNKS_IN_FLIGHT);
  }

  /** How long the oldest priority pull still unanswered has waited, or 0. */
  private long oldestPriorityWaitNanos(long nowNanos) {
    long oldest = 0;
    for (PriorityPull p : priorityOutstanding.values()) {
      oldest = Math.max(oldest, nowNanos - p.sentAtNanos());
    }
    return oldest;
  }

  /**
   * The transport's hint that {@code peer} is reachable again (a new connection): a BatchPull on
   * its way to it, or its chunks, may have been lost with the old one, so the request is sent
   * again at the next tick instead of after {@link #BATCH_TIMEOUT_NANOS}. Driver's thread.
   */
  public void onPeerReachable(NodeId peer) {
    if (peer.equals(batchSource)) {
      batchSourceLost = false; // back before the scan moved on: it stays
      batchResend = batchRequestId != 0;
    }
    if (warmRequestId != 0 && peer.equals(warmSource)) {
      warmRequestId = 0; // tickWarmUp sends it again
    }
  }

  /**
   * The transport's hint that {@code peer} is unreachable (its connection closed, its process
   * gone): a BatchPull scan on it, waiting for a chunk or between two requests, goes on at the
   * next source at the next tick. Driver's thread.
   */
  public void onPeerUnreachable(NodeId peer) {
    if (peer.equals(batchSource) && background == Background.BATCH) {
      batchSourceLost = true;
    }
  }

  /** Ends the scan at {@code source} (a BatchPull with term 0), which the scan leaves. */
  private void endScanAt(NodeId source) {
    if (!batchCursor.isDone()) {
      send.accept(new BatchPull(self, source, requestId.incrementAndGet(), 0, batchCursor, 1,
          chunkBytes));
    }
  }

  /** Ends the backup's scan (its GC resumes) if one was started and is not done. */
  private void cancelBatch() {
    if (batchSource != null && background == Background.BATCH) {
      endScanAt(batchSource);
    }
    batchSource = null;
    batchRequestId = 0;
    background = Background.SWEEP;
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
    priorityOutstanding.clear();
    for (Key k : List.copyOf(wanted.keySet())) {
      CompletableFuture<Void> f = wanted.remove(k);
      if (f != null) {
        f.complete(null);
      }
    }
  }

  /** A chunk of the BatchPull scan. Node loop thread. */
  public void onBatchReply(BatchPullReply reply, long nowNanos) {
    if (!leading) {
      onWarmUpReply(reply, nowNanos);
      return;
    }
    batchChunks++;
    installStagedIfVouched(reply);
    LongSupplier now = clock; // the install's cost on this loop, in real time (tests: theirs)
    long installStartNanos = now.getAsLong();
    int installed = install(reply.appliedIndex(), reply.values());
    batchKeys += installed;
    if (mode == RecoveryMode.ONLINE && installed > 0) {
      pace.onChunkInstall(now.getAsLong() - installStartNanos);
    }
    if (reply.requestId() != batchRequestId) {
      return; // an answer to a request given up on: its values are as good, its cursor is not
    }
    batchHeardAtNanos = nowNanos;
    batchCursor = reply.next();
    lastReply = new BatchReplySeen(reply.requestId(), reply.from(), reply.appliedIndex(),
        reply.values().size(), installed, reply.next());
    if ((reply.last() || reply.next().isDone()) && batchAskedBytes > 0) {
      pace.onCopyService(batchAskedBytes, nowNanos - batchSentAtNanos);
    }
    if (reply.next().isDone()) {
      batchRequestId = 0;
      background = Background.SWEEP; // the backup ended the scan itself
      return;
    }
    if (reply.last()) {
      batchRequestId = 0; // the next request goes out at the end of this pass
    }
  }

  /**
   * Bytes a record adds to its key and value in the store's memory, at most (header, metadata,
   * expiry): the estimate {@link #memoryReadyFor} adds per value.
   */
  public static final int RECORD_OVERHEAD_BYTES_MAX = 32;

  /**
   * Whether a BatchPull chunk can be installed now without this member's event loop making fresh
   * memory for it ({@link RecoverableStore#hasRoomWithoutFaulting}): when not, the store is
   * making it in the background and the chunk waits for a later pass. In one E2 run at 2 GiB
   * (twenty-third session) a new primary's loop stood still 37, 41 and 30 ms faulting in a 4 MiB
   * slab chunk for the copy, and every client waited with it. A warm-up (not leading) only
   * stages values: always ready. Node loop thread.
   */
  public boolean memoryReadyFor(BatchPullReply chunk) {
    if (!leading) {
      return true;
    }
    long bytes = 0;
    for (PulledValue v : chunk.values()) {
      long record = v.key().length + (v.value() == null ? 0 : v.value().length)
          + RECORD_OVERHEAD_BYTES_MAX;
      bytes += SlabAllocator.blockBytes(record);
    }
    return stateMachine.hasRoomWithoutFaulting(bytes);
  }

  /** A reply to one of our point pulls. Node loop thread. */
  public void onReply(PullKeysReply reply, long nowNanos) {
    PriorityPull priority = priorityOutstanding.remove(reply.requestId());
    if (priority != null) {
      onPriorityReply(priority, reply, nowNanos);
      return;
    }
    if (leading && !outstanding.containsKey(reply.requestId())) {
      install(reply.appliedIndex(), reply.values()); // a late answer: its values are as good
      return;
    }
    SweepPull sweep = outstanding.remove(reply.requestId());
    Long need = sweep == null ? null : sweep.minAppliedIndex();
    if (sweep != null) {
      sweep.keys().forEach(sweepInFlight::remove);
    }
    lastReply = new SweepReplySeen(reply.requestId(), reply.from(), reply.appliedIndex(), need,
        reply.values().size(), outstanding.size());
    if (!active() || need == null) {
      return; // late or duplicate
    }
    if (reply.appliedIndex() < need && !ignoresAppliedIndex) {
      nextSendAtNanos = nowNanos + NOT_YET_RETRY_NANOS; // the backup is still applying
      return;
    }
    install(reply.appliedIndex(), reply.values());
    nextSendAtNanos = nowNanos;
  }

  private void onPriorityReply(PriorityPull p, PullKeysReply reply, long nowNanos) {
    if (!leading) {
      return;
    }
    long nanos = Math.max(0, nowNanos - p.sentAtNanos());
    long avg = priorityLatencyAvgNanos;
    priorityLatencyAvgNanos = avg == 0 ? nanos : avg - avg / 5 + nanos / 5;
    pace.onPriorityLatency(nanos, p.copyIdle());
    long micros = nanos / 1_000;
    priorityLatencyLastMicros = micros;
    priorityLatencyMaxMicros = Math.max(priorityLatencyMaxMicros, micros);
    priorityLatencyMaxSinceReportMicros = Math.max(priorityLatencyMaxSinceReportMicros, micros);
    priorityLatencyMicros.recordValue(Math.min(micros, PRIORITY_LATENCY_MICROS_MAX));
    priorityLatencyTotalMicros += micros;
    priorityReplies++;
    if (reply.appliedIndex() >= p.minAppliedIndex() || ignoresAppliedIndex) {
      install(reply.appliedIndex(), reply.values());
    }
    // Every waiter re-checks: a key the backup had not applied far enough, or left out of a
    // full reply, is asked for again by the command that still needs it.
    release(p.keys());
  }

  /** Installs the values still wanted here that {@code appliedIndex} covers; returns how many. */
  private int install(long appliedIndex, List<PulledValue> values) {
    if (ignoresAppliedIndex) {
      return installVouched(Long.MAX_VALUE, values); // broken: as if read at the newest index
    }
    if (appliedIndex < stateMachine.witnessFormIndex()) {
      // Read before an entry this member applied in witness form (an earlier term's entry its
      // election committed), which may hide a FLUSHALL the key table cannot show: the keys stay
      // unknown and are asked for again (pulls ask for at least that index).
      return 0;
    }
    return installVouched(appliedIndex, values);
  }

  /** As {@link #install}, for values known to be current (staged ones a chunk vouched for). */
  private int installVouched(long appliedIndex, List<PulledValue> values) {
    if (!leading) {
      return 0;
    }
    List<PulledValue> installed = stateMachine.installPulled(values, appliedIndex);
    long bytes = 0;
    for (PulledValue v : installed) {
      bytes += v.key().length + (v.value() == null ? 0 : v.value().length);
    }
    keysPulled += installed.size();
    bytesPulled += bytes;
    return installed.size();
  }

  // ---- proactive recovery (DESIGN §5.3: BatchPull at soft suspicion) ----

  /** The node loop's view of the replica, every pass (see the method below). */
  public void followSuspicion(io.respawn.core.Replica r, long nowNanos) {
    if (leading || (warmEpisode == 0 && r.leaderSuspicion() == Suspicion.NONE
        && r.status() == Status.FOLLOWER)) {
      return; // the common case, without building the list of backups
    }
    followSuspicion(r.leaderSuspicion(), r.status(), r.role(), r.suspicionEpisode(), r.term(),
        List.copyOf(r.membership().votingBackups()), nowNanos);
  }

  /**
   * Proactive recovery. A witness that follows and suspects its leader (SOFT or HARD), or
   * campaigns (catching up, pre-candidate, candidate), starts a
   * BatchPull scan of a backup's hot log in the leader's term and keeps what arrives (staged, not
   * in its store: a follower serves nothing, and the next entry it applies in witness form would
   * empty its store). The warm-up is done when the scan reaches the cold log (the hot set is
   * here) or {@link #STAGED_BYTES_MAX} is staged. While it campaigns the scan goes on; if it is
   * elected, {@link #start} continues the same scan and the staged values are installed under the
   * rule of {@link #installStagedIfVouched}. Hearing the leader again (following with no
   * suspicion) cancels it: a BatchPull with term 0 ends the backup's scan (its GC resumes) and the
   * staged values are dropped. Node loop thread.
   */
  public void followSuspicion(Suspicion suspicion, Status status, Role role, long episode,
      long term, List<NodeId> backups, long nowNanos) {
    if (leading) {
      return;
    }
    // A kill closes the leader's connections: the witness suspects it HARD at once and, with
    // hard-timeout takeover, campaigns in the same pass; campaigning counts as suspecting.
    boolean suspects = role == Role.WITNESS
        && (status == Status.FOLLOWER ? suspicion != Suspicion.NONE : status != Status.LEADER);
    // role is null while this member is not in the configuration it knows (a member being added
    // that has not heard of its addition yet): it neither warms up nor campaigns.
    if (status == Status.FOLLOWER && suspicion != Suspicion.NONE && role != null
        && role.mayCampaign()
        && (role != Role.WITNESS || backups.isEmpty())) {
      reportWarmUpDone(episode, "nothing to stage here"); // it holds its values, or no backup
    }
    if (suspects && warmEpisode != episode) {
      if (warmEpisode != 0) {
        cancelWarmUp("a new suspicion episode");
      }
      if (backups.isEmpty()) {
        return;
      }
      warmEpisode = episode;
      warmSource = backups.getFirst();
      warmTerm = term;
      warmCursor = BatchPullCursor.START;
      warmDone = false;
      warmRequestId = 0;
      warmStartedAtNanos = nowNanos;
      warmUps++;
      log.info("suspects its leader (term {}, {}): proactive recovery, pulling the hot set from "
          + "{}", term, suspicion, warmSource);
    } else if (!suspects && warmEpisode != 0 && status == Status.FOLLOWER) {
      cancelWarmUp("the leader was heard (or another one elected)");
      return;
    }
    if (warmEpisode != 0) {
      tickWarmUp(nowNanos);
      if (!warmDone && nowNanos - warmStartedAtNanos >= WARM_UP_NANOS_MAX
          && warmUpReportedEpisode != warmEpisode && warmUpDoneListener != null) {
        warmUpsReportedAtBound++;
        reportWarmUpDone(warmEpisode, "the warm-up's bound of " + WARM_UP_NANOS_MAX / 1_000_000
            + " ms passed with " + stagedKeys + " values staged; the scan goes on");
      }
    }
  }

  /** Speculative takeover: tells the core the warm-up of {@code episode} is done (once). */
  private void reportWarmUpDone(long episode, String why) {
    if (warmUpDoneListener == null || episode == 0 || warmUpReportedEpisode == episode) {
      return;
    }
    warmUpReportedEpisode = episode;
    log.info("warm-up of suspicion episode {} done ({}): speculative takeover may campaign",
        episode, why);
    warmUpDoneListener.accept(episode);
  }

  private void tickWarmUp(long nowNanos) {
    if (warmDone || warmSource == null) {
      return;
    }
    // The hot set is here once the scan has sent the popular set and the hot log.
    if (warmCursor.isDone() || warmCursor.log() == LogKind.COLD || stagedBytes >= STAGED_BYTES_MAX) {
      warmDone = true;
      lastWarmUpMillis = (nowNanos - warmStartedAtNanos) / 1_000_000;
      log.info("warm-up done in {} ms: {} values of the hot set staged ({} bytes)",
          lastWarmUpMillis, stagedKeys, stagedBytes);
      reportWarmUpDone(warmEpisode, "the hot set is staged");
      return;
    }
    if (warmRequestId != 0 && nowNanos - warmHeardAtNanos < BATCH_TIMEOUT_NANOS) {
      return;
    }
    warmRequestId = requestId.incrementAndGet();
    warmHeardAtNanos = nowNanos;
    send.accept(new BatchPull(self, warmSource, warmRequestId, warmTerm, warmCursor,
        BATCH_CHUNKS_IN_FLIGHT, chunkBytes));
  }

  private void onWarmUpReply(BatchPullReply reply, long nowNanos) {
    if (warmEpisode == 0 || !reply.from().equals(warmSource)) {
      return; // a chunk of a scan given up on
    }
    if (stagedBytes < STAGED_BYTES_MAX && !reply.values().isEmpty()) {
      long bytes = 0;
      for (PulledValue v : reply.values()) {
        bytes += v.key().length + (v.value() == null ? 0 : v.value().length);
      }
      staged.add(new Staged(reply.appliedIndex(), reply.clearIndex(), reply.values(), bytes));
      stagedBytes += bytes;
      stagedKeys += reply.values().size();
    }
    if (reply.requestId() != warmRequestId) {
      return;
    }
    warmHeardAtNanos = nowNanos;
    warmCursor = reply.next();
    if (reply.last() || reply.next().isDone()) {
      warmRequestId = 0;
      tickWarmUp(nowNanos);
    }
  }

  private void cancelWarmUp(String why) {
    if (warmSource != null && !warmCursor.isDone()) {
      send.accept(new BatchPull(self, warmSource, requestId.incrementAndGet(), 0, warmCursor, 1,
          chunkBytes));
    }
    warmUpsCancelled++;
    dropStaged("proactive recovery cancelled: " + why);
    warmEpisode = 0;
    warmSource = null;
    warmRequestId = 0;
    warmCursor = BatchPullCursor.START;
  }

  private void dropStaged(String why) {
    log.info("{}: {} staged values dropped", why, stagedKeys);
    stagedKeysDropped += stagedKeys;
    staged.clear();
    stagedBytes = 0;
    stagedKeys = 0;
  }

  /**
   * The rule for values pulled before this member led. A staged value was current at the backup's
   * applied index A of its chunk. Since then this member may have applied entries in witness form
   * (the suspected leader's last writes, committed by this member's election): a write to the
   * key leaves a (term, index) above A in the key table, and {@link
   * RecoverableStore#installPulled} refuses the value; a FLUSHALL leaves nothing (its witness
   * form names no key). So staged chunks wait for a chunk of the continued scan, read by the
   * backup at an applied index at least {@link RecoverableStore#witnessFormIndex} (every entry
   * this member applied in witness form), whose CLEAR index says whether a FLUSHALL came after A:
   * a chunk with A below it is dropped (its keys are pulled again, by the scan or by name). An
   * entry applied in witness form later still empties the store (a follower's rule, {@code
   * applyTimestamps}), so nothing older than the newest write known here is ever served.
   */
  private void installStagedIfVouched(BatchPullReply reply) {
    if (staged.isEmpty() || reply.appliedIndex() < stateMachine.witnessFormIndex()) {
      return;
    }
    long installed = 0;
    long dropped = 0;
    for (Staged s : staged) {
      if (s.appliedIndex() < reply.clearIndex()) {
        dropped += s.values().size(); // a FLUSHALL came after the backup read them
        continue;
      }
      int n = installVouched(s.appliedIndex(), s.values());
      installed += n;
      dropped += s.values().size() - n;
    }
    stagedKeysInstalled += installed;
    stagedKeysDropped += dropped;
    log.info("staged values installed: {} of {} ({} older than a write or a FLUSHALL known here)",
        installed, stagedKeys, dropped);
    staged.clear();
    stagedBytes = 0;
    stagedKeys = 0;
  }

  /**
   * A BatchPull asked of a member that keeps no backup store (no hot and cold logs to stream):
   * "done" at once, so the asker pulls every key by name.
   */
  public BatchPullReply answerWithoutLogs(BatchPull pull) {
    return new BatchPullReply(self, pull.from(), pull.requestId(), stateMachine.appliedIndex(),
        BatchPullCursor.DONE, true, List.of());
  }

  /** Answers another member's pull from what this member has applied. */
  public PullKeysReply answer(PullKeys pull) {
    long applied = stateMachine.appliedIndex();
    if (applied < pull.minAppliedIndex() && !ignoresAppliedIndex) {
      return new PullKeysReply(self, pull.from(), pull.requestId(), applied, List.of());
    }
    List<PulledValue> values = new ArrayList<>(pull.keys().size());
    long bytes = 0;
    for (byte[] key : pull.keys()) {
      PulledValue v = stateMachine.answerPull(key);
      if (v == null) {
        continue; // not ours to answer; the asker tries another member
      }
      bytes += key.length + (v.value() == null ? 0 : v.value().length) + 17;
      if (bytes > REPLY_BYTES_MAX && !values.isEmpty()) {
        break;
      }
      values.add(v);
    }
    return new PullKeysReply(self, pull.from(), pull.requestId(), applied, values);
  }
}
