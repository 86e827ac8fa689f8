package io.respawn.server;

import java.lang.ref.WeakReference;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Moves a server's start-up state (classes' statics, command tables, Netty's pools, buffers:
 * 80-120,000 small objects, 4-6 MB) into the old generation once, before the port opens, so that
 * no young collection while serving copies it: otherwise the first collections copy all of it,
 * each as long as 20 ms and more, where later ones take about 1 ms. Chosen by {@code
 * -Drespawn.tenureAtStart=}:
 *
 * <ul>
 *   <li>{@code full} (or {@code true}): one full collection ({@code System.gc()}). It marks every
 *       loaded class and compiled method as well as the state, which costs 13-30 ms with ParallelGC
 *       on two cores whatever little there is to move (about 4,000 classes loaded).
 *   <li>a number {@code N}: {@code N} young collections, each forced by allocating garbage until a
 *       weakly held canary is cleared. A young collection copies the live young objects and little
 *       else, so with a tenuring threshold of {@code N - 1} ({@code -XX:MaxTenuringThreshold}) the
 *       state reaches the old generation at the {@code N}th, each pause a few milliseconds. The
 *       launcher pairs the two for {@code respawn server}.
 *   <li>absent or {@code false}: nothing (a JVM that starts many servers, a test run).
 * </ul>
 *
 * Once per JVM: a later server (a witness's scratch server rehearsing a takeover) finds the state
 * tenured.
 */
final class StartUpTenure {
  private static final Logger log = LoggerFactory.getLogger(StartUpTenure.class);
  private static final String SETTING =
      System.getProperty("respawn.tenureAtStart", "false").trim().toLowerCase(Locale.ROOT);
  /**
   * Garbage allocated for one forced collection after which we give up (a young generation that
   * big is a misconfiguration).
   */
  private static final long GARBAGE_BYTES_MAX = 8L << 30;
  private static final int GARBAGE_CHUNK_BYTES = 64 << 10;
  private static final AtomicBoolean DONE = new AtomicBoolean();
  /** Where the garbage goes, so no compiler can prove an allocation dead and drop it. */
  @SuppressWarnings("unused")
  private static volatile byte[] sink;

  private StartUpTenure() {}

  /** Tenures the start-up state as {@code respawn.tenureAtStart} says, the first time only. */
  static void onceBeforeListening() {
    if (!DONE.compareAndSet(false, true)) {
      return;
    }
    long start = System.nanoTime();
    switch (SETTING) {
      case "false" -> {
        return;
      }
      case "true", "full" -> {
        fullCollection();
        log.info("start-up state tenured by 1 full collection in {} ms", sinceMillis(start));
      }
      default -> {
        int collections;
        try {
          collections = Integer.parseInt(SETTING);
        } catch (NumberFormatException e) {
          collections = 0;
        }
        if (collections < 1) {
          log.warn("-Drespawn.tenureAtStart={} is neither full, false nor a number (at least 1) "
              + "of young collections: start-up state left young", SETTING);
          return;
        }
        for (int i = 0; i < collections; i++) {
          if (!youngCollection()) {
            log.warn("no collection after {} MB of garbage: start-up state left young",
                GARBAGE_BYTES_MAX >> 20);
            return;
          }
        }
        // scripts/bench-vs-redis.sh reads the count: these are the GC log's first pauses. Whether
        // they promoted the state depends on -XX:MaxTenuringThreshold being below the count.
        log.info("start-up state tenured by {} young collections in {} ms", collections,
            sinceMillis(start));
      }
    }
  }

  private static long sinceMillis(long startNanos) {
    return (System.nanoTime() - startNanos) / 1_000_000;
  }

  @SuppressWarnings("java:S1215") // an explicit collection is the point, once, before serving
  private static void fullCollection() {
    System.gc();
  }

  /**
   * Allocates garbage until a collection has run (the canary, reachable only weakly, is cleared
   * by the first collection of any kind). False if none ran within {@link #GARBAGE_BYTES_MAX}.
   */
  static boolean youngCollection() {
    WeakReference<Object> canary = new WeakReference<>(new Object());
    for (long allocated = 0; !canary.refersTo(null); allocated += GARBAGE_CHUNK_BYTES) {
      if (allocated >= GARBAGE_BYTES_MAX) {
        sink = null;
        return false;
      }
      sink = new byte[GARBAGE_CHUNK_BYTES];
    }
    sink = null;
    return true;
  }
}
