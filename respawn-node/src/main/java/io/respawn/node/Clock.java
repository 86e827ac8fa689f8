package io.respawn.node;

/**
 * This node's time in nanoseconds, the only time the runtime and the protocol core see.
 *
 * <p>Contract. Monotonic: a reading is never below an earlier one. Over any interval, it advances
 * by the real time elapsed times a factor in [1 - ρ, 1 + ρ], with ρ the core's
 * {@code clockDriftMax}; leases depend on that bound and on nothing else. Seen from the process, it
 * may jump forward by any amount: a process that was paused (GC, SIGSTOP, a VM migrated) finds
 * that much real time passed at once. It says nothing about wall-clock time and nothing about
 * other nodes' readings (their offsets are arbitrary). The runtime reads it once per input;
 * production uses {@code System.nanoTime()}, the simulator a drifting per-node clock over virtual
 * time.
 */
@FunctionalInterface
public interface Clock {

  /** The current reading, in nanoseconds. */
  long nanos();
}
