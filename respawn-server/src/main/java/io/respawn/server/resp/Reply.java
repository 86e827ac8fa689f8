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

  private Reply(RedisMessage message, CompletableFuture<?> gate, boolean closeAfter) {
    this.message = message;
    this.gate = gate;
    this.closeAfter = closeAfter;
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
}
