package io.respawn.storage.memory;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;

/**
 * Blocks made ahead on the background thread: taken by the next request of their size, zeroed
 * like any other, never for a one-off size, and closed with the owner's blocks.
 */
class NativeArenasTest {
  private static final long SIZE = 64 << 10;
  /**
   * The arenas' owner, reachable for the whole test: an owner the collector finds unreachable has
   * its blocks closed by the cleaner, under the test (a CI run read a closed block once).
   */
  private final Object owner = new Object();

  private static void awaitReady(NativeArenas arenas) throws InterruptedException {
    long deadline = System.nanoTime() + 10_000_000_000L;
    while (!arenas.aheadReady() && System.nanoTime() < deadline) {
      Thread.sleep(1);
    }
    assertThat(arenas.aheadReady()).as("a block made ahead within 10 s").isTrue();
  }

  private static void assertZeroed(MemorySegment block) {
    for (long i = 0; i < block.byteSize(); i += 8) {
      assertThat(block.get(ValueLayout.JAVA_LONG_UNALIGNED, i)).as("byte %d", i).isZero();
    }
  }

  /**
   * A block the background thread cannot make (no memory for it) is reported as refused, so a
   * writer that waits for it (SlabAllocator#canCutWithoutZeroing) goes on and meets the error
   * itself instead of waiting for ever. Asks for 1 TiB, which the kernel refuses outright under
   * its default overcommit heuristic (mode 0) or strict accounting (2); skipped under mode 1,
   * where the mapping would succeed and faulting it in would exhaust the machine.
   */
  @Test
  void aBlockThatCannotBeMadeAheadIsReportedRefused() throws Exception {
    java.nio.file.Path mode = java.nio.file.Path.of("/proc/sys/vm/overcommit_memory");
    org.junit.jupiter.api.Assumptions.assumeTrue(AnonymousMemory.available()
        && java.nio.file.Files.exists(mode)
        && !java.nio.file.Files.readString(mode).strip().equals("1"));
    NativeArenas arenas = new NativeArenas(owner, 0);
    long huge = 1L << 40;
    arenas.prepare(huge);
    long deadline = System.nanoTime() + 10_000_000_000L;
    while (!arenas.refused(huge) && System.nanoTime() < deadline) {
      Thread.sleep(1);
    }
    assertThat(arenas.refused(huge)).as("refused within 10 s").isTrue();
    assertThat(arenas.aheadReady()).isFalse();
    assertThat(arenas.refused(SIZE)).as("another size is not").isFalse();
    arenas.closeAll();
  }

  /**
   * A block asked for while another is still being made is made after it, not dropped: a large
   * record table that asked for its larger successor while filling, then emptied before that was
   * made, must still get the smaller table its shrink takes (RecordTableTest waited for it in
   * vain on a slow machine).
   */
  @Test
  void aBlockAskedForWhileAnotherIsBeingMadeIsMadeAfterIt() throws Exception {
    NativeArenas arenas = new NativeArenas(owner, 0);
    long large = 256L << 20; // zeroing it takes tens of milliseconds
    arenas.prepare(large);
    arenas.prepare(SIZE); // almost surely while the large one is being made
    long deadline = System.nanoTime() + 10_000_000_000L;
    while (!arenas.readyFor(SIZE) && System.nanoTime() < deadline) {
      Thread.sleep(1);
    }
    assertThat(arenas.readyFor(SIZE)).as("the later request made within 10 s").isTrue();
    MemorySegment block = arenas.allocate(SIZE);
    assertThat(arenas.aheadTaken()).isEqualTo(1);
    assertZeroed(block);
    arenas.closeAll();
  }

  @Test
  void aSizeAskedForTwiceGetsItsNextBlockMadeAheadAndZeroed() throws Exception {
    NativeArenas arenas = new NativeArenas(owner, 1 << 20);
    MemorySegment first = arenas.allocate(SIZE);
    assertThat(arenas.aheadReady()).isFalse(); // once is a one-off
    first.fill((byte) 0x5A);
    arenas.free(first);
    arenas.allocate(SIZE);
    awaitReady(arenas);

    MemorySegment third = arenas.allocate(SIZE);

    assertThat(arenas.aheadTaken()).isEqualTo(1);
    assertThat(third.byteSize()).isEqualTo(SIZE);
    assertZeroed(third);
    assertThat(arenas.bytes()).isEqualTo(2 * SIZE); // the one made ahead counts once taken
    arenas.closeAll();
  }

  @Test
  void anotherSizeOrABlockOverTheBoundIsAllocatedInline() throws Exception {
    NativeArenas arenas = new NativeArenas(owner, 1 << 20);
    arenas.allocate(SIZE);
    arenas.allocate(SIZE);
    awaitReady(arenas);

    MemorySegment other = arenas.allocate(2 * SIZE);
    arenas.allocate(2 << 20);
    arenas.allocate(2 << 20);

    assertThat(other.byteSize()).isEqualTo(2 * SIZE);
    assertZeroed(other);
    assertThat(arenas.aheadTaken()).isZero();
    assertThat(arenas.aheadReady()).as("over the bound: nothing made ahead").isFalse();
    arenas.closeAll();
  }

  @Test
  void closingTheOwnersBlocksClosesTheOneMadeAhead() throws Exception {
    NativeArenas arenas = new NativeArenas(owner, 1 << 20);
    arenas.allocate(SIZE);
    arenas.allocate(SIZE);
    awaitReady(arenas);

    arenas.closeAll();

    assertThat(arenas.aheadReady()).isFalse();
    assertThat(arenas.bytes()).isZero();
  }

  @Test
  void withoutABoundNothingIsMadeAhead() {
    NativeArenas arenas = new NativeArenas(owner);
    for (int i = 0; i < 4; i++) {
      arenas.allocate(SIZE);
    }
    assertThat(arenas.aheadTaken()).isZero();
    assertThat(arenas.aheadReady()).isFalse();
    arenas.closeAll();
  }
}
