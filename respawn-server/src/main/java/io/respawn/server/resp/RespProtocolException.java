package io.respawn.server.resp;

/**
 * Malformed or over-limit input from a client. The connection answers
 * {@code -ERR Protocol error: <message>} after the replies it owes, then closes; other clients are
 * not affected. The message is Redis' own text for the same input (clients and their test suites
 * compare it); {@link #detail} says more, for the server's log.
 */
public final class RespProtocolException extends RuntimeException {
  private final String detail;

  public RespProtocolException(String message) {
    this(message, message);
  }

  public RespProtocolException(String message, String detail) {
    super(message, null, false, false);
    this.detail = detail;
  }

  /** What exactly was wrong (the limit and the value), for the log. */
  public String detail() {
    return detail;
  }
}
