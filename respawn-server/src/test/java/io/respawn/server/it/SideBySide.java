package io.respawn.server.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.function.BiConsumer;

/**
 * One connection to Respawn and one to a real Redis: every command goes to both, and the replies
 * are compared byte for byte (see {@link RespWire}). {@link #both} asserts equality; {@link
 * #each} returns both replies for commands whose answers legitimately differ (a clock read, a
 * random key, a memory estimate), to be compared by the test's own rule.
 */
final class SideBySide implements AutoCloseable {
  /** The two replies to one command. */
  record Pair(String respawn, String redis) {}

  private final RespWire respawn;
  private final RespWire redis;

  SideBySide(int respawnPort, int redisPort, int readTimeoutMillis) throws IOException {
    this.respawn = new RespWire(respawnPort, readTimeoutMillis);
    this.redis = new RespWire(redisPort, readTimeoutMillis);
  }

  /** Runs the command on both and asserts identical replies; returns the reply. */
  String both(String... args) {
    Pair p = each(args);
    assertThat(p.respawn()).as("Respawn vs Redis for %s", String.join(" ", args))
        .isEqualTo(p.redis());
    return p.respawn();
  }

  /** Runs the command on both and hands the replies to {@code check}. */
  void both(BiConsumer<String, String> check, String... args) {
    Pair p = each(args);
    check.accept(p.respawn(), p.redis());
  }

  /** Runs the command on Respawn only (for iterations whose cursors differ). */
  String respawn(String... args) {
    return call(respawn, args);
  }

  /** Runs the command on Redis only. */
  String redis(String... args) {
    return call(redis, args);
  }

  private static String call(RespWire wire, String... args) {
    try {
      return wire.call(args);
    } catch (IOException e) {
      throw new UncheckedIOException("command " + String.join(" ", args), e);
    }
  }

  Pair each(String... args) {
    try {
      return new Pair(respawn.call(args), redis.call(args));
    } catch (IOException e) {
      throw new UncheckedIOException("command " + String.join(" ", args), e);
    }
  }

  @Override
  public void close() throws IOException {
    try {
      respawn.close();
    } finally {
      redis.close();
    }
  }
}
