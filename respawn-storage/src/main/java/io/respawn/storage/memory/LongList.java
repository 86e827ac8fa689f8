package io.respawn.storage.memory;

import java.util.Arrays;

/** A growable list of longs without boxing. Not thread-safe. */
final class LongList {
  private long[] items;
  private int size;

  LongList(int capacity) {
    items = new long[Math.max(4, capacity)];
  }

  void add(long v) {
    if (size == items.length) {
      items = Arrays.copyOf(items, size * 2);
    }
    items[size++] = v;
  }

  long get(int i) {
    assert i < size : i + " >= " + size;
    return items[i];
  }

  void set(int i, long v) {
    assert i < size : i + " >= " + size;
    items[i] = v;
  }

  int size() {
    return size;
  }

  /** Keeps the first {@code n} items. */
  void truncate(int n) {
    assert n <= size;
    size = n;
  }

  void removeAt(int i) {
    assert i < size;
    System.arraycopy(items, i + 1, items, i, size - i - 1);
    size--;
  }

  void clear() {
    size = 0;
  }
}
