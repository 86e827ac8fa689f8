/**
 * The runtime around the protocol core, shared by the server and the simulator: {@link
 * io.respawn.node.NodeRuntime} executes the core's {@code Ready} values against four ports, so
 * the simulator tests the code that runs in production. Nothing here starts a thread or reads a
 * clock (forbidden-apis refuses it): a driver owns the one thread that calls the runtime.
 *
 * <h2>Ports</h2>
 *
 * Each has a one-paragraph contract stating the worst case it allows: {@link
 * io.respawn.node.Transport} (messages to peers: lost, delayed, duplicated, reordered), {@link
 * io.respawn.node.Clock} (monotonic nanoseconds, drift-bounded, jumps across pauses), {@link
 * io.respawn.node.ReplicaLog} (hard state and log: ordered writes, a machine crash loses the
 * unflushed suffix, kill -9 loses nothing written) and {@link io.respawn.node.StateMachineStore}
 * (what committed entries build; nothing is assumed to survive a crash). Production pieces in
 * this module: {@link io.respawn.node.log.SegmentedReplicaLog} on the storage engine's {@code
 * Disk} port ({@code FileChannelDisk} in production, {@code RecordingDisk} in crash tests and the
 * simulator); {@link io.respawn.node.log.MemoryReplicaLog} is the plain model of the contract.
 *
 * <h2>Driving it from the server (a NodeLoop thread)</h2>
 *
 * <pre>
 *   ReplicaLog log = SegmentedReplicaLog.open(new FileChannelDisk(dataDir.resolve("raft")),
 *       ReplicaLogConfig.defaults());
 *   NodeRuntime&lt;R&gt; rt = NodeRuntime.start(replicaConfig, RuntimeConfig.defaults(), log,
 *       stateMachine, peerTransport, System::nanoTime, metricsListener);
 *   while (running) {                                  // the NodeLoop thread, and only it
 *     drain inbound peer frames (a bounded queue Netty threads fill): rt.onMessage(m)
 *     drain client requests (a bounded queue the command threads fill):
 *       writes: h = rt.propose(command, level); h.acknowledged().whenComplete(reply)
 *       reads:  while System.nanoTime() &lt; rt.localReadsServableUntilNanos(), from the
 *               state machine, the driver's own writes in flight first (InFlightWrites)
 *     if the tick interval passed: rt.onTick()
 *     rt.processQueued()          // one core propose for the pass
 *     wait for the next input or tick, bounded by the tick interval
 *   }
 * </pre>
 *
 * Futures complete on the NodeLoop thread inside these calls; a callback must only hand the
 * reply to its connection's event loop (never call back into the runtime, which throws). The
 * segmented log flushes synchronously unless the driver hands it a thread for its fsyncs ({@code
 * SegmentedReplicaLog.flushAsynchronously}, which the shard server does): then the fsync's end is
 * posted to the NodeLoop, which calls {@code onFlushed}, and the loop never waits for the disk.
 * An exception out of any call means the runtime stopped (a disk failure, or {@code
 * CommittedEntryLost}: an entry this node applied was lost after machine crashes of its write
 * quorum): the process must exit and be restarted by its supervisor; it recovers from its
 * replica log and rebuilds the state machine.
 *
 * <h2>Acknowledgement levels</h2>
 *
 * {@link io.respawn.node.ProposalHandle#ordered()}: committed (written in order on a write quorum:
 * the leader, every voting backup, a majority) and applied here. {@link
 * io.respawn.node.ProposalHandle#durable()}: also flushed on the leader and a write quorum, so no
 * crash can lose it. What each survives is stated exactly in {@code docs/protocol.md} §14 and
 * checked by the simulator.
 *
 * <h2>Who owns what</h2>
 *
 * {@code NodeRuntime} owns the {@code Replica}, the flush policy and the order of execution;
 * {@code Proposals} the proposal queue, the index-to-handle map and the DURABLE waiters; {@code
 * InFlightWrites} a leader's writes in flight as its commands see them; {@code RuntimeConfig} the limits
 * (units in names). The replica log's file format is drawn in {@link
 * io.respawn.node.log.ReplicaLogFormat}.
 */
package io.respawn.node;
