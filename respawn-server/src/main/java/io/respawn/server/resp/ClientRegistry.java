package io.respawn.server.resp;

import java.util.Collection;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The open client connections, for the clientsMax limit, CLIENT LIST and INFO. Thread-safe: I/O
 * threads add and remove, the command thread reads.
 */
public final class ClientRegistry {
  private final int clientsMax;
  private final ConcurrentHashMap<Long, ClientConnection> open = new ConcurrentHashMap<>();
  private final AtomicLong nextId = new AtomicLong(1);
  private final AtomicLong accepted = new AtomicLong();
  private final AtomicLong rejected = new AtomicLong();

  public ClientRegistry(int clientsMax) {
    this.clientsMax = clientsMax;
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
