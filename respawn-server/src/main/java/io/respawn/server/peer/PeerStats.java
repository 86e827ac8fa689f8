package io.respawn.server.peer;

import java.util.concurrent.atomic.AtomicLong;

/**
 * Counters of the peer transport, written by its event loop and by senders, read by INFO and
 * {@code respawn status}. Each is monotone.
 */
public final class PeerStats {
  final AtomicLong messagesReceived = new AtomicLong();
  final AtomicLong handshakesRefused = new AtomicLong();
  final AtomicLong framesCorrupt = new AtomicLong();
  final AtomicLong messagesMisaddressed = new AtomicLong();

  public long messagesReceived() {
    return messagesReceived.get();
  }

  /** Connections refused for a wrong cluster id, member id, secret or a malformed handshake. */
  public long handshakesRefused() {
    return handshakesRefused.get();
  }

  /** Frames whose checksum or content was wrong (the connection was closed). */
  public long framesCorrupt() {
    return framesCorrupt.get();
  }

  /** Messages whose from/to did not match the authenticated connection (dropped, closed). */
  public long messagesMisaddressed() {
    return messagesMisaddressed.get();
  }
}
