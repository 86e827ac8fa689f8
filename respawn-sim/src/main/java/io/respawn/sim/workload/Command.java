package io.respawn.sim.workload;

import io.respawn.sim.lin.OpKind;

/**
 * A client command as the workload generates it; the same shape the history records.
 *
 * @param kind the command
 * @param keys key indexes in the workload's key space
 * @param values values to write (SET, MSET), else empty
 */
public record Command(OpKind kind, int[] keys, long[] values) {}
