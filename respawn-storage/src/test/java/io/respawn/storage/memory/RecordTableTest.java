package io.respawn.storage.memory;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * The table's memory rule: a reader between enter and exit never sees memory freed or reused,
 * shown by a reader that checks every value it copies while a writer replaces values as fast as
 * it can; the same reader without enter/exit sees reused memory (so the check can fail).
 */
class RecordTableTest {
  private static final int KEYS = 8;

  private static byte[] key(int k) {
    return ("key" + k).getBytes(StandardCharsets.US_ASCII);
  }

  /** Version v of key k: v * KEYS + k, repeated, in a size that varies with v. */
  private static long put(RecordTable t, int k, long v) {
    long version = v * KEYS + k;
    int words = 1 + (int) (v % 7) * 5;
    byte[] key = key(k);
    long ref = t.newRecord(0, key, words * 8);
    MemorySegment c = t.memory().chunk(ref);
    long off = SlabAllocator.offset(ref);
    long value = t.valueOffset(c, off);
    for (int i = 0; i < words; i++) {
      c.set(RecordTable.LONG, value + 8L * i, version);
    }
    return t.put(t.hash(key), ref);
  }

  /** Copies key k's value; returns null if it is intact and belongs to k, else what is wrong. */
  private static String readAndCheck(RecordTable t, int k, boolean protect) {
    int token = protect ? t.enter() : -1;
    try {
      long ref = t.find(t.hash(key(k)), key(k));
      if (ref == 0) {
        return "k" + k + " missing";
      }
      MemorySegment c = t.memory().chunk(ref);
      long off = SlabAllocator.offset(ref);
      int length = RecordTable.valueLength(c, off);
      if (length <= 0 || length > 31 * 8 || length % 8 != 0) {
        return "k" + k + ": value length " + length;
      }
      byte[] copy = new byte[length];
      MemorySegment.copy(c, ValueLayout.JAVA_BYTE, t.valueOffset(c, off), copy, 0, length);
      ByteBuffer b = ByteBuffer.wrap(copy).order(java.nio.ByteOrder.LITTLE_ENDIAN);
      long version = b.getLong();
      if (version % KEYS != k) {
        return "k" + k + " read a value of k" + (version % KEYS);
      }
      if (copy.length != 8 * (1 + (int) ((version / KEYS) % 7) * 5)) {
        return "k" + k + ": version " + version + " in " + copy.length + " bytes";
      }
      while (b.hasRemaining()) {
        if (b.getLong() != version) {
          return "k" + k + ": version " + version + " torn";
        }
      }
      return null;
    } catch (RuntimeException e) { // e.g. a freed chunk: only possible unprotected
      return "k" + k + ": " + e;
    } finally {
      if (protect) {
        t.exit(token);
      }
    }
  }

  /** Runs a writer replacing values and a checking reader for up to {@code millis}. */
  private static long[] race(boolean protect, long millis, long stopAfterBad) throws Exception {
    try (RecordTable t = new RecordTable(0)) {
      for (int k = 0; k < KEYS; k++) {
        put(t, k, 0);
      }
      AtomicBoolean stop = new AtomicBoolean();
      AtomicLong reads = new AtomicLong();
      AtomicLong bad = new AtomicLong();
      AtomicLong firstBad = new AtomicLong();
      Thread reader = new Thread(() -> {
        Random r = new Random(1);
        while (!stop.get()) {
          String problem = readAndCheck(t, r.nextInt(KEYS), protect);
          reads.incrementAndGet();
          if (problem != null) {
            if (bad.incrementAndGet() == 1) {
              System.out.println((protect ? "protected" : "unprotected") + " reader: " + problem);
              firstBad.set(reads.get());
            }
            if (bad.get() >= stopAfterBad) {
              stop.set(true);
            }
          }
        }
      });
      reader.start();
      long deadline = System.nanoTime() + millis * 1_000_000;
      long writes = 0;
      for (long v = 1; !stop.get() && System.nanoTime() < deadline; v++) {
        for (int k = 0; k < KEYS; k++) {
          put(t, k, v);
          t.reclaim();
          writes++;
        }
      }
      stop.set(true);
      reader.join();
      System.out.println((protect ? "protected" : "unprotected") + ": " + writes + " writes, "
          + reads.get() + " reads, " + bad.get() + " bad");
      return new long[] {writes, reads.get(), bad.get()};
    }
  }

  @Test
  void aReaderInsideNeverSeesReusedMemory() throws Exception {
    long[] r = race(true, 3_000, 1);
    assertThat(r[1]).as("reads").isGreaterThan(1000);
    assertThat(r[2]).as("bad reads").isZero();
  }

  @Test
  void aReaderOutsideSeesReusedMemorySoTheCheckCanFail() throws Exception {
    long[] r = race(false, 20_000, 1);
    assertThat(r[2]).as("bad reads without enter/exit").isPositive();
  }

  @Test
  void theHashOfAKeyInMemoryEqualsTheHashOfItsBytes() {
    Random random = new Random(4);
    try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
      MemorySegment s = arena.allocate(200);
      for (int n = 0; n < 100; n++) {
        byte[] k = new byte[n];
        random.nextBytes(k);
        int at = random.nextInt(50);
        MemorySegment.copy(k, 0, s, ValueLayout.JAVA_BYTE, at, n);
        assertThat(RecordTable.hash64(s, at, n, 0)).isEqualTo(RecordTable.hash64(k)).isNotZero();
        try (RecordTable t = new RecordTable(0, false, 42)) {
          assertThat(RecordTable.hash64(s, at, n, 42)).isEqualTo(t.hash(k)).isNotZero();
        }
      }
    }
  }

  /**
   * A table filling in another table's hash order (a snapshot image, a compacted segment: both
   * are written by walking a table) must not pile the keys into one probe run: it does when the
   * two tables hash alike (the same seed), which is why every table draws its own.
   */
  @Test
  void aTableFillingInAnotherTablesHashOrderKeepsItsProbesShort() {
    int keys = 20_000;
    java.util.List<byte[]> inOrder = new java.util.ArrayList<>();
    try (RecordTable source = new RecordTable(0, false, 1)) {
      for (int k = 0; k < keys; k++) {
        byte[] key = ("user:" + k).getBytes(StandardCharsets.US_ASCII);
        source.put(source.hash(key), source.newRecord(0, key, 0));
      }
      long cursor = 0;
      do {
        cursor = source.scan(cursor, 1000, (chunk, record, ref) -> {
          inOrder.add(source.copyKey(ref));
          return true;
        });
      } while (cursor != 0);
    }
    assertThat(inOrder).hasSize(keys);
    try (RecordTable sameSeed = new RecordTable(0, false, 1);
        RecordTable ownSeed = new RecordTable(0, false, 2); // fixed: a bound on chance needs one
        RecordTable another = new RecordTable(0, false);
        RecordTable yetAnother = new RecordTable(0, false)) {
      int sameSeedRun = 0;
      int ownSeedRun = 0;
      for (int k = 0; k < inOrder.size(); k++) {
        byte[] key = inOrder.get(k);
        sameSeed.put(sameSeed.hash(key), sameSeed.newRecord(0, key, 0));
        ownSeed.put(ownSeed.hash(key), ownSeed.newRecord(0, key, 0));
        if (k % 500 == 499) { // the pile-up is at its worst before the table has grown
          sameSeedRun = Math.max(sameSeedRun, sameSeed.longestRun());
          ownSeedRun = Math.max(ownSeedRun, ownSeed.longestRun());
        }
      }
      assertThat(sameSeedRun).as("same seed: one run").isGreaterThan(keys / 10);
      assertThat(ownSeedRun).as("own seed").isLessThan(200);
      assertThat(another.hash(inOrder.get(0))).as("tables made alike draw their own seeds")
          .isNotEqualTo(yetAnother.hash(inOrder.get(0)));
      for (byte[] key : inOrder) {
        assertThat(ownSeed.find(ownSeed.hash(key), key)).isNotZero();
      }
    }
  }

  /** Old tables and markers are freed once their migration ends and readers moved on. */
  /** Writes and removes a spare key until the table's migration, if one runs, has ended. */
  private static void finishMigration(RecordTable t) {
    while (t.migrating()) {
      byte[] key = "spare".getBytes(StandardCharsets.US_ASCII);
      t.put(t.hash(key), t.newRecord(0, key, 0));
      t.remove(t.hash(key), key);
      t.reclaim();
    }
  }

  @Test
  void memoryOfFinishedMigrationsIsGivenBack() {
    try (RecordTable t = new RecordTable(0)) {
      for (int i = 0; i < 50_000; i++) {
        byte[] key = ("k" + i).getBytes(StandardCharsets.US_ASCII);
        t.put(t.hash(key), t.newRecord(0, key, 0));
        if (i % 3 == 0 && t.migrating()) { // removals during migrations leave markers
          byte[] gone = ("k" + (i / 2)).getBytes(StandardCharsets.US_ASCII);
          t.remove(t.hash(gone), gone);
        }
        t.reclaim();
      }
      finishMigration(t);
      t.reclaim();
      long keys = t.size();
      assertThat(t.tableBytes()).as("one table").isEqualTo(8L * Long.highestOneBit(t.tableBytes() / 8));
      assertThat(keys * 2).isLessThanOrEqualTo(t.tableBytes() / 8 * 3 / 2);
      // Records: 8-byte header + "k" + digits, classes of 16 or 24 bytes; no markers left.
      assertThat(t.memory().liveBytes()).isBetween(keys * 16, keys * 24);
    }
  }

  /**
   * A table of {@value RecordTable#PREPARE_CAPACITY_MIN} slots that is half used has its
   * successor made ahead, and the rebuild at 3/4 takes it instead of zeroing one on the writer's
   * thread; smaller tables never ask. Every key stays readable across the rebuild.
   */
  /**
   * Emptying a large table: the smaller one it shrinks into is made ahead too, also after the
   * table had asked for its larger successor (more than half used, as a witness's table of
   * unknown keys is when a recovery starts).
   */
  @Test
  void aLargeTableEmptyingHasItsSmallerSuccessorMadeAhead() throws InterruptedException {
    int keys = 70_000; // 2^17 slots (twice the size that asks ahead), over half used
    try (RecordTable t = new RecordTable(0)) {
      for (int k = 0; k < keys; k++) {
        byte[] key = ("k" + k).getBytes(StandardCharsets.US_ASCII);
        t.put(t.hash(key), t.newRecord(0, key, 0));
        t.reclaim();
      }
      assertThat(t.migrating()).isFalse();
      assertThat(t.tableBytes()).isEqualTo(8L << 17);
      long madeAhead = t.tablesMadeAhead();
      int k = 0;
      for (; keys - k >= (1 << 17) / 12; k++) {
        byte[] key = ("k" + k).getBytes(StandardCharsets.US_ASCII);
        t.remove(t.hash(key), key);
        t.reclaim();
      }
      int smaller = 1 << 14; // the table for the keys left at the shrink (8,191) at 1/2 load
      long deadline = System.nanoTime() + 10_000_000_000L;
      while (!t.nextTableReady(smaller) && System.nanoTime() < deadline) {
        Thread.sleep(1); // the larger successor asked for earlier may still wait: not this one
      }
      assertThat(t.nextTableReady(smaller)).as("the smaller successor was made ahead").isTrue();
      for (; keys - k >= (1 << 17) / 16; k++) {
        byte[] key = ("k" + k).getBytes(StandardCharsets.US_ASCII);
        t.remove(t.hash(key), key);
        t.reclaim();
      }
      assertThat(t.migrating()).as("shrinking").isTrue();
      assertThat(t.tablesMadeAhead()).isEqualTo(madeAhead + 1);
      for (int i = k; i < keys; i++) {
        byte[] key = ("k" + i).getBytes(StandardCharsets.US_ASCII);
        assertThat(t.find(t.hash(key), key)).as("k" + i).isNotZero();
      }
    }
  }

  /**
   * A table told how many keys are coming grows once, into a table made ahead, to the size that
   * holds them at 1/2, instead of doubling its way there; it does not shrink below that while the
   * expectation holds, and shrinks again once it is withdrawn.
   */
  @Test
  void aTableExpectingKeysGrowsOnceAndDoesNotShrinkBelowThem() throws InterruptedException {
    int keys = 100_000;
    int capacity = 1 << 18; // 100,000 keys at a load of at most 1/2
    try (RecordTable t = new RecordTable(0)) {
      for (int k = 0; k < 10; k++) {
        byte[] key = ("k" + k).getBytes(StandardCharsets.US_ASCII);
        t.put(t.hash(key), t.newRecord(0, key, 0));
      }
      t.expect(keys);
      t.expect(keys / 2); // a smaller expectation changes nothing
      long deadline = System.nanoTime() + 10_000_000_000L;
      while (!t.nextTableReady(capacity) && System.nanoTime() < deadline) {
        Thread.sleep(1);
      }
      assertThat(t.nextTableReady(capacity)).as("the expected table was made ahead").isTrue();
      java.util.Set<Long> sizes = new java.util.TreeSet<>();
      for (int k = 10; k < keys; k++) {
        byte[] key = ("k" + k).getBytes(StandardCharsets.US_ASCII);
        t.put(t.hash(key), t.newRecord(0, key, 0));
        t.reclaim();
        if (!t.migrating()) {
          sizes.add(t.tableBytes());
        }
      }
      assertThat(sizes).as("one table from the 11th key on").containsExactly(8L * capacity);
      assertThat(t.tablesMadeAhead()).isEqualTo(1);
      int k = 0;
      for (; k < keys - 100; k++) { // far below 1/16 of the table
        byte[] key = ("k" + k).getBytes(StandardCharsets.US_ASCII);
        t.remove(t.hash(key), key);
        t.reclaim();
      }
      assertThat(t.migrating()).isFalse();
      assertThat(t.tableBytes()).as("no shrink while expecting").isEqualTo(8L * capacity);
      t.expect(0);
      byte[] key = ("k" + k).getBytes(StandardCharsets.US_ASCII);
      t.remove(t.hash(key), key);
      assertThat(t.migrating()).as("shrinking once the expectation is withdrawn").isTrue();
      for (int i = k + 1; i < keys; i++) {
        byte[] left = ("k" + i).getBytes(StandardCharsets.US_ASCII);
        assertThat(t.find(t.hash(left), left)).as("k" + i).isNotZero();
      }
      assertThatThrownBy(() -> t.expect(-1)).isInstanceOf(IllegalArgumentException.class);
    }
  }

  /**
   * A table whose size is held does not shrink however many keys leave (no migration, so no
   * marker per removal); released with keys left it shrinks with the next removal, released
   * empty it is cleared at once.
   */
  @Test
  void aHeldTableDoesNotShrinkAndIsClearedWhenReleasedEmpty() {
    try (RecordTable t = new RecordTable(0)) {
      int keys = 20_000;
      for (int k = 0; k < keys; k++) {
        byte[] key = ("k" + k).getBytes(StandardCharsets.US_ASCII);
        t.put(t.hash(key), t.newRecord(0, key, 0));
        t.reclaim();
      }
      finishMigration(t); // the last growth's migration ends with a few more writes
      long full = t.tableBytes();
      t.holdSize(true);
      int k = 0;
      for (; k < keys - 10; k++) {
        byte[] key = ("k" + k).getBytes(StandardCharsets.US_ASCII);
        t.remove(t.hash(key), key);
        t.reclaim();
        assertThat(t.migrating()).as("after %d removals", k + 1).isFalse();
      }
      assertThat(t.tableBytes()).isEqualTo(full);
      t.holdSize(false);
      assertThat(t.tableBytes()).as("keys left: not cleared").isEqualTo(full);
      byte[] next = ("k" + k++).getBytes(StandardCharsets.US_ASCII);
      t.remove(t.hash(next), next);
      assertThat(t.migrating()).as("shrinking as usual once released").isTrue();
      for (int i = k; i < keys; i++) {
        byte[] left = ("k" + i).getBytes(StandardCharsets.US_ASCII);
        assertThat(t.find(t.hash(left), left)).as("k" + i).isNotZero();
      }
      t.holdSize(true);
      for (int i = k; i < keys; i++) {
        byte[] key = ("k" + i).getBytes(StandardCharsets.US_ASCII);
        t.remove(t.hash(key), key);
        t.reclaim();
      }
      finishMigration(t);
      assertThat(t.size()).isZero();
      t.holdSize(false);
      for (int i = 0; i < 3; i++) {
        t.reclaim(); // the old table is freed once no reader can see it
      }
      assertThat(t.tableBytes()).as("released empty: cleared")
          .isEqualTo(8L * RecordTable.CAPACITY_MIN);
    }
  }

  @Test
  void aHalfUsedLargeTableHasItsSuccessorMadeAhead() throws InterruptedException {
    int capacity = RecordTable.PREPARE_CAPACITY_MIN;
    try (RecordTable t = new RecordTable(0)) {
      int k = 0;
      for (; k <= capacity / 2; k++) { // the table reached `capacity` at 3/8 of it
        byte[] key = ("k" + k).getBytes(StandardCharsets.US_ASCII);
        t.put(t.hash(key), t.newRecord(0, key, 0));
        t.reclaim();
      }
      assertThat(t.tablesMadeAhead()).as("smaller tables are zeroed inline").isZero();
      long deadline = System.nanoTime() + 10_000_000_000L;
      while (!t.nextTableReady() && System.nanoTime() < deadline) {
        Thread.sleep(1);
      }
      assertThat(t.nextTableReady()).as("the successor was made ahead").isTrue();
      assertThat(t.tableBytes()).isEqualTo(8L * capacity);
      for (; k <= capacity * 3 / 4; k++) {
        byte[] key = ("k" + k).getBytes(StandardCharsets.US_ASCII);
        t.put(t.hash(key), t.newRecord(0, key, 0));
        t.reclaim();
      }
      assertThat(t.migrating()).isTrue();
      assertThat(t.tablesMadeAhead()).isEqualTo(1);
      assertThat(t.tableBytes()).as("both tables during the migration")
          .isEqualTo(8L * capacity + 16L * capacity);
      for (int i = 0; i < k; i++) {
        byte[] key = ("k" + i).getBytes(StandardCharsets.US_ASCII);
        assertThat(t.find(t.hash(key), key)).as("k" + i).isNotZero();
      }
    }
  }

  /**
   * Mass deletes shrink the table, and nearly every removal during that migration leaves a
   * marker; when the migration ends they are worked off a few per write, not at once, and
   * meanwhile every removed key reads absent and every other one present. Once worked off no
   * marker is left.
   */
  @Test
  void whatAShrinkingMigrationLeftIsWorkedOffAFewPerWrite() {
    int keys = 100_000;
    try (RecordTable t = new RecordTable(0)) {
      for (int i = 0; i < keys; i++) {
        byte[] key = ("k" + i).getBytes(StandardCharsets.US_ASCII);
        t.put(t.hash(key), t.newRecord(0, key, 0));
        t.reclaim();
      }
      while (t.migrating()) {
        byte[] key = "spare".getBytes(StandardCharsets.US_ASCII);
        t.put(t.hash(key), t.newRecord(0, key, 0));
        t.remove(t.hash(key), key);
      }
      int removed = 0;
      boolean shrank = false;
      while (!shrank) { // remove until a shrink migration started and ended
        byte[] key = ("k" + removed++).getBytes(StandardCharsets.US_ASCII);
        boolean was = t.migrating();
        t.remove(t.hash(key), key);
        t.reclaim();
        shrank = was && !t.migrating();
      }
      assertThat(t.cleaning()).as("markers left to work off").isTrue();
      for (int i = 0; i < keys; i++) {
        byte[] key = ("k" + i).getBytes(StandardCharsets.US_ASCII);
        assertThat(t.find(t.hash(key), key) != 0).as("k" + i).isEqualTo(i >= removed);
      }
      int writes = 0;
      for (int i = removed; t.cleaning(); i++) {
        byte[] key = ("k" + i).getBytes(StandardCharsets.US_ASCII);
        t.put(t.hash(key), t.newRecord(0, key, 0)); // overwrites: same size
        t.reclaim();
        writes++;
      }
      assertThat(writes).as("worked off over many writes").isGreaterThan(10);
      t.reclaim();
      t.reclaim();
      long live = t.size();
      assertThat(live).isEqualTo(keys - removed);
      // Records: 8-byte header + "k" + digits, classes of 16 or 24 bytes; no markers left.
      assertThat(t.memory().liveBytes()).isBetween(live * 16, live * 24);
    }
  }

  @Test
  void aClosedTableRefusesReaders() {
    RecordTable t = new RecordTable(0);
    byte[] key = {1};
    t.put(t.hash(key), t.newRecord(0, key, 0));
    t.close();
    assertThatThrownBy(t::enter).isInstanceOf(IllegalStateException.class);
    assertThat(t.reservedBytes()).isZero();
  }

  /**
   * A keys-only table refuses values and never reads the header's valueLen bytes (the owner's):
   * a record whose owner filled them with anything is still retired at its own size.
   */
  @Test
  void aKeysOnlyTableLeavesTheValueLengthBytesToItsOwner() {
    try (RecordTable t = new RecordTable(8, true)) {
      byte[] key = "k1".getBytes(StandardCharsets.US_ASCII);
      assertThatThrownBy(() -> t.newRecord(0, key, 5))
          .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("no value");
      long hash = t.hash(key);
      long ref = t.newRecord(0, key, 0);
      long live = t.memory().liveBytes();
      t.memory().chunk(ref).set(ValueLayout.JAVA_INT, SlabAllocator.offset(ref) + 4, 0x7FFF_FFFF);
      t.put(hash, ref);
      assertThat(t.remove(hash, key)).isEqualTo(ref);
      t.reclaim();
      t.reclaim();
      assertThat(t.memory().liveBytes()).isEqualTo(live - SlabAllocator.blockBytes(8 + 8 + 2));
      assertThat(t.memory().usedBytes()).isEqualTo(t.memory().liveBytes());
    }
  }
}
