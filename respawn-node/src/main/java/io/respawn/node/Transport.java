package io.respawn.node;

import io.respawn.core.Message;
import io.respawn.core.NodeId;

/**
 * How the runtime hands a message to another replica of its shard.
 *
 * <p>Contract. {@link #send} returns at once and never throws for a network reason: it queues the
 * message for the peer or drops it. The worst case it allows: any message may be lost, delayed by
 * any amount, delivered twice, or overtaken by any later message, also between the same two
 * nodes; a peer that is down, unknown or slow is not an error (its bounded queue overflows and
 * drops). What does arrive is exactly what was sent: implementations check each frame's
 * checksum and drop frames that fail it, and deliver only to the node named by
 * {@link Message#to()}. The protocol core tolerates all of this, and the runtime never waits for a
 * reply. Called from the driver's thread only; messages are immutable, so an implementation may
 * encode them later on an I/O thread.
 */
public interface Transport {

  /** Sends {@code message} to {@code to} (which equals {@code message.to()}), or drops it. */
  void send(NodeId to, Message message);
}
