package io.respawn.server.resp;

/**
 * Whether an event loop's next idle spell starts with a spin ({@link SpinningSelectStrategy}),
 * from how its recent spins went. It keeps the share of spins that found work as a moving average
 * (each spin weighs {@code 1/}{@link #MEMORY_SPINS}); while that share is at least {@link
 * #HIT_SHARE_MIN_PERCENT} % the loop spins before every block, below it the loop blocks at once
 * but for one spin every {@link #PROBE_EVERY_PASSES} idle spells, whose outcome moves the share
 * again. Starts open (share 100 %).
 *
 * <p>Why a third: a spin that finds nothing costs its whole length of CPU (20 µs by default),
 * one that finds work costs a few microseconds and saves a wake-up (a context switch here and a
 * wake on the sender's side, 5–10 µs of CPU) and the wait for a CPU after it. On a machine with
 * idle cores the spin costs nothing anyone needed, but there the loops of a shard member run
 * real-time and do not spin at all; so the gate matters on a busy machine, where a failed spin
 * takes the CPU from a thread with work. Measured there (a 1+1+1 shard, 8 closed-loop writers,
 * 5 s per figure): the primary's spins found work in 48–63 %, the backup's in 18–24 %, the
 * witness's in under 1 %.
 *
 * <p>Worst case: a loop whose work returns while the gate is shut pays a wake-up per idle spell
 * until the probes lift the share over the bound: from a share near 0, seven successful probes
 * in a row (~{@code 7 * PROBE_EVERY_PASSES} idle spells, well under a second under load).
 *
 * <p>Owned by one event loop thread.
 */
final class SpinGate {
  /** Spins the moving average remembers (the weight of one spin is its inverse). */
  static final int MEMORY_SPINS = 16;
  /** Share of recent spins that found work, in percent, at or above which the loop spins. */
  static final int HIT_SHARE_MIN_PERCENT = 33;
  /** While the gate is shut, one idle spell in this many spins anyway (a probe). */
  static final int PROBE_EVERY_PASSES = 16;

  private static final int ONE = 1 << 16;
  private static final int HIT_SHARE_MIN = ONE * HIT_SHARE_MIN_PERCENT / 100;

  /** Moving share of spins that found work, in 1/65536ths. */
  private int hitShare = ONE;
  private int spellsShut;
  private long spins;
  private long hits;
  private long spellsWithoutSpin;

  /** Whether to spin before this idle spell's block; counts the spell when not. */
  boolean spinNow() {
    if (hitShare >= HIT_SHARE_MIN) {
      return true;
    }
    if (++spellsShut >= PROBE_EVERY_PASSES) {
      spellsShut = 0;
      return true;
    }
    spellsWithoutSpin++;
    return false;
  }

  /** The spin just ended: it found work ({@code hit}) or ran its length out. */
  void spun(boolean hit) {
    spins++;
    if (hit) {
      hits++;
    }
    hitShare += ((hit ? ONE : 0) - hitShare) / MEMORY_SPINS;
    assert hitShare >= 0 && hitShare <= ONE : hitShare;
  }

  /** Share of recent spins that found work, in percent. */
  int hitSharePercent() {
    return (int) ((long) hitShare * 100 / ONE);
  }

  long spins() {
    return spins;
  }

  long hits() {
    return hits;
  }

  long spellsWithoutSpin() {
    return spellsWithoutSpin;
  }
}
