package io.respawn.storage.memory;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.ref.Cleaner;
import java.util.IdentityHashMap;
import java.util.Map;

/**
 * The off-heap blocks one structure owns, each in its own shared {@link Arena} so it can be freed
 * on its own. If the owner is dropped without {@link #closeAll} (a simulated crash abandons a
 * store), a {@link Cleaner} frees what is left once the owner is unreachable, so abandoned stores
 * do not leak native memory.
 *
 * <p>Threads: {@link #allocate} and {@link #free} by the owner's one writer; the cleaner runs only
 * once the owner is unreachable, so never at the same time.
 */
final class NativeArenas {
  private static final Cleaner CLEANER = Cleaner.create();

  /** The open arenas; shared with the cleaning action, which must not reach the owner. */
  private final Map<MemorySegment, Arena> open;
  private final Cleaner.Cleanable cleanable;
  private volatile long bytes;

  NativeArenas(Object owner) {
    Map<MemorySegment, Arena> arenas = new IdentityHashMap<>();
    this.open = arenas;
    this.cleanable = CLEANER.register(owner, () -> closeEach(arenas));
  }

  /** A zeroed, 8-byte-aligned block of {@code size} bytes. Throws OutOfMemoryError if none. */
  MemorySegment allocate(long size) {
    Arena arena = Arena.ofShared();
    MemorySegment block;
    try {
      block = arena.allocate(size, 8);
    } catch (RuntimeException | Error e) {
      arena.close();
      throw e;
    }
    open.put(block, arena);
    bytes += size;
    return block;
  }

  /** Frees a block from {@link #allocate}; no reader may touch it again. */
  void free(MemorySegment block) {
    Arena arena = open.remove(block);
    if (arena == null) {
      throw new IllegalStateException("block of " + block.byteSize() + " bytes is not open here");
    }
    bytes -= block.byteSize();
    arena.close();
  }

  /** Bytes in open blocks. */
  long bytes() {
    return bytes;
  }

  /** Frees every block now (the owner closes). */
  void closeAll() {
    cleanable.clean();
    bytes = 0;
  }

  private static void closeEach(Map<MemorySegment, Arena> arenas) {
    for (Arena a : arenas.values()) {
      a.close();
    }
    arenas.clear();
  }
}
