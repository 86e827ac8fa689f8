package io.respawn.storage;

/**
 * A live value as the index holds it.
 *
 * @param value the bytes
 * @param expiresAtMillis epoch-millisecond expiry, 0 = never; the engine does not interpret it,
 *     the caller (who owns the clock) decides whether the value has expired
 */
public record StoredValue(byte[] value, long expiresAtMillis) {}
