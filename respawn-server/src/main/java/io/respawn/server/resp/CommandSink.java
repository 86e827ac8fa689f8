package io.respawn.server.resp;

import java.util.List;

/**
 * Where I/O threads hand decoded requests: the single thread that executes commands (on its own
 * event loop directly, from other loops by a hand-off). Implementations must be safe to call from
 * any I/O thread, must not block, and must answer each request exactly once via {@link
 * ClientConnection#onReplies} (on the connection's event loop) or {@link ClientConnection#deliver}
 * (from elsewhere), in the order submitted per connection.
 */
public interface CommandSink {
  /** Queues one read's worth of requests of one connection. */
  void submit(ClientConnection connection, List<Request> requests);

  /** The connection closed (after its last {@link #submit}); forget its command-side state. */
  default void closed(ClientConnection connection) {}
}
