package io.respawn.server.command;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * When each key was last read or written, approximately, for OBJECT IDLETIME (Redis keeps a
 * 24-bit LRU clock in every object; Respawn's stored values carry no such field).
 *
 * <p>A fixed table of {@value #SLOTS} second counters indexed by a hash of the key, so it costs
 * 4 MiB whatever the number of keys and one hash plus one array store per access. Keys that
 * share a slot share its time: a key's idle time is at most its true idle time, exact while
 * keys are few compared with the slots. A slot never written since start-up reports the time
 * since start-up, which is what Redis reports for keys it loaded at start-up. Resolution one
 * second, like Redis's LRU clock.
 *
 * <p>The table lives off the Java heap: a 4 MiB array that lives as long as the server would
 * otherwise be copied by every young collection until the collector tenures it (seven times,
 * 10–20 ms of pause in all, at start-up). It is freed when the clock becomes unreachable.
 *
 * <p>Owned by the command thread (through {@link Keyspace}).
 */
final class AccessClock {
  static final int SLOTS = 1 << 20;

  /** {@value #SLOTS} ints, native byte order, zero-filled: seconds after start-up per slot. */
  private final MemorySegment secondsAfterStart =
      Arena.ofAuto().allocate(ValueLayout.JAVA_INT, SLOTS);
  private final long startMillis;

  AccessClock(long startMillis) {
    this.startMillis = startMillis;
  }

  private static int slot(byte[] key) {
    int h = java.util.Arrays.hashCode(key);
    h ^= h >>> 16;
    h *= 0x85ebca6b; // spread the hash's low bits (murmur3 finaliser)
    h ^= h >>> 13;
    return h & (SLOTS - 1);
  }

  private int seconds(long nowMillis) {
    return (int) Math.min(Integer.MAX_VALUE, Math.max(0, (nowMillis - startMillis) / 1000));
  }

  void touch(byte[] key, long nowMillis) {
    secondsAfterStart.setAtIndex(ValueLayout.JAVA_INT, slot(key), seconds(nowMillis));
  }

  long idleSeconds(byte[] key, long nowMillis) {
    return Math.max(0, seconds(nowMillis)
        - secondsAfterStart.getAtIndex(ValueLayout.JAVA_INT, slot(key)));
  }
}
