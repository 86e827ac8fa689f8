package io.respawn.storage.memory;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Large blocks mapped from the kernel: zeroed, page-aligned, usable at once, and unmapped when
 * their arena closes (read back from {@code /proc/self/maps}, so a block that stayed mapped after
 * its close fails here); small ones are left to the C allocator. Faulting in and unmapping go
 * one slice of {@link AnonymousMemory#LOCK_SLICE_BYTES} at a time, covering the block exactly.
 */
class AnonymousMemoryTest {
  private static final long SIZE = 4L << 20;

  /**
   * Whether {@code address} lies in one of this process's mappings (the kernel's own list; it may
   * merge neighbouring anonymous mappings into one line).
   */
  private static boolean mappedAt(long address) throws IOException {
    try (var lines = Files.lines(Path.of("/proc/self/maps"))) {
      return lines.anyMatch(line -> {
        String range = line.substring(0, line.indexOf(' '));
        int dash = range.indexOf('-');
        long start = Long.parseUnsignedLong(range.substring(0, dash), 16);
        long end = Long.parseUnsignedLong(range.substring(dash + 1), 16);
        return Long.compareUnsigned(address, start) >= 0 && Long.compareUnsigned(address, end) < 0;
      });
    }
  }

  /** Pages of {@code block} that mincore(2) says are not resident, or -1 if it cannot tell. */
  private static long pagesNotResident(MemorySegment block) {
    var linker = java.lang.foreign.Linker.nativeLinker();
    var found = linker.defaultLookup().find("mincore");
    if (found.isEmpty()) {
      return -1;
    }
    var mincore = linker.downcallHandle(found.get(), java.lang.foreign.FunctionDescriptor.of(
        ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.ADDRESS));
    long pages = (block.byteSize() + 4095) / 4096;
    try (Arena scratch = Arena.ofConfined()) {
      MemorySegment vec = scratch.allocate(pages);
      if ((int) mincore.invokeExact(MemorySegment.ofAddress(block.address()), block.byteSize(),
          vec) != 0) {
        return -1;
      }
      long missing = 0;
      for (long i = 0; i < pages; i++) {
        missing += (vec.get(ValueLayout.JAVA_BYTE, i) & 1) == 0 ? 1 : 0;
      }
      return missing;
    } catch (Throwable e) {
      return -1;
    }
  }

  @Test
  void aLargeBlockIsMappedZeroedAndUnmappedWithItsArena() throws IOException {
    assumeThat(AnonymousMemory.available()).as("Linux with native access").isTrue();
    Arena arena = Arena.ofShared();
    MemorySegment block = AnonymousMemory.allocate(arena, SIZE);

    assertThat(block).isNotNull();
    assertThat(block.byteSize()).isEqualTo(SIZE);
    assertThat(block.address() % 4096).as("page-aligned").isZero();
    assertThat(mappedAt(block.address())).isTrue();
    for (long i = 0; i < SIZE; i += 8) {
      assertThat(block.get(ValueLayout.JAVA_LONG, i)).as("byte %d", i).isZero();
    }
    block.fill((byte) 0x5A);
    assertThat(block.get(ValueLayout.JAVA_BYTE, SIZE - 1)).isEqualTo((byte) 0x5A);
    long address = block.address();

    arena.close();

    assertThat(mappedAt(address)).as("unmapped with its arena").isFalse();
  }

  @Test
  void slicesCoverTheBlockExactlyInEitherDirectionAndStopAtAFailure() {
    long slice = AnonymousMemory.LOCK_SLICE_BYTES;
    long size = 3 * slice + 12_288;
    List<long[]> forward = new ArrayList<>();
    assertThat(AnonymousMemory.slices(4 * slice, size, false,
        (o, l) -> forward.add(new long[] {o, l}))).isTrue();
    assertThat(forward).containsExactly(new long[] {0, slice}, new long[] {slice, slice},
        new long[] {2 * slice, slice}, new long[] {3 * slice, 12_288});
    List<long[]> backward = new ArrayList<>();
    assertThat(AnonymousMemory.slices(4 * slice, size, true,
        (o, l) -> backward.add(new long[] {o, l}))).isTrue();
    assertThat(backward).containsExactlyElementsOf(forward.reversed());
    List<Long> tried = new ArrayList<>();
    assertThat(AnonymousMemory.slices(0, size, false, (o, l) -> tried.add(o) && o < slice))
        .isFalse();
    assertThat(tried).containsExactly(0L, slice);
    List<long[]> exact = new ArrayList<>();
    AnonymousMemory.slices(0, 2 * slice, false, (o, l) -> exact.add(new long[] {o, l}));
    assertThat(exact).containsExactly(new long[] {0, slice}, new long[] {slice, slice});
  }

  @Test
  void slicesOfABlockOffTheBoundaryEndAtTheAddressSpacesBoundaries() {
    long slice = AnonymousMemory.LOCK_SLICE_BYTES;
    long start = 7 * slice - 12_288; // three pages before a boundary
    long size = 2 * slice;
    List<long[]> forward = new ArrayList<>();
    AnonymousMemory.slices(start, size, false, (o, l) -> forward.add(new long[] {o, l}));
    assertThat(forward).containsExactly(new long[] {0, 12_288},
        new long[] {12_288, slice}, new long[] {12_288 + slice, slice - 12_288});
    for (long[] f : forward) {
      long end = start + f[0] + f[1];
      assertThat(end % slice == 0 || f[0] + f[1] == size).as("slice %s ends on a boundary", f[0])
          .isTrue();
    }
    List<long[]> backward = new ArrayList<>();
    AnonymousMemory.slices(start, size, true, (o, l) -> backward.add(new long[] {o, l}));
    assertThat(backward).containsExactlyElementsOf(forward.reversed());
    List<long[]> inside = new ArrayList<>();
    AnonymousMemory.slices(start, 8192, false, (o, l) -> inside.add(new long[] {o, l}));
    assertThat(inside).containsExactly(new long[] {0, 8192});
  }

  @Test
  void aBlockOfSeveralSlicesIsZeroedThroughoutAndUnmappedWhole() throws IOException {
    assumeThat(AnonymousMemory.available()).as("Linux with native access").isTrue();
    long size = 2 * AnonymousMemory.LOCK_SLICE_BYTES + (2L << 20) + 8192;
    Arena arena = Arena.ofShared();
    MemorySegment block = AnonymousMemory.allocate(arena, size);
    assertThat(block).isNotNull();
    // every page faulted in before anything touches it (a fresh mapping reads as zeros anyway)
    assertThat(pagesNotResident(block)).as("pages not yet faulted in").isZero();
    for (long i = 0; i < size; i += 4096) {
      assertThat(block.get(ValueLayout.JAVA_LONG, i)).as("byte %d", i).isZero();
    }
    block.set(ValueLayout.JAVA_LONG, size - 8, -1L);
    long first = block.address();
    long middle = first + AnonymousMemory.LOCK_SLICE_BYTES + 4096;
    long last = first + size - 1;

    arena.close();

    assertThat(mappedAt(first)).as("first slice unmapped").isFalse();
    assertThat(mappedAt(middle)).as("middle slice unmapped").isFalse();
    assertThat(mappedAt(last)).as("last page unmapped").isFalse();
  }

  @Test
  void aBlockUnderOneHugePageIsLeftToTheCAllocator() {
    try (Arena arena = Arena.ofShared()) {
      assertThat(AnonymousMemory.allocate(arena, AnonymousMemory.BYTES_MIN - 8)).isNull();
    }
  }

  @Test
  void blocksMadeThroughTheOwnersArenasAreMappedAndFreedOneByOne() throws IOException {
    assumeThat(AnonymousMemory.available()).as("Linux with native access").isTrue();
    NativeArenas arenas = new NativeArenas(new Object());
    MemorySegment first = arenas.allocate(SIZE);
    MemorySegment second = arenas.allocate(SIZE);
    assertThat(mappedAt(first.address())).isTrue();
    assertThat(mappedAt(second.address())).isTrue();

    arenas.free(first);

    // freed behind the owner's back, on a thread of its own: soon, not necessarily at once
    long deadline = System.nanoTime() + 5_000_000_000L;
    while (mappedAt(first.address()) && System.nanoTime() < deadline) {
      Thread.onSpinWait();
    }
    assertThat(mappedAt(first.address())).isFalse();
    assertThat(mappedAt(second.address())).isTrue();
    arenas.closeAll();
    assertThat(mappedAt(second.address())).isFalse();
  }
}
