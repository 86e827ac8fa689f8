package io.respawn.server.resp;

/** Helpers for error replies, whose text must fit on one RESP line. */
public final class Errors {
  private Errors() {}

  /** Replaces CR and LF (which would break the reply framing) with spaces, as Redis does. */
  public static String oneLine(String message) {
    if (message.indexOf('\r') < 0 && message.indexOf('\n') < 0) {
      return message;
    }
    return message.replace('\r', ' ').replace('\n', ' ');
  }
}
