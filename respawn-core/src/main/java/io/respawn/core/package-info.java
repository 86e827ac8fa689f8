/**
 * The pure replication protocol: roles, quorum, election, leases, membership and wire codecs.
 *
 * <p>Nothing in this module reads a clock, starts a thread, touches a file or socket, or uses
 * unseeded randomness; the build refuses such calls (forbidden-apis). Time and randomness are
 * passed in by the runtime ({@code respawn-server}) or by the simulator ({@code respawn-sim}).
 */
package io.respawn.core;
