package io.respawn.server.resp;

import io.netty.handler.codec.redis.RedisMessage;
import java.util.concurrent.CompletableFuture;

/**
 * The answer to one request, possibly not sendable yet. A write's reply waits for its storage
 * acknowledgement (the {@code gate}); replies of one connection still leave in request order, so a
 * ready reply waits behind a gated one (see {@link ClientConnection}).
 *
 * <p>If the gate fails, the client gets {@code -ERR <storage message>} instead of the message.
 */
public final class Reply {
  private final RedisMessage message;
  private final CompletableFuture<?> gate;
  private final boolean closeAfter;
  private final Kind kind;
  /** Encoded size, computed on first use (by the command thread, before the hand-off). */
  private long bytes = -1;

  /** How the connection treats a reply besides sending it. */
  public enum Kind {
    /** Answers one request: sent in request order. */
    ANSWER,
    /** Answers one request but is not sent (CLIENT REPLY OFF/SKIP): only keeps the count. */
    SILENT,
    /** Answers no request (a MONITOR line): sent in order with the answers, counted by none. */
    UNSOLICITED
  }

  private Reply(RedisMessage message, CompletableFuture<?> gate, boolean closeAfter, Kind kind) {
    this.message = message;
    this.gate = gate;
    this.closeAfter = closeAfter;
    this.kind = kind;
  }

  private Reply(RedisMessage message, CompletableFuture<?> gate, boolean closeAfter) {
    this(message, gate, closeAfter, Kind.ANSWER);
  }

  /** A reply that can be sent now. */
  public static Reply now(RedisMessage message) {
    return new Reply(message, null, false);
  }

  /** A reply sent once {@code gate} completes (an error reply if it fails). */
  public static Reply after(CompletableFuture<?> gate, RedisMessage message) {
    return new Reply(message, gate, false);
  }

  /** A reply whose message is what {@code result} completes with. */
  public static Reply computed(CompletableFuture<? extends RedisMessage> result) {
    return new Reply(null, result, false);
  }

  /** A reply after which the connection closes (QUIT, protocol errors). */
  public static Reply thenClose(RedisMessage message) {
    return new Reply(message, null, true);
  }

  /** A message that answers no request (a MONITOR line), sent after the replies before it. */
  public static Reply unsolicited(RedisMessage message) {
    return new Reply(message, null, false, Kind.UNSOLICITED);
  }

  /** This reply, answering its request without sending anything (it still waits its turn). */
  public Reply silenced() {
    return new Reply(message, gate, closeAfter, Kind.SILENT);
  }

  public Kind kind() {
    return kind;
  }

  public RedisMessage message() {
    return message;
  }

  /** Null when the reply is ready now. */
  public CompletableFuture<?> gate() {
    return gate;
  }

  public boolean isReady() {
    return gate == null || gate.isDone();
  }

  public boolean closeAfter() {
    return closeAfter;
  }

  /**
   * Bytes this reply takes on the wire (what it counts against the client's output limits): 0
   * if it is not sent, {@link ReplyWriter#UNKNOWN_REPLY_BYTES} if it is computed later.
   */
  public long bytes() {
    if (bytes < 0) {
      bytes = kind == Kind.SILENT ? 0
          : message == null ? ReplyWriter.UNKNOWN_REPLY_BYTES
          : ReplyWriter.encodedLength(message);
    }
    return bytes;
  }
}
