/**
 * The network between the members of one shard: {@link io.respawn.server.peer.PeerTransport}
 * (TCP, Netty, the core's checksummed message frames) with a mutual handshake ({@link
 * io.respawn.server.peer.Handshake}) that refuses processes of another cluster, members that are
 * not who they claim to be, and (with a cluster secret) anyone who cannot prove membership.
 * Links redial with backoff and queue a bounded number of bytes and messages per peer; the
 * protocol core tolerates the drops and duplicates this allows.
 */
package io.respawn.server.peer;
