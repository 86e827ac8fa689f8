package io.respawn.server.command;

import io.respawn.storage.KvStore;
import io.respawn.storage.Mutation;
import io.respawn.storage.ScanPage;
import io.respawn.storage.StoredValue;
import io.respawn.storage.WriteTicket;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.function.LongSupplier;

/**
 * The command thread's view of the store: reads with expiry applied (the server's clock decides),
 * and writes collected into one atomic batch that {@link #commit} hands to the engine — one
 * command's writes (MSET), or a whole MULTI/EXEC. Reads see the uncommitted writes of the batch.
 *
 * <p>Owned by the command thread. Handlers check everything before their first write, so a
 * command that fails leaves no write in the batch.
 */
final class Keyspace {
  private static final StoredValue TOMBSTONE = new StoredValue(new byte[0], 0);

  private final KvStore store;
  private final LongSupplier clockMillis;
  private final ServerStats stats;
  private final List<Mutation> batch = new ArrayList<>();
  private final HashMap<ByteKey, StoredValue> overlay = new HashMap<>();
  private boolean clearedInBatch;
  private long nowMillis;

  Keyspace(KvStore store, LongSupplier clockMillis, ServerStats stats) {
    this.store = store;
    this.clockMillis = clockMillis;
    this.stats = stats;
    this.nowMillis = clockMillis.getAsLong();
  }

  /** Reads the clock once per command so a command sees one instant. */
  long tick() {
    nowMillis = clockMillis.getAsLong();
    return nowMillis;
  }

  long nowMillis() {
    return nowMillis;
  }

  KvStore store() {
    return store;
  }

  /** The live, unexpired value, or null. */
  StoredValue get(byte[] key) {
    if (!batch.isEmpty()) {
      StoredValue pendingValue = overlay.get(new ByteKey(key));
      if (pendingValue != null) {
        return pendingValue == TOMBSTONE || isExpired(pendingValue) ? null : pendingValue;
      }
      if (clearedInBatch) {
        return null;
      }
    }
    StoredValue v = store.get(key);
    if (v != null && isExpired(v)) {
      expireNow(key);
      return null;
    }
    return v;
  }

  boolean exists(byte[] key) {
    return get(key) != null;
  }

  boolean isExpired(StoredValue v) {
    return v.expiresAtMillis() != 0 && nowMillis > v.expiresAtMillis();
  }

  /** Deletes an expired key on its own batch (never waited on), like Redis' lazy expiry. */
  private void expireNow(byte[] key) {
    try {
      store.apply(List.of(Mutation.delete(key)));
      stats.expiredKeys++;
    } catch (RuntimeException e) {
      // A failed disk must not fail reads: the key is still treated as absent.
    }
  }

  void put(byte[] key, byte[] value, long expiresAtMillis) {
    if (expiresAtMillis != 0 && expiresAtMillis < nowMillis) {
      delete(key); // already in the past: Redis deletes instead of storing
      return;
    }
    batch.add(Mutation.put(key, value, expiresAtMillis));
    overlay.put(new ByteKey(key), new StoredValue(value, expiresAtMillis));
  }

  void delete(byte[] key) {
    batch.add(Mutation.delete(key));
    overlay.put(new ByteKey(key), TOMBSTONE);
  }

  void clear() {
    batch.add(Mutation.clear());
    overlay.clear();
    clearedInBatch = true;
  }

  int pendingWrites() {
    return batch.size();
  }

  boolean hasPendingWrites() {
    return !batch.isEmpty();
  }

  /**
   * Applies the collected writes as one atomic batch, or returns null if there are none. Throws
   * IllegalArgumentException (over a size limit) or StorageException; the batch is dropped either
   * way.
   */
  WriteTicket commit() {
    if (batch.isEmpty()) {
      return null;
    }
    try {
      return store.apply(List.copyOf(batch));
    } finally {
      discard();
    }
  }

  void discard() {
    batch.clear();
    overlay.clear();
    clearedInBatch = false;
  }

  long keyCount() {
    return store.keyCount();
  }

  ScanPage scan(long cursor, int countHint) {
    return store.scan(cursor, countHint);
  }

  /**
   * Active expiry: examines up to {@code keysMax} keys from {@code cursor} and deletes the expired
   * ones. Returns the cursor to continue from.
   */
  long sweepExpired(long cursor, int keysMax) {
    tick();
    ScanPage page = store.scan(cursor, keysMax);
    for (byte[] key : page.keys()) {
      StoredValue v = store.get(key);
      if (v != null && isExpired(v)) {
        expireNow(key);
      }
    }
    return page.nextCursor();
  }
}
