package io.respawn.server.resp;

/**
 * One decoded client command, or the protocol error that ends the connection. Requests travel
 * from a Netty I/O thread to the command thread in the order the client sent them.
 *
 * @param args command name and arguments (never empty unless this is a protocol error)
 * @param protocolError non-null when the client sent malformed or over-limit input: the command
 *     thread answers it with an error and the connection closes after that reply
 */
public record Request(byte[][] args, String protocolError) {

  public static Request of(byte[][] args) {
    assert args.length > 0 : "a command has at least its name";
    return new Request(args, null);
  }

  public static Request protocolError(String message) {
    return new Request(new byte[0][], message);
  }

  public boolean isProtocolError() {
    return protocolError != null;
  }
}
