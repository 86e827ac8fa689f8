package io.respawn.storage;

import io.respawn.storage.memory.RecordTable;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A store that keeps its keys and values in memory only: the {@link KeyIndex} of the {@link
 * LogEngine} (off the Java heap) without the engine's log, its flusher, its compactor or its
 * space reserve. For an owner whose own log is what survives a crash and that rebuilds this store
 * from it on every start: a shard member's state machine over its replica log and snapshot
 * image. Writing the same state to a second log that no start ever reads cost that member a
 * second copy of every write, a 64 MiB reserve file written and fsynced on every start, and its
 * disk; this store costs none of that.
 *
 * <p>Contract, against {@link KvStore}'s: batches are atomic and applied in order, and
 * {@link #get} sees a batch once {@link #apply} returns, as there. Nothing survives the process:
 * after a crash this store holds nothing (the empty prefix of its history), so it never claims
 * durability: a ticket's {@link WriteTicket#ordered()} is complete when {@code apply} returns
 * (there is no log to write), its {@link WriteTicket#durable()} fails with a {@link
 * StorageException} saying so. {@link #flushAll} completes at once: it has nothing to write.
 * Limits are the given {@link StorageConfig}'s key, value and batch limits, checked before
 * anything changes (a refused batch changes nothing). Memory is the only resource: no disk is
 * touched, so {@link #putRefusal} is always null.
 *
 * <p>Thread-safe: one writer at a time ({@code writeLock}, so callers on several threads are
 * serialised, as the index needs), readers on any thread at any time.
 */
public final class MemoryKvStore implements KvStore {
  private final StorageConfig limits;
  private final KeyIndex index = new KeyIndex();
  private final ReentrantLock writeLock = new ReentrantLock();
  /** Sequence of the last batch applied; guarded by writeLock. */
  private long sequence;
  private volatile boolean closed;

  /** A store checking batches against {@code limits}' key, value and batch bytes. */
  public MemoryKvStore(StorageConfig limits) {
    this.limits = java.util.Objects.requireNonNull(limits, "limits");
  }

  @Override
  public StoredValue get(byte[] key) {
    return index.get(key);
  }

  /** {@inheritDoc} A slice of the record in its slab: nothing is copied. */
  @Override
  public boolean readValue(byte[] key, ValueSink sink) throws java.io.IOException {
    return index.readValue(key, sink);
  }

  @Override
  public long expiresAtMillis(byte[] key) {
    return index.expiresAtMillisOf(key);
  }

  @Override
  public long memoryUsedBytes() {
    return index.memoryUsedBytes();
  }

  @Override
  public boolean hasZeroedRoomFor(long bytes) {
    return index.hasZeroedRoomFor(bytes);
  }

  /** Sizes the index's table for {@code keys} ({@link RecordTable#expect}). */
  @Override
  public void expectKeys(long keys) {
    writeLock.lock();
    try {
      index.expect(keys);
    } finally {
      writeLock.unlock();
    }
  }

  @Override
  public long keyCount() {
    return index.size();
  }

  @Override
  public long expiringKeyCount() {
    return index.expiringSize();
  }

  @Override
  public ScanPage scan(long cursor, int countHint) {
    return index.scan(cursor, countHint);
  }

  /** {@inheritDoc} Ordered at once; never durable (see the class comment). */
  @Override
  public WriteTicket apply(List<Mutation> batch) {
    validate(batch);
    long seq;
    writeLock.lock();
    try {
      if (closed) {
        throw new StorageException("store is closed");
      }
      seq = ++sequence;
      int n = batch.size();
      for (int i = 0; i < n; i++) { // indexed: no iterator per call
        if (n > 1 && i % RecordTable.PREFETCH_MAX == 0) {
          index.prefetch(batch, i); // each group of keys' misses together, not one by one
        }
        Mutation m = batch.get(i);
        switch (m.kind()) {
          case PUT -> index.put(m.key(), m.value(), m.expiresAtMillis(), seq, 0);
          case DELETE -> index.remove(m.key());
          case CLEAR -> index.clear();
        }
      }
      index.reclaim(); // memory this batch replaced is reused once no reader can see it
    } finally {
      writeLock.unlock();
    }
    return new Applied(seq);
  }

  /** Refuses a batch over a limit before anything changes (the messages LogEngine gives). */
  private void validate(List<Mutation> batch) {
    if (batch.isEmpty()) {
      throw new IllegalArgumentException("empty batch");
    }
    long bytes = LogFormat.COMMIT_BYTES;
    for (Mutation m : batch) {
      if (m.key().length > limits.keyBytesMax()) {
        throw new IllegalArgumentException(
            "key of " + m.key().length + " bytes exceeds keyBytesMax " + limits.keyBytesMax());
      }
      int valueBytes = m.value() == null ? 0 : m.value().length;
      if (m.kind() == Mutation.Kind.PUT && valueBytes > limits.valueBytesMax()) {
        throw new IllegalArgumentException(
            "value of " + valueBytes + " bytes exceeds valueBytesMax " + limits.valueBytesMax());
      }
      bytes += LogFormat.recordBytes(m.key().length,
          m.kind() == Mutation.Kind.PUT ? valueBytes : 0);
    }
    if (bytes > limits.batchBytesMax()) {
      throw new IllegalArgumentException(
          "batch of " + bytes + " bytes exceeds batchBytesMax " + limits.batchBytesMax());
    }
  }

  /** What apply hands back: ordered, never durable. */
  private record Applied(long sequence) implements WriteTicket {
    private static final CompletableFuture<Void> ORDERED = CompletableFuture.completedFuture(null);

    @Override
    public CompletableFuture<Void> ordered() {
      return ORDERED;
    }

    @Override
    public CompletableFuture<Void> durable() {
      return CompletableFuture.failedFuture(new StorageException("batch " + sequence
          + " is in a memory store, which keeps nothing across a restart: its owner's log is "
          + "what is durable"));
    }
  }

  /** {@inheritDoc} At once: nothing is waiting to be written (nothing ever is). */
  @Override
  public CompletableFuture<Void> flushAll() {
    return CompletableFuture.completedFuture(null);
  }

  /** {@inheritDoc} Its durable notice fails at once, so it never keeps anyone waiting. */
  @Override
  public boolean durableNoticeIsLocal() {
    return true;
  }

  /** Frees the memory; later writes and reads throw "store is closed". */
  @Override
  public void close() {
    writeLock.lock();
    try {
      if (!closed) {
        closed = true;
        index.close();
      }
    } finally {
      writeLock.unlock();
    }
  }
}
