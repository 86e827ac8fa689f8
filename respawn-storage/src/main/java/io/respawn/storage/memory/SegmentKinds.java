package io.respawn.storage.memory;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.List;

/**
 * Loads every kind of {@link MemorySegment} and memory session this process will use, once, when
 * it starts, before its hot code is compiled.
 *
 * <p>Why: the JIT compiles a memory access on the assumption that the segment classes loaded so
 * far are all there are (a class-hierarchy dependency: "{@code AbstractMemorySegmentImpl} has one
 * concrete subtype"). The first time another kind is loaded, every compiled method that relied
 * on it is thrown away at a safepoint and compiled again. Measured on a shard's primary
 * (docs/benchmarks.md, "DURABLE against etcd: the first heap segment"): its first snapshot capture, minutes after
 * start, made the first heap segment ({@code MemorySegment.ofArray}); 130 compiled methods of the
 * write path were invalidated at once, the compiler threads took ~3 s of CPU, the primary stalled
 * long enough for its followers to suspect it, and the DURABLE write rate of that E1 round fell by
 * half (CPU per write 350 µs against 115–150 µs in the next rounds). Loading every kind first
 * means no such assumption is ever made.
 *
 * <p>What is loaded: native (arena-allocated), mapped, and heap segments of each primitive array
 * type, and the global, shared, confined and automatic sessions, by using them; the classes the
 * API gives no portable way to reach (mapped segments need a file) are loaded by name, and a name
 * a future JDK no longer has is skipped ({@link #loadedByName} tells the tests).
 */
public final class SegmentKinds {
  /** Implementation classes loaded by name (those the public API reaches only with a file). */
  static final List<String> BY_NAME = List.of("jdk.internal.foreign.MappedMemorySegmentImpl");

  private static volatile int loadedByName = -1;

  private SegmentKinds() {}

  /** Idempotent. Making a segment loads its class and its session's: nothing more is needed. */
  public static synchronized void loadAll() {
    if (loadedByName >= 0) {
      return;
    }
    try (Arena confined = Arena.ofConfined(); Arena shared = Arena.ofShared()) {
      confined.allocate(8);
      shared.allocate(8);
    }
    Arena.ofAuto().allocate(8);
    Arena.global().allocate(8);
    MemorySegment.ofArray(new byte[1]);
    MemorySegment.ofArray(new short[1]);
    MemorySegment.ofArray(new char[1]);
    MemorySegment.ofArray(new int[1]);
    MemorySegment.ofArray(new long[1]);
    MemorySegment.ofArray(new float[1]);
    MemorySegment.ofArray(new double[1]);
    MemorySegment.ofBuffer(ByteBuffer.allocateDirect(8));
    int n = 0;
    for (String name : BY_NAME) {
      try {
        Class.forName(name, true, null);
        n++;
      } catch (ClassNotFoundException | LinkageError e) {
        // another JDK's layout: nothing to load under this name
      }
    }
    loadedByName = n;
  }

  /** Classes of {@link #BY_NAME} found and loaded, or -1 before {@link #loadAll}. */
  static int loadedByName() {
    return loadedByName;
  }
}
