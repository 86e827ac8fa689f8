package io.respawn.server.peer;

import io.respawn.core.NodeId;
import java.net.InetSocketAddress;

/**
 * A snapshot of one outbound link, for status output.
 *
 * @param connected the handshake completed and the connection is up
 * @param queuedMessages messages waiting to be written
 * @param queuedBytes their encoded bytes
 * @param sent messages handed to the socket since start
 * @param dropped messages refused because the queue was full
 * @param connects successful handshakes since start
 * @param lastRefusal why the last handshake failed, or empty
 * @param refusedAsNonMemberSinceNanos when (System.nanoTime) the peer began to refuse every
 *     handshake because this node is not a member of its configuration, or {@link
 *     Long#MIN_VALUE} (it does not)
 * @param refusedAsNonMemberLastNanos the latest such refusal (System.nanoTime), or {@link
 *     Long#MIN_VALUE}: a peer that stopped answering keeps its old run, which this dates
 * @param dialFailing a connection attempt failed (refused: nothing listens there; or no answer
 *     in time) since the link was last up
 */
public record PeerLinkStatus(NodeId peer, InetSocketAddress address, boolean connected,
    long queuedMessages, long queuedBytes, long sent, long dropped, long connects,
    String lastRefusal, long refusedAsNonMemberSinceNanos, long refusedAsNonMemberLastNanos,
    boolean dialFailing) {}
