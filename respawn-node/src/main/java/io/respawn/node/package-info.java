/**
 * The runtime around the protocol core, shared by the server and the simulator: one class
 * executes the core's {@code Ready} values against four ports, so the simulator tests the code
 * that runs in production.
 *
 * <p>Ports, each with a one-paragraph contract that states the worst case it allows:
 * {@link io.respawn.node.Transport} (messages to peers: lost, delayed, duplicated, reordered),
 * {@link io.respawn.node.Clock} (monotonic nanoseconds, drift-bounded, jumps under pauses),
 * {@link io.respawn.node.ReplicaLog} (hard state and log: ordered writes, a machine crash loses
 * the unflushed suffix) and {@link io.respawn.node.StateMachineStore} (what committed entries
 * build; nothing survives a crash unless it says so).
 *
 * <p>Nothing here starts a thread or reads a clock (the build refuses it): a driver owns the one
 * thread that calls the runtime.
 */
package io.respawn.node;
