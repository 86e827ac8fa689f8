package io.respawn.storage.backup;

import static org.assertj.core.api.Assertions.assertThat;

import io.respawn.storage.Mutation;
import io.respawn.storage.crash.RecordingDisk;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Crash-state campaign for the backup (DESIGN.md §4, issue item 5): a seeded workload of
 * replicated entries (one to three writes, deletions, now and then a CLEAR), stale
 * retransmissions, popularity reports, writeback passes and GC collections runs on a {@link RecordingDisk} that holds the persistent buffer (a {@link
 * DiskRegion}) and the hot and cold logs, so one crash image catches all of them at one instant:
 * everything before a file's last flush survives, each later write survives, is lost or is torn,
 * per 4 KiB block, in any order. Images are also taken after single disk operations inside
 * writeback passes and GC collections.
 *
 * <p>Each image is recovered and must hold exactly the state after the first p applied entries
 * (so no entry is ever half there),
 * where p is the entry {@link BackupStore#lastApplied} names, and p must include every entry
 * whose durable notice had completed — read back through {@link BackupStore#get} for every key
 * and through a full BatchPull. An image of the page cache alone (a process crash) must hold
 * every acknowledged entry. The same campaign with checksums off must find inconsistent states.
 * Scale with {@code -Drespawn.backup.crash.statesPerSeed}.
 */
class BackupCrashConsistencyTest {
  static final int STATES_PER_SEED = Integer.getInteger("respawn.backup.crash.statesPerSeed", 260);
  static final long[] SEEDS = {1L, 2L, 3L, 4L};
  static final int KEYS = 16;
  private static final AtomicLong statesChecked = new AtomicLong();
  private static final AtomicLong midOperationStates = new AtomicLong();

  /** Small sizes: values straddle 4 KiB blocks, the ring wraps every few writes. */
  static BackupConfig config(boolean checksums) {
    return BackupConfig.defaults().toBuilder()
        .bufferBytes(32 << 10)
        .segmentBytesMax(24 << 10)
        .writebackBlockBytes(4 << 10)
        .writebackIntervalMillis(0)
        .gcIntervalMillis(0)
        .gcGarbageRatioMin(0.3)
        .keyBytesMax(16)
        .valueBytesMax(4500)
        .hotKeysMax(4)
        .popularityReportsPerEpoch(2)
        .checksums(checksums)
        .build();
  }

  /** One applied entry of the history: its mutations at one timestamp. */
  record Entry(List<Mutation> mutations, long term, long index) {}

  /** The history and the model state after each prefix of it. */
  static final class History {
    final List<Entry> entries = new ArrayList<>();
    final List<Map<String, String>> models = new ArrayList<>(List.of(Map.of()));

    void add(Entry e) {
      entries.add(e);
      Map<String, String> next = new HashMap<>(models.get(models.size() - 1));
      for (Mutation m : e.mutations()) {
        String key = new String(m.key(), StandardCharsets.ISO_8859_1);
        switch (m.kind()) {
          case PUT -> next.put(key, describe(m.value(), m.expiresAtMillis(), e.term(), e.index()));
          case DELETE -> next.remove(key);
          case CLEAR -> next.clear();
        }
      }
      models.add(next);
    }

    int size() {
      return entries.size();
    }

    /** Number of entries up to and including the one with this timestamp; -1 if none has it. */
    int prefixOf(BackupStore.Timestamp t) {
      if (t.term() == 0 && t.index() == 0) {
        return 0;
      }
      for (int p = 0; p < entries.size(); p++) {
        Entry e = entries.get(p);
        if (e.term() == t.term() && e.index() == t.index()) {
          return p + 1;
        }
      }
      return -1;
    }
  }

  static String describe(byte[] value, long expiresAt, long term, long index) {
    return Arrays.hashCode(value) + "/" + value.length + "@" + expiresAt + "#" + term + "." + index;
  }

  record Outcome(int states, int inconsistent, String firstProblem) {}

  @ParameterizedTest(name = "seed {0}")
  @ValueSource(longs = {1L, 2L, 3L, 4L})
  void everyCrashStateRecoversToAPrefixHoldingEveryDurableWrite(long seed) throws Exception {
    Outcome o = campaign(seed, STATES_PER_SEED, true);
    statesChecked.addAndGet(o.states());
    assertThat(o.inconsistent()).as("seed %d: %s", seed, o.firstProblem()).isZero();
    assertThat(o.states()).isGreaterThanOrEqualTo(STATES_PER_SEED);
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
    System.out.printf("backup crash campaign without checksums: %d states, %d inconsistent%n",
        states, inconsistent);
    assertThat(inconsistent).isGreaterThan(0);
  }

  @AfterAll
  static void report() {
    System.out.printf("backup crash campaign with checksums: %d states checked (%d inside "
        + "writeback passes and GC collections), 0 inconsistent%n",
        statesChecked.get(), midOperationStates.get());
  }

  /** Runs the seeded workload and checks statesWanted crash states. */
  static Outcome campaign(long seed, int statesWanted, boolean checksums) throws Exception {
    Random random = new Random(seed);
    BackupConfig config = config(checksums);
    RecordingDisk disk = new RecordingDisk();
    History history = new History();
    int[] durablePrefix = {0};
    int states = 0;
    int inconsistent = 0;
    String first = null;
    long term = 1;
    long index = 0;
    int operations = 150;
    int statesPerPoint = Math.max(1, statesWanted / 30);
    try (BackupStore store = BackupStore.open(disk, config)) {
      for (int op = 0; op < operations; op++) {
        int dice = random.nextInt(100);
        if (dice < 62) {
          if (random.nextInt(12) == 0) {
            term++;
          }
          Entry e = randomEntry(random, term, ++index);
          long seq = store.apply(e.term(), e.index(), e.mutations());
          history.add(e);
          if (random.nextInt(6) == 0) {
            store.whenDurable(seq).join();
            durablePrefix[0] = history.size();
          }
        } else if (dice < 66 && index > 0) {
          // a retransmitted older entry: acknowledged, ignored
          store.apply(keyBytes(random), new byte[] {1, 2, 3}, 0, term, Math.max(0, index - random.nextInt(3)));
        } else if (dice < 72) {
          long[] report = new long[1 + random.nextInt(4)];
          for (int i = 0; i < report.length; i++) {
            report[i] = KeyHash.of(keyBytes(random));
          }
          store.reportPopularity(report);
        } else {
          // a writeback pass or a GC collection, with crash images after its disk operations
          Tally mid = new Tally();
          int durableBefore = durablePrefix[0];
          boolean[] inObserver = {false};
          disk.observe(operation -> {
            if (inObserver[0] || random.nextInt(4) != 0) {
              return;
            }
            inObserver[0] = true;
            try {
              mid.record(check(disk.crashImage(random), config, history, durableBefore));
            } finally {
              inObserver[0] = false;
            }
          });
          try {
            if (dice < 86) {
              store.runWritebackInline();
            } else {
              store.collectGarbage(random.nextBoolean());
            }
          } finally {
            disk.observe(null);
          }
          states += mid.states;
          inconsistent += mid.inconsistent;
          if (checksums) {
            midOperationStates.addAndGet(mid.states);
          }
          if (first == null && mid.firstProblem != null) {
            first = "inside operation " + op + ": " + mid.firstProblem;
          }
        }
        if (op % 5 == 4) {
          for (int c = 0; c < statesPerPoint && states < statesWanted; c++) {
            String problem = check(disk.crashImage(random), config, history, durablePrefix[0], random);
            states++;
            if (problem != null) {
              inconsistent++;
              first = first == null ? "after operation " + op + ": " + problem : first;
            }
          }
          // a crash of the process only: the page cache survives, so every acknowledged entry
          String problem = check(disk.currentImage(), config, history, history.size());
          states++;
          if (problem != null) {
            inconsistent++;
            first = first == null ? "process crash after operation " + op + ": " + problem : first;
          }
        }
      }
      while (states < statesWanted) {
        String problem = check(disk.crashImage(random), config, history, durablePrefix[0]);
        states++;
        if (problem != null) {
          inconsistent++;
          first = first == null ? "at the end: " + problem : first;
        }
      }
    }
    return new Outcome(states, inconsistent, first);
  }

  /** Counts checks made from inside a disk operation. */
  static final class Tally {
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

  static String key(Random random) {
    return "key" + random.nextInt(KEYS);
  }

  static byte[] keyBytes(Random random) {
    return key(random).getBytes(StandardCharsets.ISO_8859_1);
  }

  /** 1-3 mutations (a key may repeat), rarely a CLEAR; values up to valueMax bytes. */
  static Entry randomEntry(Random random, long term, long index, int valueMax) {
    List<Mutation> mutations = new ArrayList<>();
    int n = random.nextInt(4) == 0 ? 2 + random.nextInt(2) : 1;
    for (int i = 0; i < n; i++) {
      byte[] key = keyBytes(random);
      int dice = random.nextInt(100);
      if (dice < 2) {
        mutations.add(Mutation.clear());
      } else if (dice < 14) {
        mutations.add(Mutation.delete(key));
      } else {
        byte[] value = new byte[1 + random.nextInt(valueMax / n)];
        random.nextBytes(value);
        long expires = random.nextInt(4) == 0 ? 1_000_000L + random.nextInt(1000) : 0;
        mutations.add(Mutation.put(key, value, expires));
      }
    }
    return new Entry(mutations, term, index);
  }

  static Entry randomEntry(Random random, long term, long index) {
    return randomEntry(random, term, index, 4500);
  }

  /**
   * Null if the recovered image holds the state after some prefix that includes every durable
   * entry (read by get and by a full BatchPull), else what is wrong.
   */
  static String check(Map<String, byte[]> image, BackupConfig config, History history,
      int durablePrefix) {
    return check(image, config, history, durablePrefix, null);
  }

  /**
   * As above; with a random, sometimes also writes a few new entries on the recovered store and
   * checks a second crash of it (a crash soon after recovery must not revive anything that the
   * first recovery dropped).
   */
  static String check(Map<String, byte[]> image, BackupConfig config, History history,
      int durablePrefix, Random random) {
    RecordingDisk recoveredDisk = RecordingDisk.of(image);
    try (BackupStore store = BackupStore.open(recoveredDisk, config)) {
      BackupStore.Timestamp last = store.lastApplied();
      int p = history.prefixOf(last);
      if (p < 0) {
        return "recovered lastApplied " + last + " is no entry of the history";
      }
      if (p < durablePrefix) {
        return "recovered prefix " + p + " lost durable entries up to " + durablePrefix;
      }
      Map<String, String> model = history.models.get(p);
      Map<String, String> byGet = new HashMap<>();
      for (int k = 0; k < KEYS; k++) {
        BackupEntry e = store.get(("key" + k).getBytes(StandardCharsets.ISO_8859_1));
        if (e != null) {
          byGet.put("key" + k, describe(e.value(), e.expiresAtMillis(), e.term(), e.index()));
        }
      }
      if (!byGet.equals(model)) {
        return "prefix " + p + ": get() shows " + byGet.keySet() + " but the model has "
            + model.keySet() + (byGet.keySet().equals(model.keySet()) ? " (values differ)" : "");
      }
      Map<String, String> byPull = new HashMap<>();
      BatchPullCursor cursor = store.startBatchPull();
      Map<String, String> byPopularPull = new HashMap<>();
      while (!cursor.isDone()) {
        // The popular set's records come first, and again with their log.
        Map<String, String> into = cursor.phase() == BatchPullCursor.Phase.POPULAR
            ? byPopularPull : byPull;
        BatchPullChunk chunk = store.batchPull(cursor, 8192);
        for (BackupEntry e : chunk.entries()) {
          if (!e.isTombstone()) {
            String k = new String(e.key(), StandardCharsets.ISO_8859_1);
            if (into.put(k, describe(e.value(), e.expiresAtMillis(), e.term(), e.index())) != null) {
              return "BatchPull returned " + k + " twice";
            }
          }
        }
        cursor = chunk.next();
      }
      store.endBatchPull();
      for (Map.Entry<String, String> e : byPopularPull.entrySet()) {
        if (!e.getValue().equals(model.get(e.getKey()))) {
          return "prefix " + p + ": BatchPull's popular set sent " + e.getKey() + " as "
              + e.getValue() + " but the model has " + model.get(e.getKey());
        }
      }
      if (!byPull.equals(model)) {
        return "prefix " + p + ": BatchPull differs from the model";
      }
      if (random == null || random.nextInt(4) != 0) {
        return null;
      }
      // Second life: the recovered prefix, then new entries in a later term, then a crash.
      History second = new History();
      for (int i = 0; i < p; i++) {
        second.add(history.entries.get(i));
      }
      int secondDurable = p; // recovery forced what it recovered
      int more = 1 + random.nextInt(4);
      for (int i = 0; i < more; i++) {
        Entry e = randomEntry(random, 1_000_000, i + 1);
        long seq = store.apply(e.term(), e.index(), e.mutations());
        second.add(e);
        if (random.nextBoolean()) {
          store.whenDurable(seq).join();
          secondDurable = second.size();
        }
      }
      String again = check(recoveredDisk.crashImage(random), config, second, secondDurable, null);
      return again == null ? null : "after a second crash: " + again;
    } catch (Exception | AssertionError e) {
      return "refused to open or read: " + e;
    }
  }

  /**
   * The same checks with the production threads: the writeback and GC agents run on their own
   * threads while one writer applies entries and sometimes waits for durability; crash images
   * are taken from the test thread meanwhile.
   */
  @ParameterizedTest(name = "seed {0}")
  @ValueSource(longs = {7L, 8L})
  void withTheAgentThreadsRunningEveryCrashStateRecoversToADurablePrefix(long seed)
      throws Exception {
    Random random = new Random(seed);
    BackupConfig config = config(true).toBuilder()
        .writebackIntervalMillis(1).gcIntervalMillis(2).gcGarbageRatioMin(0.2)
        .gcDriftBytesPerSecond(1 << 20).build();
    RecordingDisk disk = new RecordingDisk();
    History history = new History();
    AtomicInteger durable = new AtomicInteger();
    AtomicBoolean stop = new AtomicBoolean();
    AtomicInteger imagesTaken = new AtomicInteger();
    AtomicReference<Throwable> error = new AtomicReference<>();
    List<Map<String, byte[]>> images = new ArrayList<>();
    List<Integer> durableAtImage = new ArrayList<>();
    try (BackupStore store = BackupStore.open(disk, config)) {
      Random mine = new Random(seed * 31);
      Thread writer = new Thread(() -> {
        try {
          long index = 0;
          // at least 1,500 entries, and on until the test thread took its 31 images (a thread
          // starved on a busy machine takes them slowly), at most 20,000
          for (int i = 0; (i < 1500 || imagesTaken.get() <= 30) && i < 20_000 && !stop.get();
              i++) {
            Entry e = randomEntry(mine, 1, ++index, 600);
            long seq = store.apply(e.term(), e.index(), e.mutations());
            synchronized (history) {
              history.add(e);
            }
            if (mine.nextInt(20) == 0) {
              store.reportPopularity(new long[] {KeyHash.of(keyBytes(mine))});
            }
            if (mine.nextInt(8) == 0) {
              store.whenDurable(seq).get(10, TimeUnit.SECONDS);
              durable.set(i + 1);
            }
          }
        } catch (Throwable t) {
          error.compareAndSet(null, t);
        }
      }, "backup-crash-writer");
      writer.start();
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (writer.isAlive() && System.nanoTime() < deadline && images.size() < 150) {
        int acked = durable.get(); // read before the image: acknowledged before it was taken
        images.add(disk.crashImage(random));
        durableAtImage.add(acked);
        imagesTaken.incrementAndGet();
        java.util.concurrent.locks.LockSupport.parkNanos(200_000);
      }
      stop.set(true);
      writer.join(30_000);
      assertThat(writer.isAlive()).as("writer stuck").isFalse();
      assertThat(error.get()).as("seed %d", seed).isNull();
      assertThat(store.stats().writebackPasses()).isPositive();
    }
    int inconsistent = 0;
    String first = null;
    for (int i = 0; i < images.size(); i++) {
      String problem = check(images.get(i), config(true), history, durableAtImage.get(i));
      if (problem != null) {
        inconsistent++;
        first = first == null ? "image " + i + ": " + problem : first;
      }
    }
    statesChecked.addAndGet(images.size());
    System.out.printf("backup crash campaign with agent threads, seed %d: %d states, %d inconsistent%n",
        seed, images.size(), inconsistent);
    assertThat(images.size()).isGreaterThan(30);
    assertThat(inconsistent).as("seed %d: %s", seed, first).isZero();
  }
}
