package io.respawn.server.resp;

import java.util.List;

/**
 * Where I/O threads hand decoded requests: the single command thread. Implementations must be
 * safe to call from any I/O thread, must not block, and must answer each request exactly once via
 * {@link ClientConnection#deliver}, in the order submitted per connection.
 */
public interface CommandSink {
  /** Queues one read's worth of requests of one connection. */
  void submit(ClientConnection connection, List<Request> requests);
}
