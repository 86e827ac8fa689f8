package io.respawn.server.resp;

import java.util.List;

/**
 * Where I/O threads hand decoded requests: the single thread that executes commands (on its own
 * event loop directly, from other loops by a hand-off). Implementations must be safe to call from
 * any I/O thread, must not block, and must answer each request exactly once via {@link
 * ClientConnection#onReplies} (on the connection's event loop) or {@link ClientConnection#deliver}
 * (from elsewhere), in the order submitted per connection.
 *
 * <p>Back-pressure: before executing a connection's next request the sink may find {@link
 * ClientConnection#outputFull} true; it then holds that request and the ones after it (in order,
 * with any submitted later), calls {@link ClientConnection#inputHeld}, and executes them when the
 * connection calls {@link #resume}. The first request of a submission or a resume is always
 * executed, so every resume makes progress. Requests after one whose reply closes the connection
 * (QUIT) are never executed and never answered.
 */
public interface CommandSink {
  /** Queues one read's worth of requests of one connection. */
  void submit(ClientConnection connection, List<Request> requests);

  /** The connection's replies have drained: execute the requests it held back, if any. */
  default void resume(ClientConnection connection) {}

  /** The connection closed (after its last {@link #submit}); forget its command-side state. */
  default void closed(ClientConnection connection) {}

  /** The client's name (CLIENT SETNAME) for log lines, from any thread; "" when none. */
  default String clientName(ClientConnection connection) {
    return "";
  }
}
