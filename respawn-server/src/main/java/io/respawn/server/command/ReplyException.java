package io.respawn.server.command;

/**
 * Thrown by a command handler to answer with an error reply. The full text, prefix included
 * ({@code "ERR syntax error"}, {@code "WRONGPASS ..."}). No stack trace: this is control flow.
 */
public class ReplyException extends RuntimeException {
  public ReplyException(String fullText) {
    super(fullText, null, false, false);
  }

  public static ReplyException err(String text) {
    return new ReplyException("ERR " + text);
  }
}
