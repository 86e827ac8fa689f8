package io.respawn.storage.crash;

import static org.assertj.core.api.Assertions.assertThat;

import io.respawn.storage.LogEngine;
import io.respawn.storage.Mutation;
import io.respawn.storage.ScanPage;
import io.respawn.storage.StorageConfig;
import io.respawn.storage.StoredValue;
import io.respawn.storage.WriteTicket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Crash-state campaign (DESIGN §4): run a seeded workload on a {@link RecordingDisk}, take crash
 * states along the way, recover each, and check that the store holds exactly the state after
 * some prefix of the batch history, and that the prefix contains every batch whose DURABLE
 * acknowledgement had completed. The reference is a HashMap replayed per prefix.
 *
 * <p>The same campaign without checksum verification ({@code batchChecksums=false}) must find
 * inconsistent states, or the test could not fail. Scale with {@code -Drespawn.crash.statesPerSeed}.
 */
class CrashConsistencyTest {
  static final int STATES_PER_SEED = Integer.getInteger("respawn.crash.statesPerSeed", 260);
  static final long[] SEEDS = {1L, 2L, 3L, 4L};
  private static final AtomicLong statesChecked = new AtomicLong();
  private static final AtomicLong midCompactionStates = new AtomicLong();

  /**
   * Small limits: values straddle 4 KiB blocks, segments rotate every few batches; a small disk
   * reserve (every crash image copies it).
   */
  static StorageConfig config(boolean checksums) {
    return StorageConfig.defaults()
        .withSizes(48 << 10, 20 << 10, 64, 6000)
        .withFlushIntervalMillis(0)
        .withCompaction(0, 0.5, 0)
        .withDiskReserveBytes(16 << 10)
        .withBatchChecksums(checksums);
  }

  /** Outcome of one campaign. */
  record Outcome(int states, int inconsistent, int refusedToOpen, String firstProblem) {}

  @ParameterizedTest(name = "seed {0}")
  @ValueSource(longs = {1L, 2L, 3L, 4L})
  void everyCrashStateRecoversToADurablePrefix(long seed) throws Exception {
    Outcome outcome = campaign(seed, STATES_PER_SEED, true);
    statesChecked.addAndGet(outcome.states());
    assertThat(outcome.inconsistent())
        .as("seed %d: %s", seed, outcome.firstProblem())
        .isZero();
    assertThat(outcome.states()).isGreaterThanOrEqualTo(STATES_PER_SEED);
  }

  @Test
  void withoutChecksumsTheSameCampaignFindsInconsistentStates() throws Exception {
    int states = 0;
    int inconsistent = 0;
    for (long seed : SEEDS) {
      Outcome o = campaign(seed, STATES_PER_SEED, false);
      states += o.states();
      inconsistent += o.inconsistent();
    }
    System.out.printf("crash campaign without checksums: %d states, %d inconsistent%n",
        states, inconsistent);
    assertThat(inconsistent).isGreaterThan(0);
  }

  /**
   * The same check with the production threading: writers on several threads, the flusher
   * thread, waiting threads leading group fsyncs. Crash images are taken while they run; the
   * batch history is the sequence order, known once the writers stop.
   */
  @ParameterizedTest(name = "seed {0}")
  @ValueSource(longs = {7L, 8L})
  void concurrentWritersCrashStatesRecoverToADurablePrefix(long seed) throws Exception {
    Random random = new Random(seed);
    StorageConfig config = config(true).withFlushIntervalMillis(3);
    RecordingDisk disk = new RecordingDisk();
    java.util.concurrent.ConcurrentSkipListMap<Long, List<Mutation>> bySequence =
        new java.util.concurrent.ConcurrentSkipListMap<>();
    AtomicLong durableAcked = new AtomicLong(-1);
    List<Map<String, byte[]>> images = new ArrayList<>();
    List<Long> durableAtImage = new ArrayList<>();
    int writers = 4;
    java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
    try (LogEngine engine = LogEngine.open(disk, config)) {
      List<Thread> threads = new ArrayList<>();
      java.util.concurrent.atomic.AtomicReference<Throwable> error =
          new java.util.concurrent.atomic.AtomicReference<>();
      for (int w = 0; w < writers; w++) {
        Random mine = new Random(seed * 100 + w);
        Thread t = new Thread(() -> {
          try {
            for (int i = 0; i < 2000 && !stop.get(); i++) {
              List<Mutation> batch = randomSmallBatch(mine);
              WriteTicket ticket = engine.apply(batch);
              bySequence.put(ticket.sequence(), batch); // history = sequence order
              if (mine.nextInt(3) == 0) {
                ticket.durable().get(10, java.util.concurrent.TimeUnit.SECONDS);
                durableAcked.accumulateAndGet(ticket.sequence(), Math::max);
              } else {
                ticket.ordered().get(10, java.util.concurrent.TimeUnit.SECONDS);
              }
            }
          } catch (Throwable e) {
            error.compareAndSet(null, e);
          }
        }, "crash-writer-" + w);
        threads.add(t);
        t.start();
      }
      long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(30);
      while (threads.stream().anyMatch(Thread::isAlive) && System.nanoTime() < deadline
          && images.size() < 150) {
        long durable = durableAcked.get(); // read before the image: acked before it is in it
        images.add(disk.crashImage(random));
        durableAtImage.add(durable);
        java.util.concurrent.locks.LockSupport.parkNanos(100_000);
      }
      stop.set(true);
      for (Thread t : threads) {
        t.join(30_000);
        assertThat(t.isAlive()).as("writer stuck").isFalse();
      }
      assertThat(error.get()).as("seed %d", seed).isNull();
    }
    // models.get(p) = state after the first p batches in sequence order
    List<Map<String, String>> models = new ArrayList<>();
    models.add(Map.of());
    List<Long> sequences = new ArrayList<>(bySequence.keySet());
    for (long sequence : sequences) {
      models.add(replay(models.get(models.size() - 1), bySequence.get(sequence)));
    }
    int inconsistent = 0;
    String first = null;
    for (int i = 0; i < images.size(); i++) {
      long durable = durableAtImage.get(i);
      int mustHave = durable < 0 ? 0 : sequences.indexOf(durable) + 1;
      String problem = check(images.get(i), config.withFlushIntervalMillis(0), models, mustHave);
      if (problem != null) {
        inconsistent++;
        first = first == null ? "image " + i + ": " + problem : first;
      }
    }
    statesChecked.addAndGet(images.size());
    System.out.printf("concurrent crash campaign seed %d: %d states, %d inconsistent%n",
        seed, images.size(), inconsistent);
    assertThat(images.size()).isGreaterThan(50);
    assertThat(inconsistent).as("seed %d: %s", seed, first).isZero();
  }

  @AfterAll
  static void report() {
    System.out.printf(
        "crash campaign with checksums: %d states checked (%d inside compactions), 0 inconsistent%n",
        statesChecked.get(), midCompactionStates.get());
  }

  /** Counts checks made from inside a disk operation. */
  private static final class Tally {
    int states;
    int inconsistent;
    String firstProblem;

    void record(String problem) {
      states++;
      if (problem != null) {
        inconsistent++;
        firstProblem = firstProblem == null ? problem : firstProblem;
      }
    }
  }

  /** Runs the workload for a seed and checks statesWanted crash states. */
  static Outcome campaign(long seed, int statesWanted, boolean checksums) throws Exception {
    Random random = new Random(seed);
    StorageConfig config = config(checksums);
    RecordingDisk disk = new RecordingDisk();
    List<List<Mutation>> history = new ArrayList<>();
    List<Map<String, String>> models = new ArrayList<>(); // models.get(p) = state after p batches
    models.add(Map.of());
    int durablePrefix = 0; // every batch < durablePrefix was acknowledged DURABLE
    int batches = 60;
    int statesPerPoint = Math.max(1, statesWanted / 12);
    int states = 0;
    int inconsistent = 0;
    int refused = 0;
    String firstProblem = null;
    try (LogEngine engine = LogEngine.open(disk, config)) {
      for (int i = 0; i < batches; i++) {
        List<Mutation> batch = randomBatch(random);
        WriteTicket ticket = engine.apply(batch);
        history.add(batch);
        models.add(replay(models.get(models.size() - 1), batch));
        if (random.nextInt(4) == 0) {
          ticket.durable().join();
          durablePrefix = history.size();
        }
        if (random.nextInt(20) == 0) {
          // Compaction must keep the same guarantees, also if the crash comes in its middle:
          // take crash states after its individual disk operations.
          Tally mid = new Tally();
          int durableBefore = durablePrefix;
          boolean[] inObserver = {false};
          disk.observe(operation -> {
            if (inObserver[0]) {
              return;
            }
            inObserver[0] = true;
            try {
              if (random.nextInt(3) == 0) {
                mid.record(check(disk.crashImage(random), config, models, durableBefore));
              }
              if (operation.equals("write") && random.nextInt(3) == 0) {
                // a client write racing the compaction: it may supersede a record being copied
                List<Mutation> racing = randomBatch(random);
                engine.apply(racing);
                history.add(racing);
                models.add(replay(models.get(models.size() - 1), racing));
              }
            } finally {
              inObserver[0] = false;
            }
          });
          try {
            engine.compact();
          } finally {
            disk.observe(null);
          }
          states += mid.states;
          if (checksums) {
            midCompactionStates.addAndGet(mid.states);
          }
          inconsistent += mid.inconsistent;
          if (firstProblem == null && mid.firstProblem != null) {
            firstProblem = "during compaction after batch " + i + ": " + mid.firstProblem;
          }
          engine.flushAll().join(); // racing writes may still be volatile
          durablePrefix = history.size();
        }
        boolean crashPoint = i % 5 == 4 || i == batches - 1;
        for (int c = 0; crashPoint && c < statesPerPoint && states < statesWanted; c++) {
          Map<String, byte[]> image = disk.crashImage(random);
          states++;
          String problem = check(image, config, models, durablePrefix);
          if (problem != null) {
            inconsistent++;
            if (problem.startsWith("refused")) {
              refused++;
            }
            if (firstProblem == null) {
              firstProblem = "after batch " + i + ": " + problem;
            }
          }
        }
      }
      while (states < statesWanted) { // top up at the end
        states++;
        String problem = check(disk.crashImage(random), config, models, durablePrefix);
        if (problem != null) {
          inconsistent++;
          firstProblem = firstProblem == null ? "at end: " + problem : firstProblem;
        }
      }
    }
    return new Outcome(states, inconsistent, refused, firstProblem);
  }

  /** Null if the recovered image equals some allowed prefix, else a description. */
  static String check(Map<String, byte[]> image, StorageConfig config,
      List<Map<String, String>> models, int durablePrefix) {
    Map<String, String> recovered;
    try (LogEngine engine = LogEngine.open(RecordingDisk.of(image), config)) {
      recovered = readAll(engine);
    } catch (Exception e) {
      return "refused to open: " + e.getMessage();
    }
    for (int p = models.size() - 1; p >= durablePrefix; p--) {
      if (models.get(p).equals(recovered)) {
        return null;
      }
    }
    for (int p = durablePrefix - 1; p >= 0; p--) {
      if (models.get(p).equals(recovered)) {
        return "recovered prefix " + p + " lost durable batches up to " + durablePrefix;
      }
    }
    return "recovered state (" + recovered.size() + " keys) is no prefix of the history";
  }

  static Map<String, String> readAll(LogEngine engine) {
    Map<String, String> all = new HashMap<>();
    long cursor = 0;
    int pages = 0;
    do {
      ScanPage page = engine.scan(cursor, 100);
      for (byte[] key : page.keys()) {
        StoredValue v = engine.get(key);
        all.put(new String(key, StandardCharsets.ISO_8859_1), describe(v));
      }
      cursor = page.nextCursor();
    } while (cursor != 0 && ++pages < 10_000);
    assertThat(engine.keyCount()).isEqualTo(all.size());
    return all;
  }

  static String describe(StoredValue v) {
    return Arrays.hashCode(v.value()) + "/" + v.value().length + "@" + v.expiresAtMillis();
  }

  static Map<String, String> replay(Map<String, String> before, List<Mutation> batch) {
    Map<String, String> after = new HashMap<>(before);
    for (Mutation m : batch) {
      String key = new String(m.key(), StandardCharsets.ISO_8859_1);
      switch (m.kind()) {
        case PUT -> after.put(key, describe(new StoredValue(m.value(), m.expiresAtMillis())));
        case DELETE -> after.remove(key);
        case CLEAR -> after.clear();
      }
    }
    return after;
  }

  /** Like {@link #randomBatch} with values up to 300 bytes, to keep long runs small. */
  static List<Mutation> randomSmallBatch(Random random) {
    List<Mutation> batch = new ArrayList<>();
    for (Mutation m : randomBatch(random)) {
      batch.add(m.kind() == Mutation.Kind.PUT && m.value().length > 300
          ? Mutation.put(m.key(), Arrays.copyOf(m.value(), 1 + m.value().length % 300), m.expiresAtMillis())
          : m);
    }
    return batch;
  }

  static List<Mutation> randomBatch(Random random) {
    int size = 1 + random.nextInt(4);
    List<Mutation> batch = new ArrayList<>();
    for (int i = 0; i < size; i++) {
      byte[] key = ("key" + random.nextInt(16)).getBytes(StandardCharsets.ISO_8859_1);
      int dice = random.nextInt(100);
      if (dice < 2) {
        batch.add(Mutation.clear());
      } else if (dice < 15) {
        batch.add(Mutation.delete(key));
      } else {
        byte[] value = new byte[1 + random.nextInt(4500)];
        random.nextBytes(value);
        long expires = random.nextInt(4) == 0 ? 1_000_000L + random.nextInt(1000) : 0;
        batch.add(Mutation.put(key, value, expires));
      }
    }
    return batch;
  }
}
