package io.respawn.storage.memory;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.HashSet;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Size classes, block reuse only after readers moved on, own chunks, CLEAR, and a writer that can
 * wait for its next chunk to be made in the background.
 */
class SlabAllocatorTest {

  /**
   * A bulk writer (online recovery's copy) that asks before each batch and waits while told no
   * never makes a chunk itself: once the chunk it cuts from has too little room left, it is told
   * no until the next chunk was made on the background thread, and the batch then takes that one.
   * Chunks are made ahead only when asked for here, so a writer that does not wait makes every
   * chunk itself (the control).
   */
  @Test
  void aWriterThatWaitsWhenToldNoTakesEveryChunkReadyMade() throws Exception {
    assertThat(chunksMadeInlineWriting(20 << 20, false)).as("the control").isEqualTo(5);
    assertThat(chunksMadeInlineWriting(20 << 20, true)).isZero();
  }

  /** Chunks made on the writer's thread for {@code bytes} of E2's records past the growth. */
  private long chunksMadeInlineWriting(long bytes, boolean waitWhenToldNo) throws Exception {
    int record = 528; // E2's 16-byte keys and 496-byte values with their header, as a class
    long batchBytes = 256 << 10; // a BatchPull chunk's worth
    try (SlabAllocator memory = new SlabAllocator(new Epochs(), this, 0)) {
      for (long cut = 0; cut < (12L << 20); cut += record) {
        memory.allocate(record); // past the chunks' growth: 4 MiB each from here, and a fresh one
      }
      long inlineBefore = memory.chunksMadeInline();
      for (long written = 0; written < bytes; written += batchBytes) {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (waitWhenToldNo && !memory.canCutWithoutZeroing(batchBytes)) {
          assertThat(System.nanoTime()).as("the next chunk made within 10 s").isLessThan(deadline);
          Thread.sleep(1);
        }
        for (long cut = 0; cut < batchBytes; cut += record) {
          memory.allocate(record);
        }
      }
      return memory.chunksMadeInline() - inlineBefore;
    }
  }

  @Test
  void everySizeGetsTheSmallestClassThatHoldsItWithLittleWaste() {
    int previous = -1;
    for (int size = 1; size <= SlabAllocator.SMALL_BYTES_MAX; size++) {
      int c = SlabAllocator.classOf(size);
      int bytes = SlabAllocator.classBytes(c);
      assertThat(bytes).as("class of %d", size).isGreaterThanOrEqualTo(size);
      assertThat(bytes % 8).isZero();
      if (c > 0) {
        assertThat(SlabAllocator.classBytes(c - 1)).as("a smaller class holds %d", size).isLessThan(size);
      }
      assertThat(bytes - size).as("waste at %d", size).isLessThanOrEqualTo(Math.max(15, size / 16));
      assertThat(c).isGreaterThanOrEqualTo(previous);
      previous = c;
    }
    assertThat(previous).isEqualTo(SlabAllocator.CLASSES - 1);
    assertThat(SlabAllocator.classBytes(SlabAllocator.CLASSES - 1)).isEqualTo(SlabAllocator.SMALL_BYTES_MAX);
    // The sizes the benchmarks store: a 16-byte key with 100- and 496-byte values.
    assertThat(SlabAllocator.blockBytes(136)).isEqualTo(136);
    assertThat(SlabAllocator.blockBytes(532)).isEqualTo(544);
  }

  @Test
  void blocksDoNotOverlapAndAreReusedOnlyAfterTheEpochAdvancedTwice() {
    Epochs epochs = new Epochs();
    try (SlabAllocator memory = new SlabAllocator(epochs, this)) {
      Random random = new Random(3);
      Set<Long> live = new HashSet<>();
      long[] refs = new long[2000];
      int[] sizes = new int[refs.length];
      for (int i = 0; i < refs.length; i++) {
        sizes[i] = 1 + random.nextInt(3000);
        refs[i] = memory.allocate(sizes[i]);
        assertThat(live.add(refs[i])).isTrue();
        fill(memory, refs[i], sizes[i], (byte) i);
      }
      for (int i = 0; i < refs.length; i++) { // nobody wrote over anybody
        check(memory, refs[i], sizes[i], (byte) i);
      }
      assertThat(memory.liveBytes()).isEqualTo(sumOfBlocks(sizes));
      int token = epochs.enter(); // a reader inside holds back reuse
      memory.retire(refs[0], sizes[0]);
      for (int i = 0; i < 10; i++) {
        memory.reclaim();
      }
      for (int i = 0; i < 50; i++) {
        long r = memory.allocate(sizes[0]);
        assertThat(r).as("reused while a reader is inside").isNotEqualTo(refs[0]);
        live.add(r);
      }
      check(memory, refs[0], sizes[0], (byte) 0);
      epochs.exit(token);
      assertThat(memory.reclaim()).isTrue();
      assertThat(memory.retiredBlocks()).isZero();
      assertThat(memory.allocate(sizes[0])).as("reused once the reader left").isEqualTo(refs[0]);
    }
  }

  @Test
  void aBlockLargerThanASlabHasItsOwnChunkGivenBackWhenFreed() {
    Epochs epochs = new Epochs();
    try (SlabAllocator memory = new SlabAllocator(epochs, this)) {
      long before = memory.reservedBytes();
      int size = SlabAllocator.SMALL_BYTES_MAX + 1;
      long ref = memory.allocate(size);
      assertThat(SlabAllocator.offset(ref)).isZero();
      fill(memory, ref, size, (byte) 7);
      check(memory, ref, size, (byte) 7);
      assertThat(memory.reservedBytes()).isEqualTo(before + SlabAllocator.blockBytes(size));
      memory.retire(ref, size);
      memory.reclaim();
      assertThat(memory.reservedBytes()).isEqualTo(before);
      assertThat(memory.usedBytes()).isZero();
    }
  }

  @Test
  void retireAllGivesEveryChunkBackOnceReadersLeftEvenWhenRepeated() {
    Epochs epochs = new Epochs();
    try (SlabAllocator memory = new SlabAllocator(epochs, this)) {
      for (int i = 0; i < 10_000; i++) {
        memory.allocate(100 + i % 500);
      }
      memory.allocate(1 << 20);
      assertThat(memory.reservedBytes()).isGreaterThan(3 << 20);
      int token = epochs.enter();
      memory.retireAll();
      memory.retireAll(); // nothing new: must not free the same chunks twice
      memory.reclaim();
      memory.reclaim();
      assertThat(memory.reservedBytes()).as("freed under a reader").isGreaterThan(3 << 20);
      long fresh = memory.allocate(64);
      fill(memory, fresh, 64, (byte) 1);
      epochs.exit(token);
      memory.reclaim();
      assertThat(memory.reservedBytes()).isLessThanOrEqualTo(SlabAllocator.CHUNK_BYTES_MIN);
      check(memory, fresh, 64, (byte) 1);
      assertThat(memory.usedBytes()).isEqualTo(64);
    }
  }

  private static long sumOfBlocks(int[] sizes) {
    long sum = 0;
    for (int s : sizes) {
      sum += SlabAllocator.blockBytes(s);
    }
    return sum;
  }

  private static void fill(SlabAllocator m, long ref, int size, byte b) {
    m.chunk(ref).asSlice(SlabAllocator.offset(ref), size).fill(b);
  }

  private static void check(SlabAllocator m, long ref, int size, byte b) {
    MemorySegment s = m.chunk(ref).asSlice(SlabAllocator.offset(ref), size);
    for (long i = 0; i < size; i++) {
      if (s.get(ValueLayout.JAVA_BYTE, i) != b) {
        throw new AssertionError("byte " + i + " of block " + ref + " changed");
      }
    }
  }
}
