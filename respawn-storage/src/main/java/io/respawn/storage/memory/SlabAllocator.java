package io.respawn.storage.memory;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.BitSet;

/**
 * Off-heap memory for records: size-class slabs, with deferred reuse through {@link Epochs}.
 *
 * <p><b>Size classes.</b> A request is rounded up to its class: multiples of 8 bytes from 16 to
 * 256, then sixteen classes per doubling up to {@value #SMALL_BYTES_MAX} bytes (steps of 16 bytes
 * between 256 and 512, 32 between 512 and 1024, ...), so rounding wastes at most 1/16 of a block
 * (3 % on average). A class cuts its blocks from <i>pages</i> of at least 4 KiB taken in turn
 * from <i>chunks</i>; a freed block goes on its class's free list (its first 8 bytes link to the
 * next) and is reused first. Requests above {@value #SMALL_BYTES_MAX} bytes get a chunk of their
 * own, freed (returned to the operating system) with the block.
 *
 * <pre>
 *   chunk directory   [ - | c1 | c2 | big3 | ... ]        MemorySegment per chunk index
 *   chunk c1 (64 KiB .. 4 MiB, zeroed when taken)
 *   +------------------+------------------+-----+---------------+
 *   | page, class 136  | page, class 544  | ... | not yet taken |
 *   | [b][b][b]...[b]  | [b][b]...[b]     |     |               |
 *   +------------------+------------------+-----+---------------+
 * </pre>
 *
 * <p><b>References.</b> A block is named by a 36-bit reference, never 0:
 *
 * <pre>
 *   35               19 18                      0
 *  +-------------------+------------------------+
 *  | chunk index (17)  | offset in chunk / 8 (19)|   chunk index >= 1, so a reference is >= 2^19
 *  +-------------------+------------------------+
 * </pre>
 *
 * so at most {@value #CHUNKS_MAX} - 1 chunks of at most 4 MiB (about 512 GiB of slabs).
 *
 * <p><b>Why size classes</b> rather than log-structured slabs with their own compaction: a
 * block never moves, so the index's reference stays valid until the key's next write, no cleaner
 * thread copies memory or updates the index behind the writer (the machine has two cores, shared
 * with the network loop), and allocation and free are a few loads and stores. The price is the
 * rounding above and that memory freed in one class is reused only by that class (a workload whose
 * value sizes drift keeps the old classes' pages until a CLEAR), which {@link #freeBytes()} shows.
 *
 * <p><b>Reuse rule.</b> {@link #retire} instead of free: the block is reused only after {@link
 * Epochs} has advanced twice (see there), so a reader inside {@link Epochs#enter} never sees it
 * change. {@link #retireAll} retires every chunk at once (CLEAR).
 *
 * <p><b>Threads.</b> One writer (the owner serializes allocate, retire and reclaim). Readers on
 * any thread resolve references with {@link #chunk} and {@link #offset} while inside {@link
 * Epochs#enter}: a chunk is published in the directory before any reference into it is.
 */
public final class SlabAllocator implements AutoCloseable {
  /** Largest block cut from a page; larger ones get a chunk of their own. */
  public static final int SMALL_BYTES_MAX = 256 << 10;
  static final int CHUNK_BYTES_MAX = 4 << 20;
  static final int CHUNK_BYTES_MIN = 64 << 10;
  static final int PAGE_BYTES_MIN = 4 << 10;
  static final int OFFSET_BITS = 19;
  static final int CHUNKS_MAX = 1 << 17;
  /** Bits in a reference. */
  public static final int REF_BITS = OFFSET_BITS + 17;
  /** The smallest valid reference (chunk 1, offset 0); smaller values are free for callers. */
  public static final long REF_MIN = 1L << OFFSET_BITS;

  static final int SMALL_CLASSES = 31; // 16, 24, ..., 256
  static final int CLASSES_PER_DOUBLING = 16;
  static final int CLASSES = SMALL_CLASSES + CLASSES_PER_DOUBLING * 10; // up to 2^18
  /** Class code of a block with a chunk of its own, in retired entries. */
  private static final int OWN_CHUNK = 255;

  private static final ValueLayout.OfLong LINK = ValueLayout.JAVA_LONG;

  private final Epochs epochs;
  private final NativeArenas arenas;

  /** Chunk index → chunk; readers load it after the reference that names the chunk. */
  private volatile MemorySegment[] chunks = new MemorySegment[16];
  /** Writer only: free chunk indexes (a stack), and the next never-used one. */
  private int[] freeIndexes = new int[16];
  private int freeIndexCount;
  private int nextIndex = 1;
  /** Writer only: chunk indexes retired by retireAll and not yet freed. */
  private final BitSet freeing = new BitSet();

  /** Writer only: the slab chunk pages are cut from. */
  private int carveChunk;
  private long carveOffset;
  private long carveEnd;
  private long nextChunkBytes = CHUNK_BYTES_MIN;

  /** Writer only, per class: the free list's first block, and the page being cut. */
  private final long[] freeHead = new long[CLASSES];
  private final long[] pageNext = new long[CLASSES];
  private final long[] pageEnd = new long[CLASSES];

  /** Writer only: blocks retired per epoch parity, as (ref | class << 40). */
  private final long[][] retired = {new long[64], new long[64]};
  private final int[] retiredCount = new int[2];
  private final long[] retiredEpoch = new long[2];

  /**
   * Writer-maintained counters, read by any thread (INFO) with opaque loads; written with opaque
   * stores so the write path pays no fence.
   */
  private long liveBytes;
  private long retiredBytes;
  private long freeListBytes;

  private static final VarHandle LIVE;
  private static final VarHandle RETIRED;
  private static final VarHandle FREE_LIST;

  static {
    try {
      MethodHandles.Lookup l = MethodHandles.lookup();
      LIVE = l.findVarHandle(SlabAllocator.class, "liveBytes", long.class);
      RETIRED = l.findVarHandle(SlabAllocator.class, "retiredBytes", long.class);
      FREE_LIST = l.findVarHandle(SlabAllocator.class, "freeListBytes", long.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  private void addLive(long delta) {
    LIVE.setOpaque(this, liveBytes + delta);
  }

  private void addRetired(long delta) {
    RETIRED.setOpaque(this, retiredBytes + delta);
  }

  private void addFreeList(long delta) {
    FREE_LIST.setOpaque(this, freeListBytes + delta);
  }

  /**
   * @param epochs the reclamation epochs of the structure this memory belongs to
   * @param owner the object whose unreachability frees the memory if {@link #close} is never
   *     called (it must not be reachable from the allocator's arenas)
   */
  public SlabAllocator(Epochs epochs, Object owner) {
    this(epochs, owner, CHUNK_BYTES_MAX);
  }

  /** As above; chunks up to {@code aheadBytesMax} are made ahead unasked (tests: 0, none). */
  SlabAllocator(Epochs epochs, Object owner, long aheadBytesMax) {
    this.epochs = epochs;
    this.arenas = new NativeArenas(owner, aheadBytesMax);
  }

  // ------------------------------------------------------------------ size classes

  /** The class of a block of {@code bytes} (1 .. SMALL_BYTES_MAX). */
  static int classOf(int bytes) {
    assert bytes > 0 && bytes <= SMALL_BYTES_MAX : bytes;
    if (bytes <= 256) {
      return Math.max(0, (bytes + 7) / 8 - 2);
    }
    int log = 31 - Integer.numberOfLeadingZeros(bytes - 1); // bytes in (2^log, 2^(log+1)]
    int group = log - 8;
    int step = 1 << (log - 4);
    int within = (bytes - (1 << log) + step - 1) / step; // 1..16
    return SMALL_CLASSES + group * CLASSES_PER_DOUBLING + within - 1;
  }

  /** Bytes of a block of class {@code c}. */
  static int classBytes(int c) {
    if (c < SMALL_CLASSES) {
      return (c + 2) * 8;
    }
    int group = (c - SMALL_CLASSES) / CLASSES_PER_DOUBLING;
    int within = (c - SMALL_CLASSES) % CLASSES_PER_DOUBLING + 1;
    return (1 << (8 + group)) + within * (1 << (4 + group));
  }

  /** Bytes a request of {@code bytes} actually occupies. */
  public static long blockBytes(long bytes) {
    return bytes <= SMALL_BYTES_MAX ? classBytes(classOf((int) bytes)) : (bytes + 7) & ~7L;
  }

  // ------------------------------------------------------------------ references

  /** The chunk a reference points into. Readers: inside {@link Epochs#enter}. */
  public MemorySegment chunk(long ref) {
    return chunks[(int) (ref >>> OFFSET_BITS)];
  }

  /** The byte offset of a reference in its chunk. */
  public static long offset(long ref) {
    return (ref & ((1L << OFFSET_BITS) - 1)) << 3;
  }

  private static long ref(int chunkIndex, long offset) {
    assert (offset & 7) == 0 && offset < CHUNK_BYTES_MAX : offset;
    return ((long) chunkIndex << OFFSET_BITS) | (offset >>> 3);
  }

  // ------------------------------------------------------------------ writer

  /**
   * A block of at least {@code bytes}; its contents are undefined (a reused block keeps old
   * bytes). Throws {@link OutOfMemoryError} when the operating system has no more memory and
   * {@link IllegalStateException} when the reference space is exhausted.
   */
  public long allocate(long bytes) {
    if (bytes <= 0) {
      throw new IllegalArgumentException("block of " + bytes + " bytes");
    }
    if (bytes > SMALL_BYTES_MAX) {
      return allocateOwnChunk(bytes);
    }
    int c = classOf((int) bytes);
    int size = classBytes(c);
    long ref = freeHead[c];
    if (ref != 0) {
      freeHead[c] = chunk(ref).get(LINK, offset(ref));
      addFreeList(-size);
    } else {
      if (pageNext[c] == pageEnd[c]) {
        newPage(c, size);
      }
      ref = pageNext[c];
      pageNext[c] += size >>> 3; // references count 8-byte units
    }
    addLive(size);
    return ref;
  }

  /**
   * Whether about {@code bytes} more of blocks can be cut without this thread making a chunk:
   * they fit in what is left of the chunk pages are cut from, with {@link
   * #ROOM_KEPT_FOR_WRITERS_BYTES} to spare, or the next chunk was made ahead and waits. When
   * neither, the next chunk is asked for on the background thread ({@link NativeArenas#prepare}),
   * so a writer that can wait (online recovery's copy) asks again a little later and finds it
   * made; yes all the same if the last attempt found no memory (the write then meets the error
   * itself instead of waiting for ever). A new chunk is fresh memory, and faulting it in took 30-40 ms for 4
   * MiB on a new primary's event loop in E2 while the background thread could not keep up with
   * the copy (docs/recovery.md). Conservative: counts neither free lists nor the room left in
   * pages already cut; a write of blocks in many classes may still cut a little more than
   * {@code bytes} (a page per class). Writer only.
   */
  public boolean canCutWithoutZeroing(long bytes) {
    if (carveChunk != 0 && carveEnd - carveOffset >= bytes + ROOM_KEPT_FOR_WRITERS_BYTES) {
      return true;
    }
    if (arenas.readyFor(nextChunkBytes)) {
      return true;
    }
    arenas.prepare(nextChunkBytes); // asked again after a refusal: memory may have come back
    return arenas.refused(nextChunkBytes);
  }

  /**
   * Room {@link #canCutWithoutZeroing} leaves in the chunk for writes that cannot wait (a client's
   * SET, a priority pull's page of records) while the next chunk is being made. In E2 at 2 GiB a
   * new primary installs ~3 MiB a second of priority pulls' pages, and making a 4 MiB chunk took
   * up to ~40 ms: with 64 KiB kept a priority pull's install still made one inline (39 ms); 1 MiB
   * lasts ~300 ms at that rate, and costs the copy nothing while the chunks are made ahead in time.
   */
  static final long ROOM_KEPT_FOR_WRITERS_BYTES = 1 << 20;

  /** Chunks made on the writer's thread (tests). Writer only. */
  long chunksMadeInline() {
    return arenas.madeInline();
  }

  /** Cuts a page for class c from the slab chunk, taking a new chunk when it has no room. */
  private void newPage(int c, int size) {
    int objects = Math.max(4, PAGE_BYTES_MIN / size);
    long pageBytes = (long) objects * size;
    if (carveChunk == 0 || carveOffset + pageBytes > carveEnd) {
      long chunkBytes = Math.max(nextChunkBytes, pageBytes);
      nextChunkBytes = Math.min(CHUNK_BYTES_MAX, nextChunkBytes * 2);
      carveChunk = takeIndex(arenas.allocate(chunkBytes));
      carveOffset = 0;
      carveEnd = chunkBytes;
    }
    pageNext[c] = ref(carveChunk, carveOffset);
    pageEnd[c] = pageNext[c] + (pageBytes >>> 3);
    carveOffset += pageBytes;
  }

  private long allocateOwnChunk(long bytes) {
    long size = (bytes + 7) & ~7L;
    int index = takeIndex(arenas.allocate(size));
    addLive(size);
    return ref(index, 0);
  }

  /** Publishes a chunk in the directory under a free index. */
  private int takeIndex(MemorySegment chunk) {
    int index;
    if (freeIndexCount > 0) {
      index = freeIndexes[--freeIndexCount];
    } else {
      if (nextIndex >= CHUNKS_MAX) {
        arenas.free(chunk);
        throw new IllegalStateException("off-heap memory has no chunk index left ("
            + (CHUNKS_MAX - 1) + " chunks in use)");
      }
      index = nextIndex++;
    }
    MemorySegment[] dir = chunks;
    if (index >= dir.length) {
      dir = Arrays.copyOf(dir, Math.min(CHUNKS_MAX, dir.length * 2));
    }
    dir[index] = chunk;
    chunks = dir; // volatile: readers that see a reference into the chunk see it here
    return index;
  }

  /** Drops a chunk from the directory and frees its memory. No reader may reach it. */
  private void freeChunk(int index) {
    MemorySegment[] dir = chunks;
    MemorySegment chunk = dir[index];
    dir[index] = null;
    freeing.clear(index);
    arenas.free(chunk);
    if (freeIndexCount == freeIndexes.length) {
      freeIndexes = Arrays.copyOf(freeIndexes, freeIndexCount * 2);
    }
    freeIndexes[freeIndexCount++] = index;
  }

  /**
   * Gives a block of {@code bytes} (as allocated) back, for reuse once no reader can see it:
   * after the epoch has advanced twice ({@link #reclaim}).
   */
  public void retire(long ref, long bytes) {
    assert ref >= REF_MIN : "not a reference: " + ref;
    int c = bytes > SMALL_BYTES_MAX ? OWN_CHUNK : classOf((int) bytes);
    long size = blockBytes(bytes);
    long e = epochs.epoch();
    int p = (int) (e & 1);
    assert retiredCount[p] == 0 || retiredEpoch[p] == e : "stale retirements in parity " + p;
    if (retiredCount[p] == retired[p].length) {
      retired[p] = Arrays.copyOf(retired[p], retiredCount[p] * 2);
    }
    retired[p][retiredCount[p]++] = ref | ((long) c << 40);
    retiredEpoch[p] = e;
    addLive(-size);
    addRetired(size);
  }

  /** Retired blocks not yet reusable. */
  public int retiredBlocks() {
    return retiredCount[0] + retiredCount[1];
  }

  /**
   * Writer: tries to advance the epoch and, if it did, makes the blocks retired two epochs ago
   * reusable. Returns whether it advanced. Does nothing when nothing retired waits (no block, no
   * resource of the {@link Epochs}): advancing writes a volatile (a full fence) twice, for
   * nothing, and a witness rewriting its records in place retires nothing for most entries.
   */
  public boolean reclaim() {
    if (retiredCount[0] == 0 && retiredCount[1] == 0 && !epochs.holdsRetired()) {
      return false;
    }
    boolean advanced = false;
    // Twice when no reader is inside at all: then what was retired just now is free at once.
    for (int i = 0; i < 2 && epochs.tryAdvance(); i++) {
      advanced = true;
      releaseRetired(epochs.epoch());
    }
    return advanced;
  }

  /** Makes the blocks retired two epochs before {@code e} (the new epoch) reusable. */
  private void releaseRetired(long e) {
    int p = (int) (e & 1);
    int n = retiredCount[p];
    if (n > 0) {
      assert retiredEpoch[p] <= e - 2 : "block retired at " + retiredEpoch[p] + " reused at " + e;
      long[] list = retired[p];
      for (int i = 0; i < n; i++) {
        release(list[i]);
      }
      retiredCount[p] = 0;
      if (list.length > 4096) {
        retired[p] = new long[64]; // a burst of retirements should not pin its array for good
      }
    }
  }

  private void release(long entry) {
    long ref = entry & ((1L << 40) - 1);
    int c = (int) (entry >>> 40);
    if (c == OWN_CHUNK) {
      int index = (int) (ref >>> OFFSET_BITS);
      addRetired(-chunks[index].byteSize());
      freeChunk(index);
      return;
    }
    int size = classBytes(c);
    chunk(ref).set(LINK, offset(ref), freeHead[c]);
    freeHead[c] = ref;
    addRetired(-size);
    addFreeList(size);
  }

  /**
   * Writer: every block is garbage (CLEAR). Retires every chunk (freed once no reader can reach
   * it) and starts over with empty classes; references handed out before are invalid after.
   */
  public void retireAll() {
    boolean[] isFree = new boolean[nextIndex];
    for (int i = 0; i < freeIndexCount; i++) {
      isFree[freeIndexes[i]] = true;
    }
    MemorySegment[] dir = chunks;
    int[] taken = new int[nextIndex];
    int count = 0;
    for (int i = 1; i < nextIndex; i++) {
      if (!isFree[i] && dir[i] != null && !freeing.get(i)) { // a second CLEAR skips the first's
        taken[count++] = i;
        freeing.set(i);
      }
    }
    int[] toFree = Arrays.copyOf(taken, count);
    // The indexes stay taken until then; new chunks get other ones.
    epochs.retire(() -> {
      for (int i : toFree) {
        freeChunk(i);
      }
    });
    retiredCount[0] = 0; // their blocks go with their chunks
    retiredCount[1] = 0;
    Arrays.fill(freeHead, 0);
    Arrays.fill(pageNext, 0);
    Arrays.fill(pageEnd, 0);
    carveChunk = 0;
    carveOffset = 0;
    carveEnd = 0;
    nextChunkBytes = CHUNK_BYTES_MIN;
    LIVE.setOpaque(this, 0L);
    RETIRED.setOpaque(this, 0L);
    FREE_LIST.setOpaque(this, 0L);
  }

  // ------------------------------------------------------------------ accounting

  /** Bytes in blocks handed out and not retired (each rounded up to its class). */
  public long liveBytes() {
    return (long) LIVE.getOpaque(this);
  }

  /**
   * Bytes in use: live blocks plus retired ones still waiting for readers to move on (they are
   * freed within a write or two unless a reader stays inside).
   */
  public long usedBytes() {
    return (long) LIVE.getOpaque(this) + (long) RETIRED.getOpaque(this);
  }

  /**
   * Bytes taken from the operating system that hold no block in use: blocks on free lists,
   * cleared chunks not yet freed, and the uncut rest of chunks and pages.
   */
  public long freeBytes() {
    return arenas.bytes() - usedBytes();
  }

  /** Bytes on the classes' free lists (reused only by their own class). */
  public long freeListBytes() {
    return (long) FREE_LIST.getOpaque(this);
  }

  /** Bytes of chunks taken from the operating system (live, free and not yet cut). */
  public long reservedBytes() {
    return arenas.bytes();
  }

  /** Frees everything now; the owner guarantees no reader is inside or will enter. */
  @Override
  public void close() {
    epochs.closeAll();
    arenas.closeAll();
    chunks = new MemorySegment[1];
    LIVE.setOpaque(this, 0L);
    RETIRED.setOpaque(this, 0L);
    FREE_LIST.setOpaque(this, 0L);
  }
}
