package io.respawn.server.shard;

import io.respawn.node.recovery.ValueRecovery;
import io.respawn.core.NodeId;
import io.respawn.node.recovery.ValuePull.BatchPull;
import io.respawn.node.recovery.ValuePull.BatchPullReply;
import io.respawn.node.recovery.ValuePull.PullKeys;
import io.respawn.node.recovery.ValuePull.PullKeysReply;
import io.respawn.node.recovery.ValuePull.PullMessage;
import io.respawn.node.recovery.ValuePull.PulledValue;
import io.respawn.storage.BackgroundPriority;
import io.respawn.storage.ForegroundPriority;
import io.respawn.storage.StorageException;
import io.respawn.storage.backup.BackupEntry;
import io.respawn.storage.backup.BackupStore;
import io.respawn.storage.backup.BatchPullChunk;
import io.respawn.storage.backup.BatchPullCursor;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A backup member's answers to a new primary's pulls (DESIGN §5.3), on a thread of their own
 * ({@code respawn-pull-answers}) rather than on the node loop: a pull then waits neither for the
 * log entries the node loop is applying nor for its acknowledgements, and a large answer delays
 * neither. Reads go to the {@link BackupStore}, which is safe from any thread.
 *
 * <p>Order: a priority pull (a client command waits for it) is answered on threads of its own
 * ({@code respawn-priority-pulls-N}, {@link #PRIORITY_READERS} of them, each taking the next
 * pull from one queue: a page read that hangs on the device holds one pull, not every pull
 * behind it; in E2 every client once stalled 50-85 ms together behind one slow priority pull
 * with no thread short of CPU, since by then most reads wait for a pull), so it never waits
 * behind background work (point pulls of
 * the sweep, BatchPull chunks, which take turns on the answering thread, one chunk at a time):
 * its page read runs beside a chunk's read. Waiting behind one (a chunk of a few hundred KiB to
 * a MiB read from the disk: milliseconds) put a priority pull at 4.4 ms on average in E2 at 1 M
 * records, and the new primary's p99.9 at 20–45 ms while the copy ran. {@link #step} (tests)
 * still does both on the caller's thread, priority first.
 *
 * <p>Each answer carries the store's applied index read <em>before</em> its values are read, so
 * every value in it is at least that new (the store applies committed entries only, and a key's
 * record never goes back); the primary installs a value only if that index covers the newest
 * write to the key it knows of. A point pull asking for an applied index the store has not
 * reached is answered "not yet" (no values).
 *
 * <p>PriorityPull answers also carry the other current records of the key's log page (one
 * positional read returns them anyway; DESIGN §5.3): keys near a popular key on the hot log are
 * likely the next ones asked for.
 *
 * <p>BatchPull: one scan per asking member. The first request pauses the store's GC and drains
 * its buffer into its logs ({@link BackupStore#startBatchPull}); the scan ends (GC resumes) when
 * its last chunk is sent, when the asker cancels it (term 0), when another term's scan replaces
 * it, or after {@link #SCAN_IDLE_NANOS_MAX} without a request (the asker died or stopped
 * leading). GC pauses nest: every scan started is ended exactly once.
 *
 * <p>A BatchPull from a member the shard's configuration is removing (in a joint configuration,
 * one of the outgoing half only; or no member at all) is refused: no scan starts, nothing is
 * sent, and a scan it had is ended: the backup pauses no GC and reads no log for a member that
 * is leaving (its warm-up stages nothing and ends at its bound).
 *
 * <p>Threads: {@link #offer} from any thread (the transport's event loop); everything else on
 * the answering thread. {@link #close} ends every scan.
 */
final class PullAnswers implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(PullAnswers.class);
  /** A scan without a request for this long is ended (the asker died or stopped leading). */
  static final long SCAN_IDLE_NANOS_MAX = 10_000_000_000L;
  /** Bytes of values (with keys) a point-pull answer carries at most; the rest is asked again. */
  static final int REPLY_BYTES_MAX = ValueRecovery.REPLY_BYTES_MAX;
  /** Keys a priority answer carries at most, counting the page neighbours of the keys asked. */
  static final int PRIORITY_VALUES_MAX = 4096;
  private static final long IDLE_PARK_NANOS = 100_000_000L;

  private final NodeId self;
  private final BackupStore store;
  private final Consumer<PullMessage> send;
  /** Whether a member may BatchPull: not one the configuration is removing (any thread). */
  private final java.util.function.Predicate<NodeId> mayBatchPull;
  /** Askers refused since their last accepted request (logged once each). Answering thread. */
  private final java.util.Set<NodeId> refused = new java.util.HashSet<>();
  private final AtomicLong batchPullsRefused = new AtomicLong();
  /** Priority pulls waiting; each one wakes one idle reader. */
  private final LinkedBlockingQueue<PullKeys> priority = new LinkedBlockingQueue<>();
  private final ConcurrentLinkedQueue<Object> background = new ConcurrentLinkedQueue<>();
  private final Thread thread;
  /** Threads answering priority pulls, each one page read at a time. */
  static final int PRIORITY_READERS = 2;
  /** Answer priority pulls once {@link #start}ed (before that, {@link #step} does). */
  private final Thread[] priorityThreads = new Thread[PRIORITY_READERS];
  private volatile boolean started;
  /** Whether the priority-pull threads ask for the real-time policy. */
  private final boolean realtimeReaders;
  private volatile boolean running = true;
  /** Scans under way, by asking member. Answering thread only. */
  private final Map<NodeId, Scan> scans = new HashMap<>();
  private final AtomicLong keysAnswered = new AtomicLong();
  private final AtomicLong priorityAnswered = new AtomicLong();
  private final AtomicLong chunksSent = new AtomicLong();
  private final AtomicLong scansStarted = new AtomicLong();
  /** When this last answered a pull of any kind ({@link System#nanoTime}); 0: never. */
  private volatile long answeredAtNanos;

  /** A scan: the asker's term, and when it last asked. */
  private static final class Scan {
    final long term;
    long heardAtNanos;

    Scan(long term, long nowNanos) {
      this.term = term;
      this.heardAtNanos = nowNanos;
    }
  }

  /** The chunks of one BatchPull request still to send, from {@code cursor}. */
  private static final class ChunksLeft {
    final BatchPull request;
    BatchPullCursor cursor;
    int left;

    ChunksLeft(BatchPull request) {
      this.request = request;
      this.cursor = request.cursor();
      this.left = request.chunksMax();
    }
  }

  PullAnswers(NodeId self, BackupStore store, Consumer<PullMessage> send) {
    this(self, store, send, id -> true, false);
  }

  /**
   * With {@code realtimeReaders} the priority-pull threads run under the real-time policy where
   * this process may ({@link ForegroundPriority}): a command on the new primary waits for every
   * step of its pull, and each step on a busy machine otherwise waits for a CPU first.
   */
  PullAnswers(NodeId self, BackupStore store, Consumer<PullMessage> send,
      java.util.function.Predicate<NodeId> mayBatchPull, boolean realtimeReaders) {
    this.self = self;
    this.realtimeReaders = realtimeReaders;
    this.store = store;
    this.send = send;
    this.mayBatchPull = mayBatchPull;
    this.thread = new Thread(this::run, "respawn-pull-answers");
    this.thread.setDaemon(true);
    for (int i = 0; i < PRIORITY_READERS; i++) {
      priorityThreads[i] = new Thread(this::runPriority, "respawn-priority-pulls-" + (i + 1));
      priorityThreads[i].setDaemon(true);
    }
  }

  PullAnswers start() {
    started = true;
    for (Thread t : priorityThreads) {
      t.start();
    }
    thread.start();
    return this;
  }

  /** Whether this answers {@code m} (a pull or a BatchPull); true once it is queued. */
  boolean offer(PullMessage m) {
    if (m instanceof PullKeys p && p.priority()) {
      priority.add(p);
    } else if (m instanceof PullKeys || m instanceof BatchPull) {
      background.add(m);
      LockSupport.unpark(thread);
    } else {
      return false;
    }
    return true;
  }

  /**
   * Whether this answered a pull (priority, point or BatchPull chunk) at or after {@code
   * sinceNanos} ({@link System#nanoTime}): a recovery is drawing on this backup. Any thread.
   */
  boolean answeredSince(long sinceNanos) {
    long at = answeredAtNanos;
    return at != 0 && at - sinceNanos >= 0;
  }

  /** Keys this member sent values (or "absent") for. */
  long keysAnswered() {
    return keysAnswered.get();
  }

  /** INFO fields of the answering side. Any thread. */
  Map<String, Object> info() {
    Map<String, Object> m = new java.util.LinkedHashMap<>();
    m.put("respawn_pull_answered_keys", keysAnswered.get());
    m.put("respawn_pull_answered_priority", priorityAnswered.get());
    m.put("respawn_pull_batch_chunks_sent", chunksSent.get());
    m.put("respawn_pull_batch_scans", scansStarted.get());
    m.put("respawn_pull_batch_refused", batchPullsRefused.get());
    m.put("respawn_pull_reads", store.pullReadMode());
    m.put("respawn_pull_direct_bytes", store.pullDirectReads()[1]);
    return m;
  }

  private void runPriority() {
    if (realtimeReaders) {
      ForegroundPriority.realtimeCurrentThread(); // else it answers at normal priority
    }
    while (running) {
      try {
        PullKeys p = priority.poll(IDLE_PARK_NANOS, TimeUnit.NANOSECONDS);
        if (p != null) {
          send.accept(answerPriority(p));
        }
      } catch (InterruptedException e) {
        return; // closing
      } catch (RuntimeException e) {
        // A pull is advisory: the asker times out and asks again. Keep answering the others.
        log.warn("answering a priority pull failed: {}", e.toString(), e);
      }
    }
  }

  private void run() {
    // A BatchPull stream of the cold log yields to everyone, but holds the store's lock at normal
    // priority (CeilingLock); the popular set and the hot log, which a takeover waits for, and the
    // waits between requests run at normal priority (followPhase). Where this process may not
    // leave SCHED_IDLE again the thread runs at nice 10 throughout.
    if (!BackgroundPriority.idleReversible()) {
      BackgroundPriority.idleCurrentThread();
    }
    while (running) {
      try {
        if (!stepBackground(System.nanoTime())) {
          LockSupport.parkNanos(this, IDLE_PARK_NANOS);
        }
      } catch (RuntimeException e) {
        // A pull is advisory: the asker times out and asks again. Keep answering the others.
        log.warn("answering a pull failed: {}", e.toString(), e);
      }
    }
  }

  /**
   * Answers the next pull: every priority pull first, else one piece of background work. Returns
   * false when there was nothing to do. Answering thread (tests call it directly).
   */
  boolean step(long nowNanos) {
    if (!started) {
      PullKeys p = priority.poll();
      if (p != null) {
        send.accept(answerPriority(p));
        return true;
      }
    }
    return stepBackground(nowNanos);
  }

  /** One piece of background work; false when there was none. Answering thread. */
  private boolean stepBackground(long nowNanos) {
    Object work = background.poll();
    if (work == null) {
      endIdleScans(nowNanos);
      followPhase(false); // waiting: woken at normal priority when the next request comes
      return false;
    }
    switch (work) {
      case PullKeys k -> send.accept(answerKeys(k));
      case BatchPull b -> startChunks(b, nowNanos);
      case ChunksLeft c -> sendChunk(c, nowNanos);
      default -> throw new IllegalStateException("unexpected work " + work);
    }
    return true;
  }

  /** A background pull: each key's newest value (or absent), up to {@link #REPLY_BYTES_MAX}. */
  PullKeysReply answerKeys(PullKeys pull) {
    long applied = store.lastApplied().index(); // before the reads: every value is that new
    if (applied < pull.minAppliedIndex()) {
      return new PullKeysReply(self, pull.from(), pull.requestId(), applied, List.of());
    }
    List<PulledValue> values = new ArrayList<>(pull.keys().size());
    long bytes = 0;
    for (byte[] key : pull.keys()) {
      BackupEntry e = store.get(key);
      byte[] value = e == null ? null : e.value();
      bytes += key.length + (value == null ? 0 : value.length) + 17;
      if (bytes > REPLY_BYTES_MAX && !values.isEmpty()) {
        break;
      }
      values.add(new PulledValue(key, value != null, e == null ? 0 : e.expiresAtMillis(), value));
    }
    keysAnswered.addAndGet(values.size());
    answeredAtNanos = System.nanoTime();
    return new PullKeysReply(self, pull.from(), pull.requestId(), applied, values);
  }

  /**
   * A priority pull: each key's record read with the page that holds it, and the other current
   * records of that page; the keys asked for come first.
   */
  PullKeysReply answerPriority(PullKeys pull) {
    long applied = store.lastApplied().index();
    if (applied < pull.minAppliedIndex()) {
      return new PullKeysReply(self, pull.from(), pull.requestId(), applied, List.of());
    }
    List<PulledValue> asked = new ArrayList<>(pull.keys().size());
    List<PulledValue> neighbours = new ArrayList<>();
    long bytes = 0;
    for (byte[] key : pull.keys()) {
      List<BackupEntry> page;
      try {
        page = store.priorityPull(key);
      } catch (StorageException e) {
        BackupEntry one = store.get(key); // the record kept moving: read it alone
        page = one == null ? List.of() : List.of(one);
      }
      if (page.isEmpty()) {
        asked.add(new PulledValue(key, false, 0, null)); // no record: absent
        bytes += key.length + 17;
        continue;
      }
      for (int i = 0; i < page.size(); i++) {
        BackupEntry e = page.get(i);
        long size = e.key().length + (e.value() == null ? 0 : e.value().length) + 17;
        if (i > 0 && (bytes + size > REPLY_BYTES_MAX
            || asked.size() + neighbours.size() >= PRIORITY_VALUES_MAX)) {
          break; // neighbours only while there is room
        }
        bytes += size;
        PulledValue v = new PulledValue(e.key(), !e.isTombstone(), e.expiresAtMillis(),
            e.value());
        (i == 0 ? asked : neighbours).add(v);
      }
      if (bytes > REPLY_BYTES_MAX) {
        break; // the keys left out are asked for again
      }
    }
    asked.addAll(neighbours);
    keysAnswered.addAndGet(asked.size());
    priorityAnswered.incrementAndGet();
    answeredAtNanos = System.nanoTime();
    return new PullKeysReply(self, pull.from(), pull.requestId(), applied, asked);
  }

  private void startChunks(BatchPull request, long nowNanos) {
    Scan scan = scans.get(request.from());
    if (request.term() != 0 && !mayBatchPull.test(request.from())) {
      batchPullsRefused.incrementAndGet();
      if (refused.add(request.from())) {
        log.info("BatchPull from {} (term {}) refused: the configuration is removing it",
            request.from(), request.term());
      }
      if (scan != null) {
        endScan(request.from(), "its asker is being removed");
      }
      return;
    }
    refused.remove(request.from());
    if (request.term() == 0) {
      if (scan != null) {
        endScan(request.from(), "cancelled");
      }
      return;
    }
    if (scan != null && scan.term != request.term()) {
      endScan(request.from(), "replaced by term " + request.term());
      scan = null;
    }
    if (scan == null) {
      if (request.term() < 1) {
        return;
      }
      store.startBatchPull(); // pauses GC, drains the buffer into the logs
      scan = new Scan(request.term(), nowNanos);
      scans.put(request.from(), scan);
      scansStarted.incrementAndGet();
      log.info("BatchPull from {} (term {}) at {}: GC paused, sending the popular set ({} "
          + "keys), then the hot log, then the cold log", request.from(), request.term(),
          request.cursor().phase(), store.stats().hotKeys());
    }
    scan.heardAtNanos = nowNanos;
    sendChunk(new ChunksLeft(request), nowNanos);
  }

  /** Reads and sends one chunk; queues the rest of the request behind other work. */
  private void sendChunk(ChunksLeft c, long nowNanos) {
    Scan scan = scans.get(c.request.from());
    if (scan == null || scan.term != c.request.term()) {
      return; // cancelled or replaced meanwhile
    }
    followPhase(c.cursor.phase() == BatchPullCursor.Phase.COLD);
    long applied = store.lastApplied().index(); // before the reads: every value is that new
    // After it: a CLEAR applied in between counts (clamped: the reply says "a CLEAR at or below
    // applied", so a chunk can only overstate one, which makes staged values be dropped, never
    // kept wrongly).
    long clearIndex = Math.min(applied, store.clearIndex());
    BatchPullChunk chunk;
    try {
      chunk = store.batchPull(c.cursor, c.request.chunkBytesMax());
    } catch (StorageException e) {
      log.warn("BatchPull for {} failed at {}: {}; ending the scan (the asker pulls the rest "
          + "by name)", c.request.from(), c.cursor, e.getMessage());
      chunk = new BatchPullChunk(List.of(), BatchPullCursor.DONE, 0);
    }
    List<PulledValue> values = new ArrayList<>(chunk.entries().size());
    for (BackupEntry e : chunk.entries()) {
      values.add(new PulledValue(e.key(), !e.isTombstone(), e.expiresAtMillis(), e.value()));
    }
    c.left--;
    boolean done = chunk.next().isDone();
    boolean last = done || c.left == 0;
    send.accept(new BatchPullReply(self, c.request.from(), c.request.requestId(), applied,
        chunk.next(), last, clearIndex, values));
    keysAnswered.addAndGet(values.size());
    chunksSent.incrementAndGet();
    answeredAtNanos = System.nanoTime();
    scan.heardAtNanos = nowNanos;
    if (done) {
      endScan(c.request.from(), "done");
    } else if (!last) {
      c.cursor = chunk.next();
      background.add(c);
    }
  }

  /**
   * The answering thread's policy for what it does next: {@code SCHED_IDLE} while it streams the
   * cold log (the background copy, which must not hold the cores from anyone), the normal policy
   * otherwise: the popular set and the hot log are what a speculative takeover waits for, and the
   * thread waits for the next request at normal priority so that its wake-up is not held behind
   * every runnable thread either. In the twenty-eighth session's fault campaigns, 7 of 33
   * failovers took 1.0-1.2 s: the witness's warm-up (the hot set of a 64-key shard) waited its 1
   * s bound for a stream under SCHED_IDLE while restarted members rehearsed their takeover on the
   * other cores. Only where the idle policy is reversible (else the thread stays at nice 10).
   * Answering thread.
   */
  private void followPhase(boolean bulk) {
    if (!BackgroundPriority.idleReversible() || !started) {
      return; // tests step this on their own thread: its policy is theirs
    }
    if (bulk && !BackgroundPriority.currentThreadIdle()) {
      BackgroundPriority.idleCurrentThread();
    } else if (!bulk && BackgroundPriority.currentThreadIdle()) {
      BackgroundPriority.normalCurrentThread();
    }
  }

  private void endScan(NodeId asker, String why) {
    if (scans.remove(asker) != null) {
      store.endBatchPull();
      log.info("BatchPull from {} ended ({}): GC resumed", asker, why);
    }
  }

  private void endIdleScans(long nowNanos) {
    Iterator<Map.Entry<NodeId, Scan>> it = scans.entrySet().iterator();
    while (it.hasNext()) {
      Map.Entry<NodeId, Scan> e = it.next();
      if (nowNanos - e.getValue().heardAtNanos >= SCAN_IDLE_NANOS_MAX) {
        it.remove();
        store.endBatchPull();
        log.info("BatchPull from {} ended (no request for {} s): GC resumed", e.getKey(),
            TimeUnit.NANOSECONDS.toSeconds(SCAN_IDLE_NANOS_MAX));
      }
    }
  }

  /** Whether a scan for {@code asker} is under way (tests). Answering thread. */
  boolean scanning(NodeId asker) {
    return scans.containsKey(asker);
  }

  @Override
  public void close() {
    running = false;
    for (Thread t : priorityThreads) {
      t.interrupt(); // waiting in the queue's poll
    }
    List<Thread> threads = new ArrayList<>(List.of(priorityThreads));
    threads.add(thread);
    for (Thread t : threads) {
      LockSupport.unpark(t);
      if (t.isAlive()) {
        try {
          t.join(TimeUnit.SECONDS.toMillis(5));
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
    }
    for (NodeId asker : List.copyOf(scans.keySet())) {
      endScan(asker, "closing");
    }
  }
}
