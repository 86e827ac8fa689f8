package io.respawn.storage.backup;

/**
 * An immutable set of non-zero longs (key hashes) in one open-addressing array: built once per
 * popularity report, then read by any thread without locks.
 */
final class LongHashSet {
  static final LongHashSet EMPTY = new LongHashSet(new long[0], 0);

  private final long[] slots;
  private final int size;

  private LongHashSet(long[] slots, int size) {
    this.slots = slots;
    this.size = size;
  }

  /** A set of the first count values (non-zero; duplicates allowed). */
  static LongHashSet of(long[] values, int count) {
    if (count == 0) {
      return EMPTY;
    }
    int capacity = Integer.highestOneBit(Math.max(4, count * 2 - 1)) << 1;
    long[] slots = new long[capacity];
    int size = 0;
    for (int v = 0; v < count; v++) {
      long x = values[v];
      assert x != 0;
      int i = mix(x) & (capacity - 1);
      while (slots[i] != 0 && slots[i] != x) {
        i = (i + 1) & (capacity - 1);
      }
      if (slots[i] == 0) {
        slots[i] = x;
        size++;
      }
    }
    return new LongHashSet(slots, size);
  }

  boolean contains(long x) {
    if (size == 0) {
      return false;
    }
    int mask = slots.length - 1;
    int i = mix(x) & mask;
    while (true) {
      long s = slots[i];
      if (s == x) {
        return true;
      }
      if (s == 0) {
        return false;
      }
      i = (i + 1) & mask;
    }
  }

  int size() {
    return size;
  }

  private static int mix(long x) {
    return (int) (x ^ (x >>> 29));
  }
}
