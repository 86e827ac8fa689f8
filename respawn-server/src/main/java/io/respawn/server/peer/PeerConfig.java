package io.respawn.server.peer;

import io.respawn.core.NodeId;
import java.net.InetSocketAddress;
import java.util.Map;
import java.util.Objects;

/**
 * What one member needs to talk to the others: the shard's identity, its own id and peer
 * address, every other member's peer address, and the limits of the links.
 *
 * @param clusterId names the shard; a peer with another id is refused (a process of another
 *     deployment pointed at the wrong port)
 * @param self this member's id
 * @param listen where this member accepts peer connections
 * @param peers every other member's peer address, by id
 * @param secret shared secret that proves membership (HMAC-SHA256 in the handshake), or null to
 *     check ids only
 * @param queueBytesMax bytes of encoded messages one link may hold while its peer is slow or
 *     away; past it new messages to that peer are dropped and counted (the protocol retries)
 * @param queueMessagesMax messages one link may hold, for the same purpose
 * @param frameBytesMax largest frame accepted from a peer
 * @param reconnectMillisMin first delay before redialling a lost peer; doubles up to the max
 * @param reconnectMillisMax longest delay between dials
 * @param handshakeTimeoutMillis a connection that has not finished its handshake by then is
 *     closed
 */
public record PeerConfig(String clusterId, NodeId self, InetSocketAddress listen,
    Map<NodeId, InetSocketAddress> peers, byte[] secret, long queueBytesMax, int queueMessagesMax,
    int frameBytesMax, long reconnectMillisMin, long reconnectMillisMax,
    long handshakeTimeoutMillis) {

  public static final long QUEUE_BYTES_MAX_DEFAULT = 64L << 20;
  public static final int QUEUE_MESSAGES_MAX_DEFAULT = 65_536;
  public static final int FRAME_BYTES_MAX_DEFAULT = 128 << 20;
  public static final long RECONNECT_MILLIS_MIN_DEFAULT = 50;
  public static final long RECONNECT_MILLIS_MAX_DEFAULT = 2_000;
  public static final long HANDSHAKE_TIMEOUT_MILLIS_DEFAULT = 5_000;

  public PeerConfig {
    Objects.requireNonNull(clusterId, "clusterId");
    Objects.requireNonNull(self, "self");
    Objects.requireNonNull(listen, "listen");
    peers = Map.copyOf(peers);
    if (clusterId.isEmpty() || clusterId.getBytes(java.nio.charset.StandardCharsets.UTF_8).length
        > Handshake.CLUSTER_ID_BYTES_MAX) {
      throw new IllegalArgumentException("cluster id must be 1.." + Handshake.CLUSTER_ID_BYTES_MAX
          + " bytes");
    }
    if (peers.containsKey(self)) {
      throw new IllegalArgumentException("peers must not contain self " + self);
    }
    if (queueBytesMax < 1 || queueMessagesMax < 1 || frameBytesMax < 1024) {
      throw new IllegalArgumentException("queueBytesMax, queueMessagesMax must be >= 1 and "
          + "frameBytesMax >= 1024");
    }
    if (reconnectMillisMin < 1 || reconnectMillisMax < reconnectMillisMin) {
      throw new IllegalArgumentException("need 1 <= reconnectMillisMin <= reconnectMillisMax");
    }
    if (handshakeTimeoutMillis < 1) {
      throw new IllegalArgumentException("handshakeTimeoutMillis must be >= 1");
    }
  }

  /** A config with default limits. */
  public static PeerConfig of(String clusterId, NodeId self, InetSocketAddress listen,
      Map<NodeId, InetSocketAddress> peers, byte[] secret) {
    return new PeerConfig(clusterId, self, listen, peers, secret, QUEUE_BYTES_MAX_DEFAULT,
        QUEUE_MESSAGES_MAX_DEFAULT, FRAME_BYTES_MAX_DEFAULT, RECONNECT_MILLIS_MIN_DEFAULT,
        RECONNECT_MILLIS_MAX_DEFAULT, HANDSHAKE_TIMEOUT_MILLIS_DEFAULT);
  }
}
