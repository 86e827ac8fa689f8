package io.respawn.mirror;

import java.nio.ByteBuffer;

/**
 * The mirror link's only view of the network: datagrams to and from one configured peer.
 *
 * <p>Contract. {@link #send} queues one datagram for the peer and returns at once; the network
 * takes queued datagrams in the order they were sent, and {@link #handedCount} says how many it
 * has taken so far — handed to the operating system, which is what "on the wire" means for the
 * network-sync acknowledgement. Nothing more is promised: a datagram taken may be lost, delayed
 * without bound, duplicated, reordered against any other, truncated or corrupted, and nothing is
 * reported back. Inbound, the owner hands the state machines whatever reaches the socket, from
 * any source: datagrams of another link or cluster, forged ones from an address that is not the
 * peer, replays of old ones. So {@link Shipper} and {@link Receiver} trust nothing they receive:
 * each datagram is checked (source, length, link id, checksum, window) and dropped and counted
 * if it fails, never applied. Checksums and the link id catch accidents and foreign traffic, not
 * an attacker who knows the format (the link has no authentication). Called by one thread.
 */
public interface Datagrams {

  /** Queues one datagram (its remaining bytes; ownership passes to the network). */
  void send(ByteBuffer datagram);

  /** How many of the datagrams passed to {@link #send} the network has taken, in send order. */
  long handedCount();
}
