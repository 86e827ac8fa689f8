package io.respawn.storage;

import java.util.Objects;

/**
 * One change inside an atomic batch handed to {@link KvStore#apply}.
 *
 * @param kind what the change does
 * @param key the key (empty for {@link Kind#CLEAR})
 * @param value the new value for {@link Kind#PUT}, {@code null} otherwise
 * @param expiresAtMillis wall-clock expiry in epoch milliseconds for {@link Kind#PUT}, 0 = never
 */
public record Mutation(Kind kind, byte[] key, byte[] value, long expiresAtMillis) {

  /** The kinds of change. */
  public enum Kind {
    /** Set key to value (with an optional expiry). */
    PUT,
    /** Remove key. */
    DELETE,
    /** Remove every key (FLUSHALL). */
    CLEAR
  }

  public Mutation {
    Objects.requireNonNull(kind, "kind");
    Objects.requireNonNull(key, "key");
    if (kind == Kind.PUT) {
      Objects.requireNonNull(value, "value");
    }
    if (expiresAtMillis < 0) {
      throw new IllegalArgumentException("expiresAtMillis must be >= 0: " + expiresAtMillis);
    }
  }

  public static Mutation put(byte[] key, byte[] value) {
    return new Mutation(Kind.PUT, key, value, 0);
  }

  public static Mutation put(byte[] key, byte[] value, long expiresAtMillis) {
    return new Mutation(Kind.PUT, key, value, expiresAtMillis);
  }

  public static Mutation delete(byte[] key) {
    return new Mutation(Kind.DELETE, key, null, 0);
  }

  public static Mutation clear() {
    return new Mutation(Kind.CLEAR, new byte[0], null, 0);
  }
}
