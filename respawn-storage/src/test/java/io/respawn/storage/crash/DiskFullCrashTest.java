package io.respawn.storage.crash;

import static org.assertj.core.api.Assertions.assertThat;

import io.respawn.storage.DiskFullException;
import io.respawn.storage.LogEngine;
import io.respawn.storage.Mutation;
import io.respawn.storage.StorageConfig;
import io.respawn.storage.WriteTicket;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The crash-state campaign of {@link CrashConsistencyTest} on a disk that keeps filling up
 * ({@link SpaceLimitedDisk}): writes fail half-written, the engine goes deletes-only, deletes,
 * clears and compactions run on the full disk, space is freed and writes resume. Every crash
 * state along the way must recover to a prefix of the acknowledged batches that holds every
 * DURABLE one; a batch whose write failed must never come back.
 */
class DiskFullCrashTest {

  @ParameterizedTest(name = "seed {0}")
  @ValueSource(longs = {31L, 32L, 33L})
  void crashStatesOnAFillingDiskRecoverToADurablePrefix(long seed) throws Exception {
    Random random = new Random(seed);
    StorageConfig config = CrashConsistencyTest.config(true);
    RecordingDisk recording = new RecordingDisk();
    SpaceLimitedDisk disk = new SpaceLimitedDisk(recording, 160 << 10);
    List<Map<String, String>> models = new ArrayList<>();
    models.add(Map.of());
    int durablePrefix = 0;
    int states = 0;
    int inconsistent = 0;
    int refused = 0;
    int fullEpisodes = 0;
    String firstProblem = null;
    try (LogEngine engine = LogEngine.open(disk, config)) {
      for (int step = 0; step < 400; step++) {
        boolean full = engine.putRefusal() != null;
        List<Mutation> batch;
        if (full && random.nextInt(3) == 0) {
          batch = List.of(random.nextInt(8) == 0 ? Mutation.clear()
              : Mutation.delete(("key" + random.nextInt(16)).getBytes()));
        } else {
          batch = CrashConsistencyTest.randomBatch(random);
        }
        WriteTicket ticket;
        try {
          ticket = engine.apply(batch);
        } catch (DiskFullException e) {
          refused++;
          if (random.nextInt(6) == 0) {
            disk.capacity(disk.capacity() + (64 << 10)); // someone frees space
          }
          continue;
        }
        ticket.ordered().handle((v, e) -> null).join();
        if (ticket.ordered().isCompletedExceptionally()) {
          fullEpisodes++; // the write that found the disk full: it never happened
        } else {
          models.add(CrashConsistencyTest.replay(models.get(models.size() - 1), batch));
          if (random.nextInt(4) == 0) {
            if (ticket.durable().handle((v, e) -> e == null).join()) {
              durablePrefix = models.size() - 1;
            }
          }
        }
        if (random.nextInt(40) == 0) {
          try {
            engine.compact();
          } catch (Exception e) {
            // no room for the copy: the old segments stay
          }
        }
        if (step % 4 == 3) {
          Map<String, byte[]> image = recording.crashImage(random);
          states++;
          String problem = CrashConsistencyTest.check(image, config, models, durablePrefix);
          if (problem != null) {
            inconsistent++;
            firstProblem = firstProblem == null ? "step " + step + ": " + problem : firstProblem;
          }
        }
      }
    }
    System.out.printf("disk-full crash campaign seed %d: %d states, %d full episodes, %d refused "
        + "writes, %d inconsistent%n", seed, states, fullEpisodes, refused, inconsistent);
    assertThat(fullEpisodes).as("the disk filled").isGreaterThan(0);
    assertThat(refused).as("values were refused while full").isGreaterThan(0);
    assertThat(inconsistent).as("seed %d: %s", seed, firstProblem).isZero();
  }
}
