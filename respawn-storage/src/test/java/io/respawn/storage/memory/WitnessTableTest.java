package io.respawn.storage.memory;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The witness's key table against a HashMap model (forward-only timestamps, removals, forgetting
 * what is safe elsewhere), a concurrent reader that must never see a key's timestamp go back or a
 * torn (term, index), and the bytes a key costs.
 */
class WitnessTableTest {
  private static byte[] key(int i) {
    return ("w" + i).getBytes(StandardCharsets.US_ASCII);
  }

  @ParameterizedTest(name = "seed {0}")
  @ValueSource(longs = {1L, 2L})
  void agreesWithAMap(long seed) {
    Random random = new Random(seed);
    Map<Integer, WitnessTable.Timestamp> model = new HashMap<>();
    try (WitnessTable w = new WitnessTable()) {
      long index = 0;
      for (int step = 0; step < 40_000; step++) {
        int k = random.nextInt(3000);
        int op = random.nextInt(100);
        if (op < 70) {
          // Mostly newer writes; some replays of older ones, which must not move it back.
          long term = 1 + index / 5000;
          long at = random.nextInt(10) == 0 ? Math.max(1, index - random.nextInt(100)) : ++index;
          long atTerm = at == index ? term : 1 + at / 5000;
          WitnessTable.Timestamp was = model.get(k);
          boolean newer = was == null || new WitnessTable.Timestamp(atTerm, at)
              .isNewerThan(was.term(), was.index());
          assertThat(w.record(key(k), atTerm, at)).isEqualTo(newer);
          if (newer) {
            model.put(k, new WitnessTable.Timestamp(atTerm, at));
          }
        } else if (op < 95) {
          assertThat(w.remove(key(k))).isEqualTo(model.remove(k) != null);
        } else if (op == 99) {
          long upTo = index - 500;
          long expected = model.values().stream().filter(t -> t.index() <= upTo).count();
          assertThat(w.forgetUpTo(upTo)).isEqualTo(expected);
          model.values().removeIf(t -> t.index() <= upTo);
        }
        w.reclaim();
        assertThat(w.lookup(key(k))).isEqualTo(model.get(k));
        assertThat(w.size()).isEqualTo(model.size());
      }
      for (Map.Entry<Integer, WitnessTable.Timestamp> e : model.entrySet()) {
        assertThat(w.lookup(key(e.getKey()))).isEqualTo(e.getValue());
      }
      w.clear();
      w.reclaim();
      assertThat(w.size()).isZero();
      assertThat(w.lookup(key(1))).isNull();
    }
  }

  @Test
  void aConcurrentReaderSeesTimestampsOnlyMoveForwardAndWhole() throws Exception {
    int keys = 500;
    try (WitnessTable w = new WitnessTable()) {
      AtomicBoolean stop = new AtomicBoolean();
      AtomicReference<String> failure = new AtomicReference<>();
      Thread reader = new Thread(() -> {
        long[] seen = new long[keys];
        Random r = new Random(3);
        while (!stop.get() && failure.get() == null) {
          int k = r.nextInt(keys);
          WitnessTable.Timestamp t = w.lookup(key(k));
          if (t == null) {
            continue;
          }
          if (t.term() != t.index() / 1000 + 1) {
            failure.set("w" + k + " torn: " + t);
          } else if (t.index() < seen[k]) {
            failure.set("w" + k + " went back from " + seen[k] + " to " + t.index());
          }
          seen[k] = t.index();
        }
      });
      reader.start();
      for (long index = 1; index <= 600_000 && failure.get() == null; index++) {
        int k = (int) (index % keys);
        w.record(key(k), index / 1000 + 1, index);
        if (index % 100_000 == 0) { // grow and shrink under the reader
          for (int j = 0; j < 20_000; j++) {
            w.record(key(keys + j), index / 1000 + 1, index);
          }
          for (int j = 0; j < 20_000; j++) {
            w.remove(key(keys + j));
          }
        }
        w.reclaim();
      }
      stop.set(true);
      reader.join();
      assertThat(failure.get()).isNull();
    }
  }

  /**
   * Every rewrite changes both term and index (term = 3 * index + 1), so a reader that saw the
   * term of one write with the index of another, or a timestamp going back, would say so: two
   * readers hammer four keys the writer rewrites in place, through growths and shrinks of the
   * table under them.
   */
  @Test
  void readersNeverSeeATornOrBackwardTimestampWhileKeysAreRewrittenInPlace() throws Exception {
    int keys = 4;
    try (WitnessTable w = new WitnessTable()) {
      AtomicBoolean stop = new AtomicBoolean();
      AtomicReference<String> failure = new AtomicReference<>();
      java.util.concurrent.atomic.AtomicLong reads = new java.util.concurrent.atomic.AtomicLong();
      Runnable reading = () -> {
        long[] seen = new long[keys];
        Random r = new Random(Thread.currentThread().threadId());
        while (!stop.get() && failure.get() == null) {
          int k = r.nextInt(keys);
          WitnessTable.Timestamp t = w.lookup(key(k));
          if (t == null) {
            continue;
          }
          reads.incrementAndGet();
          if (t.term() != 3 * t.index() + 1) {
            failure.set("w" + k + " torn: " + t);
          } else if (t.index() < seen[k]) {
            failure.set("w" + k + " went back from " + seen[k] + " to " + t.index());
          }
          seen[k] = t.index();
        }
      };
      Thread[] readers = {new Thread(reading), new Thread(reading)};
      for (Thread t : readers) {
        t.start();
      }
      List<byte[]> batch = new ArrayList<>();
      for (long index = 1; index <= 2_000_000 && failure.get() == null; index++) {
        int k = (int) (index % keys);
        if (index % 3 == 0) {
          batch.clear();
          batch.add(key(k));
          batch.add(key((k + 1) % keys));
          assertThat(w.recordAll(batch, 3 * index + 1, index)).isEqualTo(2);
        } else {
          assertThat(w.record(key(k), 3 * index + 1, index)).isTrue();
        }
        if (index % 250_000 == 0) { // grow and shrink the table under the readers
          for (int j = 0; j < 20_000; j++) {
            w.record(key(keys + j), 3 * index + 1, index);
          }
          for (int j = 0; j < 20_000; j++) {
            w.remove(key(keys + j));
          }
        }
        w.reclaim();
      }
      stop.set(true);
      for (Thread t : readers) {
        t.join();
      }
      assertThat(failure.get()).isNull();
      assertThat(reads.get()).isPositive();
    }
  }

  /**
   * A newer write to a known key rewrites its record in place: overwriting every key takes no
   * memory, and the bytes still match the live keys after overwrites and removals (the version
   * word in the header is never read as a value length).
   */
  @Test
  void overwritingKnownKeysTakesNoMemory() {
    try (WitnessTable w = new WitnessTable()) {
      int n = 50_000;
      for (int i = 0; i < n; i++) {
        w.record(String.format("key:%012d", i).getBytes(StandardCharsets.US_ASCII), 1, i + 1);
      }
      w.reclaim();
      w.reclaim();
      long used = w.memoryUsedBytes();
      for (int round = 0; round < 3; round++) {
        for (int i = 0; i < n; i++) {
          byte[] k = String.format("key:%012d", i).getBytes(StandardCharsets.US_ASCII);
          assertThat(w.record(k, 2 + round, 1 + i)).isTrue();
          assertThat(w.record(k, 1 + round, n + i)).isFalse(); // older term: kept back
        }
        w.reclaim();
      }
      assertThat(w.memoryUsedBytes()).isEqualTo(used);
      assertThat(w.recordBytes()).isEqualTo(40L * n);
      assertThat(w.lookup("key:000000000007".getBytes(StandardCharsets.US_ASCII)))
          .isEqualTo(new WitnessTable.Timestamp(4, 8));
      for (int i = 0; i < n; i += 2) {
        assertThat(w.remove(String.format("key:%012d", i).getBytes(StandardCharsets.US_ASCII)))
            .isTrue();
      }
      w.reclaim();
      w.reclaim();
      assertThat(w.recordBytes()).isEqualTo(40L * (n / 2));
    }
  }

  /** recordAll is record for each key in turn, duplicates within one batch included. */
  @Test
  void recordAllAgreesWithRecordingEachKey() {
    Random random = new Random(7);
    try (WitnessTable all = new WitnessTable(); WitnessTable one = new WitnessTable()) {
      List<byte[]> batch = new ArrayList<>();
      for (long index = 1; index <= 3000; index++) {
        batch.clear();
        int size = random.nextInt(150); // past one prefetch group of 64 at times
        for (int j = 0; j < size; j++) {
          batch.add(key(random.nextInt(5000)));
        }
        long term = random.nextInt(10) == 0 ? 1 : 1 + index / 100; // some stale terms
        int changed = 0;
        for (byte[] k : batch) {
          if (one.record(k, term, index)) {
            changed++;
          }
        }
        assertThat(all.recordAll(batch, term, index)).isEqualTo(changed);
        all.reclaim();
        one.reclaim();
      }
      assertThat(all.size()).isEqualTo(one.size());
      for (int i = 0; i < 5000; i++) {
        assertThat(all.lookup(key(i))).isEqualTo(one.lookup(key(i)));
      }
      assertThatThrownBy(() -> all.recordAll(List.of(key(1)), 1, -1))
          .isInstanceOf(IllegalArgumentException.class);
    }
  }

  /**
   * The batch lookup a new primary makes for a BatchPull chunk gives what a lookup of each key
   * gives (the index, or NOT_HERE), over more keys than one prefetch group, and the hashes it
   * returns remove exactly their keys.
   */
  @Test
  void newestIndexesAgreeWithLookingUpEachKeyAndTheirHashesRemoveThem() {
    Random random = new Random(11);
    try (WitnessTable w = new WitnessTable()) {
      for (int i = 0; i < 3000; i += 2) { // even keys only: odd ones are not here
        w.record(key(i), 1 + random.nextInt(3), 1 + random.nextInt(100_000));
      }
      w.reclaim();
      for (int round = 0; round < 50; round++) {
        int n = 1 + random.nextInt(200);
        List<byte[]> asked = new ArrayList<>();
        for (int k = 0; k < n; k++) {
          asked.add(key(random.nextInt(3000)));
        }
        long[] hashes = new long[n + 3];
        long[] indexes = new long[n];
        w.newestIndexes(n, asked::get, hashes, indexes);
        for (int k = 0; k < n; k++) {
          WitnessTable.Timestamp t = w.lookup(asked.get(k));
          assertThat(indexes[k]).isEqualTo(t == null ? WitnessTable.NOT_HERE : t.index());
        }
      }
      List<byte[]> some = List.of(key(10), key(11), key(12));
      long[] hashes = new long[3];
      long[] indexes = new long[3];
      w.newestIndexes(3, some::get, hashes, indexes);
      assertThat(w.remove(key(10), hashes[0])).isTrue();
      assertThat(w.remove(key(11), hashes[1])).as("not here").isFalse();
      assertThat(w.lookup(key(10))).isNull();
      assertThat(w.lookup(key(12))).isNotNull();
      assertThatThrownBy(() -> w.newestIndexes(3, some::get, new long[2], new long[3]))
          .isInstanceOf(IllegalArgumentException.class);
    }
  }

  /** A 16-byte key costs a 40-byte record (8 header + 16 term and index + 16 key). */
  @Test
  void aKeyCostsItsRecordAndASlot() {
    try (WitnessTable w = new WitnessTable()) {
      int n = 100_000;
      for (int i = 0; i < n; i++) {
        w.record(String.format("key:%012d", i).getBytes(StandardCharsets.US_ASCII), 1, i + 1);
        w.reclaim(); // frees the tables that earlier growths replaced
      }
      assertThat(w.recordBytes()).isEqualTo(40L * n);
      // 100 k keys sit in 2^18 slots (load 0.38) once the growth past 3/4 of 2^17 finished.
      assertThat(w.memoryUsedBytes()).isBetween(40L * n + 8L * (1 << 18), 40L * n + 8L * (3 << 17));
    }
  }

  /**
   * Walking the keys a page at a time while some are removed (what a recovering witness does
   * between pulls) returns every key that stays exactly once, and nothing that was never known.
   */
  @Test
  void aWalkInPagesReturnsEveryKeyThatStaysExactlyOnce() {
    try (WitnessTable w = new WitnessTable()) {
      int n = 20_000;
      for (int i = 0; i < n; i++) {
        w.record(key(i), 1, i + 1);
      }
      w.reclaim();
      java.util.Set<String> seen = new java.util.HashSet<>();
      java.util.List<byte[]> page = new java.util.ArrayList<>();
      long cursor = 0;
      int pages = 0;
      do {
        page.clear();
        cursor = w.keys(cursor, 256, page);
        assertThat(page).hasSizeLessThanOrEqualTo(256 + 32); // plus the rest of one home
        for (byte[] k : page) {
          String s = new String(k, StandardCharsets.US_ASCII);
          assertThat(seen.add(s)).as("returned twice: %s", s).isTrue();
          int i = Integer.parseInt(s.substring(1));
          assertThat(i).isBetween(0, n - 1);
          if (i % 2 == 0) {
            w.remove(k); // like a pulled key: gone before the next page
          }
        }
        w.reclaim();
        pages++;
      } while (cursor != 0);
      assertThat(pages).isGreaterThanOrEqualTo(n / (256 + 32)); // pages of at most 256 + 32
      for (int i = 1; i < n; i += 2) {
        assertThat(seen).as("kept key %d", i).contains("w" + i);
      }
      assertThatThrownBy(() -> w.keys(0, 0, page)).isInstanceOf(IllegalArgumentException.class);
    }
  }

  @Test
  void badTimestampsAreRefused() {
    try (WitnessTable w = new WitnessTable()) {
      assertThatThrownBy(() -> w.record(key(1), -1, 5))
          .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("term -1");
      assertThat(w.size()).isZero();
    }
  }
}
