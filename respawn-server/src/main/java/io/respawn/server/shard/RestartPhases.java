package io.respawn.server.shard;

import java.util.LinkedHashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How long this member's last start took, phase by phase, for the start-up log and INFO (fields
 * {@code respawn_restart_*}): from the process's start to {@link ShardMember#start} (the JVM and
 * the launcher), opening the replica log, the image directory and the stores, loading the kept
 * snapshot image into the state, until RESP is served, and replaying the log tail: the entries
 * after the image that the replica log held at start, applied once the shard's commit index
 * covers them. The replay's time runs from the first of them applied to the last (waiting for the
 * commit index before the first is not in it; it is in {@code respawn_restart_caught_up_ms}, from
 * the process's start).
 *
 * <p>Each phase also in CPU time, which a loaded machine does not inflate as it does wall time
 * (a process run at low priority among busy ones gets a small share of the cores): the process's
 * CPU (every thread: JIT, GC, I/O) up to serving and up to the tail applied, and the thread CPU of
 * the load (the starting thread) and of the replay (the node loop thread).
 *
 * <p>{@link ShardMember#start} sets the start phases on its thread before the node loop runs;
 * {@link #applied} is called on the node loop thread; {@link #info} on any thread.
 */
final class RestartPhases {
  private static final Logger log = LoggerFactory.getLogger(RestartPhases.class);

  /** The process's start (epoch ms), or the moment this object was made if it is not known. */
  private final long processStartMillis;
  private volatile long processMillis;
  private volatile long openMillis;
  private volatile long loadMillis;
  private volatile long loadedRecords;
  private volatile long servingMillis;
  private volatile long loadCpuMillis;
  private volatile long servingCpuMillis;
  private volatile long replayCpuMillis = -1;
  private volatile long caughtUpCpuMillis = -1;
  private long replayStartCpuNanos;
  /** The log tail to replay: entries (fromIndex, toIndex]; none when toIndex <= fromIndex. */
  private volatile long fromIndex;
  private volatile long toIndex;
  private long replayStartNanos;
  private volatile long replayEntries;
  private volatile long replayMillis = -1;
  private volatile long caughtUpMillis = -1;

  RestartPhases() {
    this.processStartMillis = ProcessHandle.current().info().startInstant()
        .map(java.time.Instant::toEpochMilli).orElse(System.currentTimeMillis());
    this.processMillis = sinceProcessStart();
  }

  private long sinceProcessStart() {
    return Math.max(0, System.currentTimeMillis() - processStartMillis);
  }

  /** The replica log, the images and the stores are open. */
  void opened(long millis) {
    openMillis = millis;
  }

  /**
   * The kept image's {@code records} were loaded into the state in {@code millis}, {@code
   * cpuMillis} of the loading thread's CPU.
   */
  void loaded(long millis, long cpuMillis, long records) {
    loadMillis = millis;
    loadCpuMillis = cpuMillis;
    loadedRecords = records;
  }

  /** CPU time of the calling thread in ns (0 where the JVM does not measure it). */
  static long threadCpuNanos() {
    java.lang.management.ThreadMXBean t = java.lang.management.ManagementFactory.getThreadMXBean();
    return t.isCurrentThreadCpuTimeSupported() ? t.getCurrentThreadCpuTime() : 0;
  }

  /** CPU time of the whole process so far, in ms (0 if not known). */
  private static long processCpuMillis() {
    return ProcessHandle.current().info().totalCpuDuration().map(java.time.Duration::toMillis)
        .orElse(0L);
  }

  /**
   * The state stands at {@code appliedIndex} and the replica log holds entries up to {@code
   * lastIndex}: those after the applied index are the tail to replay.
   */
  void tail(long appliedIndex, long lastIndex) {
    fromIndex = appliedIndex;
    toIndex = lastIndex;
    if (toIndex <= fromIndex) {
      replayMillis = 0;
    }
  }

  /** RESP is served. */
  void serving() {
    servingMillis = sinceProcessStart();
    servingCpuMillis = processCpuMillis();
    if (replayMillis == 0 && caughtUpMillis < 0) {
      caughtUpMillis = servingMillis;
      replayCpuMillis = 0;
      caughtUpCpuMillis = servingCpuMillis;
    }
  }

  /** Node loop thread: the state machine applied {@code index}. */
  void applied(long index) {
    if (replayMillis >= 0 || index <= fromIndex) {
      return;
    }
    long now = System.nanoTime();
    if (replayStartNanos == 0) {
      replayStartNanos = now;
      replayStartCpuNanos = threadCpuNanos();
    }
    if (index >= toIndex) {
      replayEntries = toIndex - fromIndex;
      replayCpuMillis = (threadCpuNanos() - replayStartCpuNanos) / 1_000_000;
      replayMillis = (now - replayStartNanos) / 1_000_000;
      caughtUpMillis = sinceProcessStart();
      caughtUpCpuMillis = processCpuMillis();
      log.info("restart: log tail of {} entries ({}..{}) replayed in {} ms ({} ms of the loop "
          + "thread's CPU); {} ms after the process started ({} ms of its CPU)", replayEntries,
          fromIndex + 1, toIndex, replayMillis, replayCpuMillis, caughtUpMillis,
          caughtUpCpuMillis);
    }
  }

  /** The start-up log line's figures. */
  String startLine() {
    return "process start to start-up " + processMillis + " ms, stores opened in " + openMillis
        + " ms, image of " + loadedRecords + " records loaded in " + loadMillis + " ms ("
        + loadCpuMillis + " ms of CPU), serving " + servingMillis + " ms after the process "
        + "started (" + servingCpuMillis + " ms of its CPU); log tail to replay: "
        + Math.max(0, toIndex - fromIndex) + " entries";
  }

  /** INFO fields (shard section); -1 for a phase not over yet. */
  Map<String, Object> info() {
    Map<String, Object> f = new LinkedHashMap<>();
    f.put("respawn_restart_process_ms", processMillis);
    f.put("respawn_restart_open_ms", openMillis);
    f.put("respawn_restart_load_ms", loadMillis);
    f.put("respawn_restart_load_records", loadedRecords);
    f.put("respawn_restart_serving_ms", servingMillis);
    f.put("respawn_restart_replay_entries", Math.max(0, toIndex - fromIndex));
    f.put("respawn_restart_replay_ms", replayMillis);
    f.put("respawn_restart_caught_up_ms", caughtUpMillis);
    f.put("respawn_restart_load_cpu_ms", loadCpuMillis);
    f.put("respawn_restart_serving_cpu_ms", servingCpuMillis);
    f.put("respawn_restart_replay_cpu_ms", replayCpuMillis);
    f.put("respawn_restart_caught_up_cpu_ms", caughtUpCpuMillis);
    return f;
  }
}
