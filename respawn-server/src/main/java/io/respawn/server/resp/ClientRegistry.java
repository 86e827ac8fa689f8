package io.respawn.server.resp;

import java.util.Collection;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The open client connections, for the clientsMax limit, CLIENT LIST and INFO, and the memory all
 * of them hold together ({@link ClientBufferLimits#clientsBufferBytesMax}). Thread-safe: I/O
 * threads add, remove and report their buffers; the command thread reads.
 *
 * <p>Each connection reports changes of its input + output bytes ({@link #adjustBuffered}); when
 * the sum exceeds the limit, the connection holding the most is closed, then the next, until the
 * sum minus what the closed ones still hold (until their close completes) is under the limit.
 * So one greedy client loses its connection and the node, and every other client, carry on.
 */
public final class ClientRegistry {
  private static final Logger log = LoggerFactory.getLogger(ClientRegistry.class);

  private final int clientsMax;
  private final ClientBufferLimits bufferLimits;
  private final ConcurrentHashMap<Long, ClientConnection> open = new ConcurrentHashMap<>();
  private final AtomicLong nextId = new AtomicLong(1);
  private final AtomicLong accepted = new AtomicLong();
  private final AtomicLong rejected = new AtomicLong();
  /** Sum of every open connection's reported input + output bytes. */
  private final AtomicLong bufferedBytes = new AtomicLong();
  /** Of {@code bufferedBytes}, what connections closed for the limit held when closed. */
  private final AtomicLong evictingBytes = new AtomicLong();
  private final AtomicLong evicted = new AtomicLong();

  public ClientRegistry(int clientsMax) {
    this(clientsMax, ClientBufferLimits.NONE);
  }

  public ClientRegistry(int clientsMax, ClientBufferLimits bufferLimits) {
    this.clientsMax = clientsMax;
    this.bufferLimits = bufferLimits;
  }

  public long nextId() {
    return nextId.getAndIncrement();
  }

  /** Registers the connection unless clientsMax connections are already open. */
  boolean tryAdd(ClientConnection connection) {
    // Checked then added: concurrent accepts on several I/O threads may overshoot by a few.
    if (open.size() >= clientsMax) {
      rejected.incrementAndGet();
      return false;
    }
    open.put(connection.id(), connection);
    accepted.incrementAndGet();
    return true;
  }

  void remove(ClientConnection connection) {
    open.remove(connection.id());
  }

  public ClientBufferLimits bufferLimits() {
    return bufferLimits;
  }

  /**
   * A connection's input + output changed by {@code deltaBytes}; past the limit, closes the
   * biggest connections. Any thread.
   */
  void adjustBuffered(long deltaBytes) {
    long total = bufferedBytes.addAndGet(deltaBytes);
    long max = bufferLimits.clientsBufferBytesMax();
    if (deltaBytes > 0 && max > 0 && total - evictingBytes.get() > max) {
      evictBiggest(max);
    }
  }

  /** A connection closed for the limit has released what it held ({@code heldBytes} at close). */
  void evictionDone(long heldBytes) {
    evictingBytes.addAndGet(-heldBytes);
  }

  private synchronized void evictBiggest(long max) {
    while (bufferedBytes.get() - evictingBytes.get() > max) {
      ClientConnection biggest = null;
      long biggestBytes = 0;
      for (ClientConnection c : open.values()) {
        long b = c.bufferedBytes();
        if (b > biggestBytes && !c.evictedForMemory()) {
          biggest = c;
          biggestBytes = b;
        }
      }
      if (biggest == null || !biggest.evictForMemory(biggestBytes)) {
        return; // nothing left to close (the sum is being released)
      }
      evictingBytes.addAndGet(biggestBytes);
      evicted.incrementAndGet();
      log.warn("closing client {}: all clients' buffers hold {} bytes, over "
              + "--clients-buffer-bytes-max {}; this client held the most ({} bytes)",
          biggest.describe(), bufferedBytes.get(), max, biggestBytes);
    }
  }

  /** Input and output bytes all clients hold now. */
  public long bufferedBytes() {
    return bufferedBytes.get();
  }

  /** Connections closed because all clients' buffers were over the limit. */
  public long evictedTotal() {
    return evicted.get();
  }

  public Collection<ClientConnection> connections() {
    return open.values();
  }

  public int size() {
    return open.size();
  }

  public int clientsMax() {
    return clientsMax;
  }

  public long acceptedTotal() {
    return accepted.get();
  }

  public long rejectedTotal() {
    return rejected.get();
  }
}
