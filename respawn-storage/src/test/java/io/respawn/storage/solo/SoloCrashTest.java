package io.respawn.storage.solo;

import static org.assertj.core.api.Assertions.assertThat;

import io.respawn.storage.LogEngine;
import io.respawn.storage.Mutation;
import io.respawn.storage.ScanPage;
import io.respawn.storage.StorageConfig;
import io.respawn.storage.StoredValue;
import io.respawn.storage.WriteTicket;
import io.respawn.storage.crash.RecordingVolume;
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
 * Crash-state campaign over the solo primitives (DESIGN §4, §7), modelled on
 * CrashConsistencyTest: a seeded workload writes to the serving store of a {@link
 * RecordingVolume}; rounds of super, then collapse and abort (the parent wrote) or promote (it
 * did not; the workload goes on on the child), with crash states taken after single disk
 * operations inside super, promote and abort, and between rounds. Each state is recovered the way
 * a restarted monitor or {@code respawn solo} would — {@link SoloVolume} on the image, an engine
 * on its current store — and must hold the state after some prefix of the batch history that
 * includes every DURABLE-acknowledged batch. Some rounds inject an acknowledged parent write
 * between promote's first check and its fence: promote must then refuse the child.
 *
 * <p>Broken variants must be caught: a super that does not flush the copy of the active segment
 * (a crash after the promotion loses acknowledged writes), and a promote that does not check the
 * parent again after fencing it (the injected write is lost). Scale with {@code
 * -Drespawn.solo.crash.statesPerSeed}.
 */
class SoloCrashTest {
  static final int STATES_PER_SEED = Integer.getInteger("respawn.solo.crash.statesPerSeed", 300);
  private static final AtomicLong statesChecked = new AtomicLong();
  private static final AtomicLong insidePrimitives = new AtomicLong();

  /** Small limits: segments rotate every few batches, values straddle 4 KiB blocks. */
  static StorageConfig config() {
    return StorageConfig.defaults()
        .withSizes(48 << 10, 20 << 10, 64, 6000)
        .withFlushIntervalMillis(0)
        .withCompaction(0, 0.5, 0)
        .withDiskReserveBytes(0);
  }

  record Outcome(int states, int inside, int inconsistent, String firstProblem,
      Map<ChildView.Promotion, Integer> promotions, int takeovers) {}

  @ParameterizedTest(name = "seed {0}")
  @ValueSource(longs = {1L, 2L, 3L, 4L})
  void everyCrashStateInsideSuperPromoteAndAbortRecoversToADurablePrefix(long seed)
      throws Exception {
    Outcome o = new Campaign(seed, SoloVolume.Variant.CORRECT).run(STATES_PER_SEED);
    statesChecked.addAndGet(o.states());
    insidePrimitives.addAndGet(o.inside());
    System.out.printf("solo crash campaign seed %d: %d states (%d inside primitives), %d "
        + "inconsistent, promotions %s (%d of them takeovers)%n", seed, o.states(), o.inside(),
        o.inconsistent(), o.promotions(), o.takeovers());
    assertThat(o.inconsistent()).as("seed %d: %s", seed, o.firstProblem()).isZero();
    assertThat(o.states()).isGreaterThanOrEqualTo(STATES_PER_SEED);
    assertThat(o.inside()).isGreaterThan(STATES_PER_SEED / 2);
    assertThat(o.promotions()).containsKeys(ChildView.Promotion.PROMOTED,
        ChildView.Promotion.FENCED_PARENT_WROTE);
    assertThat(o.takeovers()).isPositive();
  }

  @Test
  void aSuperThatDoesNotFlushItsCopyIsCaught() throws Exception {
    int inconsistent = 0;
    for (long seed = 1; seed <= 4; seed++) {
      inconsistent += new Campaign(seed, SoloVolume.Variant.UNFLUSHED_TAIL_COPY)
          .run(STATES_PER_SEED).inconsistent();
    }
    System.out.printf("solo crash campaign, unflushed copy: %d inconsistent%n", inconsistent);
    assertThat(inconsistent).isGreaterThan(0);
  }

  @Test
  void aPromoteThatDoesNotCheckAgainAfterTheFenceIsCaught() throws Exception {
    int inconsistent = 0;
    for (long seed = 1; seed <= 4; seed++) {
      inconsistent += new Campaign(seed, SoloVolume.Variant.NO_CHECK_AFTER_FENCE)
          .run(STATES_PER_SEED).inconsistent();
    }
    System.out.printf("solo crash campaign, no check after fence: %d inconsistent%n",
        inconsistent);
    assertThat(inconsistent).isGreaterThan(0);
  }

  @AfterAll
  static void report() {
    System.out.printf("solo crash campaign: %d states checked (%d inside super/promote/abort)%n",
        statesChecked.get(), insidePrimitives.get());
  }

  /** One seeded run. Single-threaded: the engines have no flusher or compactor thread. */
  static final class Campaign {
    final Random random;
    final SoloVolume.Variant variant;
    final RecordingVolume disk = new RecordingVolume();
    final List<Map<String, String>> models = new ArrayList<>();
    int durablePrefix;
    int states;
    int inside;
    int inconsistent;
    String firstProblem;
    final Map<ChildView.Promotion, Integer> promotions = new HashMap<>();
    int takeovers;
    int fencedWrites;
    int ackedAfterFence;
    int rounds;
    SoloVolume volume;
    LogEngine serving;
    boolean inObserver;
    String phase = "start";

    Campaign(long seed, SoloVolume.Variant variant) {
      this.random = new Random(seed);
      this.variant = variant;
      models.add(Map.of());
    }

    Outcome run(int statesWanted) throws Exception {
      volume = SoloVolume.on(disk, new Random(random.nextLong()), variant);
      serving = open(volume.state().store());
      try {
        for (int round = 0; states < statesWanted && round < 400; round++) {
          phase = "round " + round;
          write(2 + random.nextInt(6));
          crashStates(1 + random.nextInt(2), false);
          round();
        }
      } finally {
        serving.close();
      }
      System.out.printf("solo crash campaign (%s): parent writes just after a fence: %d "
          + "acknowledged on a check that still vouched, %d refused%n", variant, ackedAfterFence,
          fencedWrites);
      return new Outcome(states, inside, inconsistent, firstProblem, promotions, takeovers);
    }

    private LogEngine open(String store) throws Exception {
      return LogEngine.open(volume.disk().store(store), config(), volume.fenceFor(store));
    }

    /** One super and its end: abort after a parent write, or promote. */
    private void round() throws Exception {
      rounds++;
      ChildView child = observed("super", volume::superView);
      int dice = random.nextInt(10);
      if (takeovers == 0 && rounds == 5) {
        dice = 3; // at least one takeover per campaign
      }
      if (dice < 3) {
        write(1 + random.nextInt(2)); // the parent is alive
        assertThat(child.collapse()).isEqualTo(ChildView.Collapse.DIRTY);
        observed("abort", () -> {
          child.abort();
          return null;
        });
        return;
      }
      assertThat(child.collapse()).isEqualTo(ChildView.Collapse.CLEAN);
      if (dice == 3) {
        // A plain takeover instead (REDS): fence whatever the parent does, super, promote.
        observed("abort", () -> {
          child.abort();
          return null;
        });
        if (random.nextBoolean()) {
          write(1); // the parent is alive: the takeover fences it all the same
        }
        String store = observed("takeover", () -> volume.takeOver().getFileName().toString());
        promotions.merge(ChildView.Promotion.PROMOTED, 1, Integer::sum);
        takeovers++;
        assertThat(volume.state().store()).isEqualTo(store);
        try {
          serving.apply(randomBatch(random)).ordered().join();
          throw new AssertionError("a store written after a takeover's fence acknowledged a write");
        } catch (java.util.concurrent.CompletionException expected) {
          assertThat(expected).hasCauseInstanceOf(io.respawn.storage.FencedException.class);
        }
        serving.close();
        serving = open(store);
        return;
      }
      boolean standbyFirst = random.nextBoolean(); // recovered before or after the promotion
      LogEngine standby = standbyFirst ? open(child.name()) : null;
      boolean inject = dice >= 8;
      ChildView.Promotion result = observed("promote", () -> {
        if (!inject) {
          return child.promote();
        }
        // An acknowledged parent write between the first check and the fence: at the first
        // file promote creates (the fence record's temp file).
        // And one more just after the fence (its rename): the parent's last check, under a
        // millisecond ago, may still vouch for it (VolumeFence): then it is acknowledged after
        // the fence, and promote's check after the fence must see it; else it is refused.
        int[] step = {0};
        disk.observe(op -> {
          if (step[0] == 0 && op.equals("create")) {
            step[0] = 1;
            write(1);
          } else if (step[0] == 1 && op.equals("rename")) {
            step[0] = 2;
            writeUnlessFenced();
          }
          maybeCrashState(op);
        });
        return child.promote();
      });
      promotions.merge(result, 1, Integer::sum);
      if (result == ChildView.Promotion.PROMOTED) {
        assertThat(volume.state().store()).isEqualTo(child.name());
        serving.close(); // fenced: closing writes nothing
        serving = standby != null ? standby : open(child.name());
        return;
      }
      if (standby != null) {
        standby.close();
      }
      assertThat(inject).as("promote refused without a racing write: %s", result).isTrue();
      assertThat(result).isEqualTo(ChildView.Promotion.FENCED_PARENT_WROTE);
      // The parent is fenced and still current: a new process takes its store over.
      serving.close();
      serving = open(volume.state().store());
    }

    /** Runs a primitive with crash states taken after some of its disk operations. */
    private <T> T observed(String what, IoCall<T> call) throws Exception {
      String before = phase;
      phase = before + ", inside " + what;
      disk.observe(this::maybeCrashState);
      try {
        return call.run();
      } finally {
        disk.observe(null);
        phase = before;
      }
    }

    private void maybeCrashState(String op) {
      if (!inObserver && random.nextInt(3) != 0) {
        crashStates(1, true);
      }
    }

    /** Applies batches to the serving store, waiting on some as DURABLE. */
    private void write(int batches) {
      boolean was = inObserver;
      inObserver = true; // the engine's own disk operations are not crash points here
      try {
        for (int i = 0; i < batches; i++) {
          List<Mutation> batch = randomBatch(random);
          WriteTicket ticket = serving.apply(batch);
          models.add(replay(models.get(models.size() - 1), batch));
          if (random.nextInt(3) == 0) {
            ticket.durable().join();
            durablePrefix = models.size() - 1;
          } else {
            ticket.ordered().join();
          }
        }
      } finally {
        inObserver = was;
      }
    }

    /** One batch to a serving store that may have been fenced: in the model only if acked. */
    private void writeUnlessFenced() {
      boolean was = inObserver;
      inObserver = true;
      try {
        List<Mutation> batch = randomBatch(random);
        try {
          serving.apply(batch).durable().join();
        } catch (io.respawn.storage.FencedException | java.util.concurrent.CompletionException e) {
          fencedWrites++;
          return;
        }
        models.add(replay(models.get(models.size() - 1), batch));
        durablePrefix = models.size() - 1;
        ackedAfterFence++;
      } finally {
        inObserver = was;
      }
    }

    private void crashStates(int n, boolean insidePrimitive) {
      boolean was = inObserver;
      inObserver = true;
      try {
        for (int i = 0; i < n; i++) {
          RecordingVolume.Image image = disk.crashImage(random);
          states++;
          if (insidePrimitive) {
            inside++;
          }
          String problem = check(image, i == 0 && random.nextInt(4) == 0);
          if (problem != null) {
            inconsistent++;
            if (firstProblem == null) {
              firstProblem = phase + ": " + problem;
            }
          }
        }
      } finally {
        inObserver = was;
      }
    }

    /**
     * Recovers a crash image as a restarted process would; null if it holds an allowed prefix.
     * With {@code superAfter} also checks that a super on the recovered volume works and is clean.
     */
    String check(RecordingVolume.Image image, boolean superAfter) {
      RecordingVolume recovered = RecordingVolume.of(image);
      Map<String, String> state;
      try {
        SoloVolume v = SoloVolume.on(recovered, new Random(0));
        String store = v.state().store();
        try (LogEngine engine = LogEngine.open(recovered.store(store), config())) {
          state = readAll(engine);
        }
        if (superAfter) {
          ChildView c = v.superView();
          if (c.collapse() != ChildView.Collapse.CLEAN) {
            return "a super of the recovered volume is dirty at once";
          }
          try (LogEngine engine = LogEngine.open(recovered.store(c.name()), config())) {
            if (!readAll(engine).equals(state)) {
              return "a super of the recovered volume differs from its store";
            }
          }
        }
      } catch (Exception | AssertionError e) {
        return "refused to recover: " + e;
      }
      for (int p = models.size() - 1; p >= durablePrefix; p--) {
        if (models.get(p).equals(state)) {
          return null;
        }
      }
      for (int p = durablePrefix - 1; p >= 0; p--) {
        if (models.get(p).equals(state)) {
          return "recovered prefix " + p + " lost durable batches up to " + durablePrefix;
        }
      }
      return "recovered state (" + state.size() + " keys) is no prefix of the history";
    }
  }

  /** A call that may throw. */
  interface IoCall<T> {
    T run() throws Exception;
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

  static List<Mutation> randomBatch(Random random) {
    int size = 1 + random.nextInt(3);
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
        batch.add(Mutation.put(key, value, 0));
      }
    }
    return batch;
  }
}
