/**
 * The pure replication protocol: roles, quorum, election, leases, membership and wire codecs.
 *
 * <p>Nothing in this module reads a clock, starts a thread, touches a file or socket, or uses
 * unseeded randomness; the build refuses such calls (forbidden-apis) and any non-test
 * dependency (enforcer). Time and randomness are passed in by the runtime
 * ({@code respawn-server}) or by the simulator ({@code respawn-sim}).
 *
 * <p>Entry point: {@link io.respawn.core.Replica} (step / tick / propose / read return a
 * {@link io.respawn.core.Ready}; the caller executes it and calls {@code advance}). One owner
 * per class: {@code Replica} owns a {@code RaftLog} (entries and persistence bookkeeping), one
 * {@code Progress} per follower while leading, and a {@code Lease} (heartbeat send times and
 * the drift math); {@code Quorum} is stateless arithmetic. The protocol as built, with the
 * reconciliation route and the invariants the simulator checks, is in {@code docs/protocol.md}.
 */
package io.respawn.core;
