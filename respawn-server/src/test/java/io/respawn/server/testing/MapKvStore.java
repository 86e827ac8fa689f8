package io.respawn.server.testing;

import io.respawn.storage.KvStore;
import io.respawn.storage.Mutation;
import io.respawn.storage.ScanPage;
import io.respawn.storage.StorageException;
import io.respawn.storage.StoredValue;
import io.respawn.storage.WriteTicket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;

/**
 * A reference {@link KvStore} for command-layer tests: a sorted map, every batch ORDERED at once;
 * DURABLE completes at once unless {@link #holdDurable} is set, in which case tests release the
 * held tickets with {@link #releaseDurable}. {@link #failWrites} makes apply throw like a broken
 * disk. Thread-safe via synchronized.
 */
public final class MapKvStore implements KvStore {
  private final TreeMap<String, StoredValue> data = new TreeMap<>();
  private final List<CompletableFuture<Void>> heldDurable = new ArrayList<>();
  private final List<List<Mutation>> batches = new ArrayList<>();
  private long sequence;
  private boolean holdDurable;
  private String failWrites;
  private long expectedKeys;

  /** What {@link #expectKeys} was told last (0 at first). */
  public long expectedKeys() {
    return expectedKeys;
  }

  @Override
  public void expectKeys(long keys) {
    expectedKeys = keys;
  }

  private static String k(byte[] key) {
    return new String(key, StandardCharsets.ISO_8859_1);
  }

  @Override
  public synchronized StoredValue get(byte[] key) {
    return data.get(k(key));
  }

  @Override
  public synchronized long expiringKeyCount() {
    return data.values().stream().filter(v -> v.expiresAtMillis() != 0).count();
  }

  @Override
  public synchronized WriteTicket apply(List<Mutation> batch) {
    if (failWrites != null) {
      throw new StorageException(failWrites);
    }
    if (batch.isEmpty()) {
      throw new IllegalArgumentException("empty batch");
    }
    batches.add(List.copyOf(batch));
    for (Mutation m : batch) {
      switch (m.kind()) {
        case PUT -> data.put(k(m.key()), new StoredValue(m.value(), m.expiresAtMillis()));
        case DELETE -> data.remove(k(m.key()));
        case CLEAR -> data.clear();
      }
    }
    long seq = sequence++;
    CompletableFuture<Void> ordered = CompletableFuture.completedFuture(null);
    CompletableFuture<Void> durable = new CompletableFuture<>();
    if (holdDurable) {
      heldDurable.add(durable);
    } else {
      durable.complete(null);
    }
    return WriteTicket.of(seq, ordered, durable);
  }

  @Override
  public synchronized long keyCount() {
    return data.size();
  }

  /** Cursor = index into the sorted key list (fine for tests: no concurrent change). */
  @Override
  public synchronized ScanPage scan(long cursor, int countHint) {
    List<String> keys = new ArrayList<>(data.keySet());
    // Any cursor is a position, as in the engine's index (RANDOMKEY probes random cursors).
    int from = keys.isEmpty() ? 0 : (int) Math.floorMod(cursor, (long) keys.size());
    int to = Math.min(keys.size(), from + countHint);
    List<byte[]> page = new ArrayList<>();
    for (int i = from; i < to; i++) {
      page.add(keys.get(i).getBytes(StandardCharsets.ISO_8859_1));
    }
    return new ScanPage(page, to >= keys.size() ? 0 : to);
  }

  @Override
  public synchronized CompletableFuture<Void> flushAll() {
    if (!holdDurable) {
      return CompletableFuture.completedFuture(null);
    }
    CompletableFuture<Void> f = new CompletableFuture<>();
    heldDurable.add(f);
    return f;
  }

  public synchronized void holdDurable(boolean hold) {
    this.holdDurable = hold;
  }

  public synchronized void releaseDurable() {
    heldDurable.forEach(f -> f.complete(null));
    heldDurable.clear();
  }

  public synchronized void failWrites(String message) {
    this.failWrites = message;
  }

  /** Every batch applied so far, in order. */
  public synchronized List<List<Mutation>> batches() {
    return List.copyOf(batches);
  }

  public synchronized Map<String, StoredValue> snapshot() {
    return new TreeMap<>(data);
  }

  @Override
  public void close() {}
}
