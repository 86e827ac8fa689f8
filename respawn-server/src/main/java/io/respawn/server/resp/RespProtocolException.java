package io.respawn.server.resp;

/**
 * Malformed or over-limit input from a client. The connection answers
 * {@code -ERR Protocol error: <message>} after the replies it owes, then closes; other clients are
 * not affected.
 */
public final class RespProtocolException extends RuntimeException {
  public RespProtocolException(String message) {
    super(message, null, false, false);
  }
}
