package io.respawn.server.testing;

import io.respawn.storage.KvStore;
import io.respawn.storage.Mutation;
import io.respawn.storage.ScanPage;
import io.respawn.storage.StoredValue;
import io.respawn.storage.WriteTicket;
import java.io.IOException;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * A {@link KvStore} that hands every call to {@code inner}: a test overrides the calls it counts,
 * holds or fails, and keeps the store's behaviour for the rest.
 */
public abstract class ForwardingKvStore implements KvStore {
  public final KvStore inner;

  protected ForwardingKvStore(KvStore inner) {
    this.inner = inner;
  }

  @Override
  public StoredValue get(byte[] key) {
    return inner.get(key);
  }

  @Override
  public long expiresAtMillis(byte[] key) {
    return inner.expiresAtMillis(key);
  }

  @Override
  public WriteTicket apply(List<Mutation> batch) {
    return inner.apply(batch);
  }

  @Override
  public long keyCount() {
    return inner.keyCount();
  }

  @Override
  public long expiringKeyCount() {
    return inner.expiringKeyCount();
  }

  @Override
  public ScanPage scan(long cursor, int countHint) {
    return inner.scan(cursor, countHint);
  }

  @Override
  public CompletableFuture<Void> flushAll() {
    return inner.flushAll();
  }

  @Override
  public void close() throws IOException {
    inner.close();
  }
}
