package io.respawn.storage.backup;

import io.respawn.storage.KvStore;
import io.respawn.storage.Mutation;
import io.respawn.storage.ScanPage;
import io.respawn.storage.StorageException;
import io.respawn.storage.StoredValue;
import io.respawn.storage.WriteTicket;
import java.io.IOException;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * A {@link BackupStore} behind the {@link KvStore} seam a shard member's state machine and
 * command layer read through: what a member whose role is BACKUP keeps its values in. Values
 * live on disk (the persistent buffer, then the hot and cold logs); only the index is in DRAM.
 *
 * <p>Writes come only from the replicated log, each with its entry's (term, index): {@link
 * #applyEntry}. The plain {@link #apply(List)} of the seam has no timestamp to give the store and
 * is refused ({@link UnsupportedOperationException}): a backup member never writes on its own.
 *
 * <p>Durability: {@link #applyEntry} returns once the entry's records are in the mapped buffer,
 * which survives a crash of the process but not of the machine; {@link #flushAll} completes once
 * every entry applied before the call survives a crash of the machine too (fsynced logs and a
 * durable checkpoint). A shard member's acknowledgements (its flushed index, WAIT, WAITAOF,
 * DURABLE writes) rest on its replica log, not on this store: see ShardMember.
 *
 * <p>What the seam asks and a backup cannot give cheaply: {@link #expiringKeyCount} is not
 * tracked (the index keeps no expiry; 0 is returned, so INFO's {@code expires=} reads 0 on a
 * backup member). Thread-safe (the store is).
 */
public final class BackupKvStore implements KvStore {
  private final BackupStore store;
  /** The seq of the newest record applied or recovered (what {@link #flushAll} waits for). */
  private volatile long newestSeq;

  /** Takes ownership of store ({@link #close} closes it). */
  public BackupKvStore(BackupStore store) {
    this.store = store;
    this.newestSeq = store.stats().tailSeq() - 1;
  }

  /** The store itself: statistics, popularity reports, recovery primitives. */
  public BackupStore backup() {
    return store;
  }

  /**
   * Stores the mutations of the committed entry (term, index) as one atomic step; an empty batch
   * stores nothing. An entry not newer than the newest applied is ignored (see {@link
   * BackupStore#apply(long, long, List)}).
   *
   * @throws StorageException if the buffer stayed full past its wait or the store failed
   */
  public void applyEntry(long term, long index, List<Mutation> batch) {
    if (batch.isEmpty()) {
      return;
    }
    newestSeq = store.apply(term, index, batch);
  }

  /** The (term, index) of the newest entry whose mutations the store holds (kept on restart). */
  public BackupStore.Timestamp lastApplied() {
    return store.lastApplied();
  }

  @Override
  public StoredValue get(byte[] key) {
    BackupEntry e = store.get(key);
    return e == null ? null : new StoredValue(e.value(), e.expiresAtMillis());
  }

  /** Refused: a backup's writes carry their entry's (term, index); use {@link #applyEntry}. */
  @Override
  public WriteTicket apply(List<Mutation> batch) {
    throw new UnsupportedOperationException("a backup store takes only committed entries of the "
        + "replicated log, with their (term, index) (applyEntry)");
  }

  @Override
  public long keyCount() {
    return store.liveKeyCount();
  }

  /** Not tracked on a backup (its index keeps no expiry): always 0. */
  @Override
  public long expiringKeyCount() {
    return 0;
  }

  /** DRAM the store holds for its keys: the index (values are on disk). */
  @Override
  public long memoryUsedBytes() {
    return store.indexOffHeapBytes();
  }

  @Override
  public ScanPage scan(long cursor, int countHint) {
    return store.scanKeys(cursor, countHint);
  }

  @Override
  public CompletableFuture<Void> flushAll() {
    long seq = newestSeq;
    return seq < 0 ? CompletableFuture.completedFuture(null) : store.whenDurable(seq);
  }

  @Override
  public void close() throws IOException {
    store.close();
  }
}
