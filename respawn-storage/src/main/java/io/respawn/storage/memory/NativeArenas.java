package io.respawn.storage.memory;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.ref.Cleaner;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The off-heap blocks one structure owns, each in its own shared {@link Arena} so it can be freed
 * on its own. If the owner is dropped without {@link #closeAll} (a simulated crash abandons a
 * store), a {@link Cleaner} frees what is left once the owner is unreachable, so abandoned stores
 * do not leak native memory.
 *
 * <p>Blocks of 2 MiB or more are mapped from the kernel, zeroed and faulted in by huge pages
 * ({@link AnonymousMemory}: ~0.4-1 ms for 4 MiB here instead of 4-9 ms); smaller ones come from
 * the C allocator, zeroed by the JVM.
 *
 * <p><b>Blocks made ahead.</b> A new block is zeroed, and zeroing fresh memory is mostly the
 * kernel's page faults: measured on the development VM, a 4 MiB slab chunk took ~7 ms, on the
 * thread that writes (a shard member's event loop, which also serves its clients: 18 % of a new
 * primary's loop time while it installed a BatchPull copy at ~100 MiB/s). With {@code
 * aheadBytesMax} above 0, once two blocks in a row of the same size (at most that) were asked for,
 * the next one of that size is made and zeroed on a shared background thread ({@code respawn-zeroed-blocks}), and the next
 * {@link #allocate} of that size takes it. At most one such block waits per owner (not counted in
 * {@link #bytes} until taken); a request of another size closes it and allocates inline, as does
 * one that finds it not ready yet. An owner that knows the size of a block it will ask for soon
 * (a hash table about to double) says so with {@link #prepare}, whatever {@code aheadBytesMax}.
 *
 * <p>Threads: {@link #allocate} and {@link #free} by the owner's one writer; the background thread
 * only makes the next block and hands it over through an atomic reference; a freed block's arena
 * is closed on another thread ({@code respawn-freed-blocks}, see {@link #BEHIND}); the cleaner runs
 * only once the owner is unreachable, so never at the same time as the writer.
 */
final class NativeArenas {
  private static final Cleaner CLEANER = Cleaner.create();
  /**
   * One thread for every owner's blocks made ahead: they are rare (one per 4 MiB written). At nice
   * 10, not idle priority: faulting a block in holds the process's memory-map lock (see {@link
   * AnonymousMemory}), and under {@code SCHED_IDLE} the scheduler left it holding the lock,
   * preempted, for up to 57 ms while a new primary's event loop waited for it in {@code mmap}.
   */
  private static final ExecutorService AHEAD = // zeroing ahead can wait
      io.respawn.storage.BackgroundPriority.lowPriorityThread("respawn-zeroed-blocks");

  /**
   * Closes freed blocks' arenas behind the owner's back. Closing a shared arena is a handshake
   * with every thread of the JVM (none may be inside an access to it), and the closing thread
   * waits until each has answered: on a busy two-core machine, where some thread waits for a CPU,
   * that took a new primary's event loop 29-47 ms at once (E2, the witness table freed at the end
   * of a recovery). On this thread the loop only answers the handshake at its next poll. Normal
   * priority: the handshake waits on the others, and memory must not stay held under load.
   */
  private static final ExecutorService BEHIND = Executors.newSingleThreadExecutor(r -> {
    Thread t = new Thread(r, "respawn-freed-blocks");
    t.setDaemon(true);
    return t;
  });

  /** Closes {@code arena} on {@link #BEHIND}, or here if that thread takes no more work. */
  private static void closeBehind(Arena arena) {
    try {
      BEHIND.execute(arena::close);
    } catch (RejectedExecutionException e) {
      arena.close();
    }
  }

  /** A block made ahead, with its arena. */
  private record Ready(long size, Arena arena, MemorySegment block) {}

  /** What the cleaning action and the background thread share; never the owner. */
  private static final class State {
    final Map<MemorySegment, Arena> open = new IdentityHashMap<>();
    final AtomicReference<Ready> ready = new AtomicReference<>();
    /** A block is being made ahead (at most one at a time). */
    final AtomicBoolean making = new AtomicBoolean();
    /**
     * The size of the block asked for next and not begun yet (0: none): a request made while
     * another block is being made waits here and is begun when that one is done; the newest
     * request wins.
     */
    final AtomicLong pendingSize = new AtomicLong();
    volatile boolean closed;
    final AtomicLong aheadTaken = new AtomicLong();
    /** The size of the last block the background thread could not make (no memory), else 0. */
    volatile long refusedSize;
  }

  private final State state = new State();
  private final long aheadBytesMax;
  private final Cleaner.Cleanable cleanable;
  private volatile long bytes;
  /** Blocks {@link #allocate} made on the writer's thread (none was ready). Writer only. */
  private long madeInline;
  /** The size the last {@link #allocate} asked for. Writer only. */
  private long lastSize;

  NativeArenas(Object owner) {
    this(owner, 0);
  }

  /** {@code aheadBytesMax}: blocks up to this size are made ahead (0: none). */
  NativeArenas(Object owner, long aheadBytesMax) {
    this.aheadBytesMax = aheadBytesMax;
    State s = state;
    this.cleanable = CLEANER.register(owner, () -> closeEach(s));
  }

  /** A zeroed, 8-byte-aligned block of {@code size} bytes. Throws OutOfMemoryError if none. */
  MemorySegment allocate(long size) {
    Ready r = state.ready.getAndSet(null);
    Arena arena;
    MemorySegment block;
    if (r != null && r.size() == size) {
      arena = r.arena();
      block = r.block();
      state.aheadTaken.incrementAndGet();
    } else {
      if (r != null) {
        closeBehind(r.arena()); // made for another size
      }
      arena = Arena.ofShared();
      madeInline++;
      try {
        block = zeroedBlock(arena, size);
      } catch (RuntimeException | Error e) {
        arena.close();
        throw e;
      }
    }
    state.open.put(block, arena);
    bytes += size;
    if (size <= aheadBytesMax && size == lastSize) {
      makeAhead(state, size); // a size asked for again (a slab chunk), not a one-off
    }
    lastSize = size;
    return block;
  }

  /**
   * A hint that the owner will soon {@link #allocate} a block of {@code size} bytes: it is made
   * and zeroed on the background thread now, unless one of that size waits already or another
   * block is being made (then the allocation happens inline, as without the hint). A block made
   * for a hint that turns out wrong is freed by the next allocation of another size. Writer only.
   */
  void prepare(long size) {
    Ready r = state.ready.get();
    if (size > 0 && (r == null || r.size() != size)) {
      makeAhead(state, size);
    }
  }

  /**
   * Makes the next block of {@code size} on the background thread: now, or once the block under
   * way is done. A request used to be dropped when another block was under way: a large record
   * table that asked for its larger successor while filling and then emptied fast lost its
   * request for the smaller one, and its shrink made that table on the writer's thread (the
   * event loop); a test caught it when the background thread was slow.
   */
  private static void makeAhead(State s, long size) {
    if (s.closed) {
      return;
    }
    s.pendingSize.set(size);
    beginPending(s);
  }

  /** Begins the pending block unless none is pending or another is under way. */
  private static void beginPending(State s) {
    while (s.pendingSize.get() != 0 && !s.closed && s.making.compareAndSet(false, true)) {
      long size = s.pendingSize.getAndSet(0); // only the holder of making takes it: not 0
      Ready r = s.ready.get();
      if (r != null && r.size() == size) {
        s.making.set(false); // a block of that size already waits
        continue;
      }
      begin(s, size);
      return;
    }
  }

  /** Makes a block of {@code size} on the background thread; {@code s.making} is set. */
  private static void begin(State s, long size) {
    try {
      AHEAD.execute(() -> {
        try {
          Arena arena = Arena.ofShared();
          MemorySegment block;
          try {
            block = zeroedBlock(arena, size);
          } catch (RuntimeException | Error e) {
            arena.close(); // out of memory: the writer allocates inline and reports it
            s.refusedSize = size;
            return;
          }
          s.refusedSize = 0;
          Ready was = s.ready.getAndSet(new Ready(size, arena, block));
          if (was != null) {
            was.arena().close(); // the newest request wins
          }
          if (s.closed) {
            Ready left = s.ready.getAndSet(null); // closed meanwhile: the cleaner may have looked
            if (left != null) {
              left.arena().close();
            }
          }
        } finally {
          s.making.set(false);
          beginPending(s); // a request that came while this one was made
        }
      });
    } catch (RejectedExecutionException e) {
      s.making.set(false);
    }
  }

  /** A zeroed block in {@code arena}: mapped from the kernel if large (see AnonymousMemory). */
  private static MemorySegment zeroedBlock(Arena arena, long size) {
    MemorySegment mapped = AnonymousMemory.allocate(arena, size);
    return mapped != null ? mapped : arena.allocate(size, 8);
  }

  /**
   * Frees a block from {@link #allocate}; no reader may touch it again. Its memory goes back to
   * the system shortly after, on a thread of its own ({@link #BEHIND}); {@link #bytes} drops now.
   */
  void free(MemorySegment block) {
    Arena arena = state.open.remove(block);
    if (arena == null) {
      throw new IllegalStateException("block of " + block.byteSize() + " bytes is not open here");
    }
    bytes -= block.byteSize();
    closeBehind(arena);
  }

  /** Bytes in open blocks. */
  long bytes() {
    return bytes;
  }

  /** Blocks {@link #allocate} made on the writer's thread (tests). Writer only. */
  long madeInline() {
    return madeInline;
  }

  /** Blocks {@link #allocate} took ready-made (tests, diagnostics). */
  long aheadTaken() {
    return state.aheadTaken.get();
  }

  /** Whether a block of {@code size} bytes made ahead waits to be taken. Writer only. */
  boolean readyFor(long size) {
    Ready r = state.ready.get();
    return r != null && r.size() == size;
  }

  /**
   * Whether the background thread's last attempt at a block of {@code size} bytes failed (no
   * memory): a writer waiting for one should allocate and meet the error itself rather than wait
   * for a block that may not come. Any thread.
   */
  boolean refused(long size) {
    return state.refusedSize == size;
  }

  /** Whether a block made ahead waits to be taken (tests). */
  boolean aheadReady() {
    return state.ready.get() != null;
  }

  /** Frees every block now, and the one made ahead (the owner closes). */
  void closeAll() {
    cleanable.clean();
    bytes = 0;
  }

  private static void closeEach(State s) {
    s.closed = true; // before draining: a block handed over later is closed by its maker
    Ready r = s.ready.getAndSet(null);
    if (r != null) {
      r.arena().close();
    }
    for (Arena a : s.open.values()) {
      a.close();
    }
    s.open.clear();
  }
}
