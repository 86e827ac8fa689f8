/**
 * Mirroring a primary site's committed write stream to a remote site over a lossy long-distance
 * link (DESIGN.md §8, after SMFS and Maelstrom).
 *
 * <p>The pieces, each pure (no clocks, threads or sockets: time is a {@code nowNanos} argument,
 * the network is the {@link io.respawn.mirror.Datagrams} port; the build refuses the rest):
 * <ul>
 *   <li>{@link io.respawn.mirror.FecEncoder} / {@link io.respawn.mirror.FecDecoder}: layered
 *       interleaving with parameters (r, c); the decoder peels and, when peeling stalls,
 *       eliminates, recovering every frame the received repairs determine.
 *   <li>{@link io.respawn.mirror.Shipper}: groups (committed batches) into paced data packets and
 *       repairs; the admitted / sent / applied callbacks behind the local / network / remote
 *       acknowledgement modes; NACK and timeout retransmission; a bounded window.
 *   <li>{@link io.respawn.mirror.Receiver}: checks every datagram, recovers, NACKs, reassembles
 *       groups and delivers them whole and in order; ACKs the applied position.
 *   <li>{@link io.respawn.mirror.Wire} and {@link io.respawn.mirror.Frames}: the formats.
 *   <li>{@link io.respawn.mirror.WanLink}: the WAN emulator's loss, delay and bandwidth decisions.
 * </ul>
 *
 * <p>Why network-sync is safe to acknowledge: once a packet and the c repair packets covering it
 * are on the wire, the mirror gets it unless the link loses more than the code repairs — and when
 * it loses more while the primary site survives, NACKs fetch the rest. What the primary site's
 * death can still take is whatever was not yet on the wire; that is exactly what network-sync
 * waits for and local-sync does not.
 */
package io.respawn.mirror;
