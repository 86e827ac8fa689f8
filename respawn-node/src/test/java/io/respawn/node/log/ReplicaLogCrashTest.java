package io.respawn.node.log;

import static org.assertj.core.api.Assertions.assertThat;

import io.respawn.core.Command;
import io.respawn.core.Entry;
import io.respawn.core.HardState;
import io.respawn.core.NodeId;
import io.respawn.storage.StorageException;
import io.respawn.storage.crash.RecordingDisk;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Crash-state campaign for the replica log (DESIGN §4, in the manner of the engine's
 * CrashConsistencyTest): run a seeded history of appends, suffix truncations, flushes, hard-state
 * saves and prefix truncations on a {@link RecordingDisk}, take crash states along the way, reopen
 * each, and check that the log recovered is exactly the log after some prefix of the history that
 * contains everything flushed, with the last saved hard state. The reference is the list of log
 * states after each appended entry and each truncation (one append may span several batches).
 *
 * <p>The same campaign without checksum verification must find inconsistent states, or the test
 * could not fail. Scale with {@code -Drespawn.crash.statesPerSeed}.
 */
class ReplicaLogCrashTest {
  static final int STATES_PER_SEED = Integer.getInteger("respawn.crash.statesPerSeed", 250);
  static final long[] SEEDS = {1L, 2L, 3L, 4L};
  private static final AtomicLong statesChecked = new AtomicLong();
  private static final AtomicLong statesLosingWrites = new AtomicLong();

  /** Small limits: entries straddle 4 KiB blocks, batches split, segments rotate often. */
  static ReplicaLogConfig config(boolean checksums) {
    return new ReplicaLogConfig(24 << 10, 7000, checksums);
  }

  record Outcome(int states, int inconsistent, String firstProblem) {}

  @ParameterizedTest(name = "seed {0}")
  @ValueSource(longs = {1L, 2L, 3L, 4L})
  void everyCrashStateRecoversToAPrefixHoldingEveryFlushedEntry(long seed) {
    Outcome o = campaign(seed, STATES_PER_SEED, true);
    statesChecked.addAndGet(o.states());
    assertThat(o.inconsistent()).as("seed %d: %s", seed, o.firstProblem()).isZero();
    assertThat(o.states()).isGreaterThanOrEqualTo(STATES_PER_SEED);
  }

  @Test
  void withoutChecksumsTheSameCampaignFindsInconsistentStates() {
    int states = 0;
    int inconsistent = 0;
    for (long seed : SEEDS) {
      Outcome o = campaign(seed, STATES_PER_SEED, false);
      states += o.states();
      inconsistent += o.inconsistent();
    }
    System.out.printf("replica log crash campaign without checksums: %d states, %d inconsistent%n",
        states, inconsistent);
    assertThat(inconsistent).isGreaterThan(0);
  }

  @AfterAll
  static void report() {
    System.out.printf("replica log crash campaign with checksums: %d states checked (%d lost"
        + " unflushed writes), 0 inconsistent%n", statesChecked.get(), statesLosingWrites.get());
  }

  /** What the test knows the log must look like. */
  private static final class Model {
    final List<List<Entry>> states = new ArrayList<>(); // log (from index 1) after each op
    int flushedState; // crash states recover to states[flushedState..]
    HardState hardState = HardState.INITIAL;
    long firstIndex = 1;

    Model() {
      states.add(List.of());
    }

    List<Entry> current() {
      return states.get(states.size() - 1);
    }
  }

  static Outcome campaign(long seed, int statesWanted, boolean checksums) {
    Random random = new Random(seed);
    ReplicaLogConfig config = config(checksums);
    RecordingDisk disk = new RecordingDisk();
    SegmentedReplicaLog log = SegmentedReplicaLog.open(disk, config);
    Model model = new Model();
    long term = 1;
    int states = 0;
    int inconsistent = 0;
    String first = null;
    int ops = 120;
    int perPoint = Math.max(1, statesWanted / 24);
    for (int op = 0; op < ops || states < statesWanted; op++) {
      int dice = random.nextInt(100);
      List<Entry> cur = model.current();
      long last = cur.isEmpty() ? 0 : cur.get(cur.size() - 1).index();
      if (dice < 50) {
        if (random.nextInt(6) == 0) {
          term++;
        }
        List<Entry> batch = new ArrayList<>();
        for (int k = 0, n = 1 + random.nextInt(5); k < n; k++) {
          batch.add(entry(random, term, last + 1 + k));
        }
        log.append(batch);
        // one append may span several batches: any prefix of its entries is a legal crash state
        for (Entry e : batch) {
          List<Entry> next = new ArrayList<>(model.current());
          next.add(e);
          model.states.add(next);
        }
      } else if (dice < 62 && last >= model.firstIndex) {
        long from = model.firstIndex + random.nextInt((int) (last - model.firstIndex + 1));
        term++; // a new leader overwrites the suffix
        log.truncateSuffix(from);
        model.states.add(new ArrayList<>(cur.subList(0, (int) (from - 1))));
      } else if (dice < 78) {
        log.flush();
        model.flushedState = model.states.size() - 1;
      } else if (dice < 90) {
        HardState hs = new HardState(term + random.nextInt(3),
            random.nextBoolean() ? null : NodeId.of(random.nextInt(5)), random.nextInt(20));
        log.saveHardState(hs);
        model.hardState = hs;
      } else if (dice < 95 && log.lastFlushedIndex() >= model.firstIndex) {
        long through = model.firstIndex
            + random.nextInt((int) (log.lastFlushedIndex() - model.firstIndex + 1));
        log.truncatePrefix(through);
        model.firstIndex = through + 1;
      }
      assertThat(log.lastIndex()).isEqualTo(model.current().size());
      assertThat(log.firstIndex()).isEqualTo(model.firstIndex);
      boolean crashPoint = op % 5 == 4;
      for (int c = 0; crashPoint && c < perPoint && states < statesWanted; c++) {
        Map<String, byte[]> image = disk.crashImage(random);
        states++;
        String problem = check(image, config, model);
        if (problem != null) {
          inconsistent++;
          first = first == null ? "after op " + op + ": " + problem : first;
        }
      }
    }
    return new Outcome(states, inconsistent, first);
  }

  /** Null if the image recovers to an allowed state, else what is wrong. */
  static String check(Map<String, byte[]> image, ReplicaLogConfig config, Model model) {
    SegmentedReplicaLog recovered;
    try {
      recovered = SegmentedReplicaLog.open(RecordingDisk.of(image), config);
    } catch (StorageException | IllegalStateException e) {
      return "refused to open: " + e.getMessage();
    }
    if (!recovered.hardState().equals(model.hardState)) {
      return "hard state " + recovered.hardState() + ", last saved " + model.hardState;
    }
    if (recovered.firstIndex() != model.firstIndex) {
      return "first index " + recovered.firstIndex() + ", expected " + model.firstIndex;
    }
    List<Entry> got = recovered.recoveredEntries();
    for (int p = model.states.size() - 1; p >= model.flushedState; p--) {
      List<Entry> s = model.states.get(p);
      if (s.size() >= model.firstIndex - 1
          && got.equals(s.subList((int) model.firstIndex - 1, s.size()))) {
        if (p < model.states.size() - 1 && config.verifyChecksums()) {
          statesLosingWrites.incrementAndGet();
        }
        // the recovered log keeps working: append, flush, reopen
        long next = recovered.lastIndex() + 1;
        long term = Math.max(1, recovered.termAt(recovered.lastIndex()));
        Entry e = Entry.normal(term, next, Command.of(new byte[] {7}, "after".getBytes(StandardCharsets.US_ASCII)));
        recovered.append(List.of(e));
        recovered.flush();
        if (recovered.termAt(next) != term || recovered.lastFlushedIndex() != next) {
          return "recovered log does not take appends";
        }
        return null;
      }
    }
    for (int p = model.flushedState - 1; p >= 0; p--) {
      List<Entry> s = model.states.get(p);
      if (s.size() >= model.firstIndex - 1
          && got.equals(s.subList((int) model.firstIndex - 1, s.size()))) {
        return "recovered state " + p + " lost flushed state " + model.flushedState;
      }
    }
    return "recovered log (" + got.size() + " entries from " + recovered.firstIndex()
        + ") is no state of the history";
  }

  static Entry entry(Random random, long term, long index) {
    int dice = random.nextInt(10);
    if (dice == 0) {
      return Entry.noop(term, index);
    }
    byte[] data = new byte[1 + random.nextInt(dice < 3 ? 5000 : 300)];
    random.nextBytes(data);
    byte[] key = ("key" + random.nextInt(50)).getBytes(StandardCharsets.US_ASCII);
    Command c = Command.of(data, key);
    return Entry.normal(term, index, dice == 1 ? c.elide() : c);
  }
}
