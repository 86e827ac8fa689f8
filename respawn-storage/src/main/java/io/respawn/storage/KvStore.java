package io.respawn.storage;

import java.io.Closeable;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * A key-value store whose writes are atomic batches in one ordered log.
 *
 * <p>Thread-safe. {@link #apply} updates what {@link #get} sees before it returns (so a caller that
 * reads after writing sees its write) and appends the batch to the log; concurrent batches are
 * combined into one file write and one flush (group commit). A batch is atomic on recovery: after
 * a crash the store holds a prefix of the batch history, each batch whole or absent, and every
 * batch whose {@link WriteTicket#durable()} completed is in that prefix.
 */
public interface KvStore extends Closeable {

  /** The live value for key, or {@code null} if absent. Expiry is the caller's to interpret. */
  StoredValue get(byte[] key);

  /**
   * The expiry of key's live value (epoch milliseconds, 0 = never), or -1 if absent, without
   * reading the value: what active expiry asks of every key it examines, which must not cost a
   * copy of a 512 MB value ten times a second. The default reads the value.
   */
  default long expiresAtMillis(byte[] key) {
    StoredValue v = get(key);
    return v == null ? -1 : v.expiresAtMillis();
  }

  /** Takes a live value where it lies, for {@link #readValue}. */
  @FunctionalInterface
  interface ValueSink {
    /**
     * @param value the value's bytes; valid only during this call (the store may reuse or free
     *     its memory afterwards), read-only
     * @param expiresAtMillis the value's expiry (epoch milliseconds, 0 = never)
     */
    void accept(java.lang.foreign.MemorySegment value, long expiresAtMillis)
        throws java.io.IOException;
  }

  /**
   * Hands key's live value to {@code sink} without copying it onto the Java heap where the store
   * keeps it off the heap, and returns true; returns false, calling nothing, if the key is absent.
   * For a reader that only passes the bytes on (a snapshot walk writing every value into an
   * image: a heap copy of each value there made the walk the largest allocator of a shard
   * primary under load, and the collections it caused promoted the log's entries in flight).
   * The sink runs while the store holds the value (a store off the heap delays freeing memory
   * until it returns), so it should only copy. The default reads the value.
   */
  default boolean readValue(byte[] key, ValueSink sink) throws java.io.IOException {
    StoredValue v = get(key);
    if (v == null) {
      return false;
    }
    sink.accept(java.lang.foreign.MemorySegment.ofArray(v.value()), v.expiresAtMillis());
    return true;
  }

  /**
   * Appends one atomic batch. Validates sizes first and throws {@link IllegalArgumentException}
   * with a clear message if a key or value is over its limit (nothing is written then); throws
   * {@link StorageException} if the store can no longer accept writes (for example after a disk
   * error).
   */
  WriteTicket apply(List<Mutation> batch);

  /**
   * As {@link #apply(List)}, told whether a reply will wait for this batch's {@code durable}
   * notice. A hint for stores whose flush policy depends on it (a replicated store has its
   * primary flush at once instead of within its flush interval); the notices mean the same
   * either way. By default the hint is ignored.
   */
  default WriteTicket apply(List<Mutation> batch, boolean durableWanted) {
    return apply(batch);
  }

  /** Number of live keys. */
  long keyCount();

  /** Number of live keys that carry an expiry time (expired or not yet). */
  long expiringKeyCount();

  /**
   * Bytes of memory the stored keys and values and their index occupy (what INFO reports as
   * used_memory and what a memory limit is checked against); 0 if the store does not track it.
   * Any thread.
   */
  default long memoryUsedBytes() {
    return 0;
  }

  /**
   * Whether values of about {@code bytes} (keys, values and their records' headers) can be
   * written now without the writing thread making fresh memory, which costs milliseconds per MiB
   * where the kernel faults pages in; when not, the store starts making it in the background.
   * For bulk writes that can wait a little (online recovery's copy), never for a client's. Writer
   * thread only. The default (a store that makes no memory ahead): always.
   */
  default boolean hasZeroedRoomFor(long bytes) {
    return true;
  }

  /**
   * About {@code keys} keys will be written soon, most of them new here (online recovery's copy
   * into a new primary): a store with a growing index may size it for them now rather than grow
   * it step by step under the writes. {@code 0} ends the expectation. Writer thread only. The
   * default does nothing.
   */
  default void expectKeys(long keys) {}

  /**
   * One page of keys in a stable order. Every key present for the whole iteration is returned at
   * least once; start with cursor 0, stop when {@link ScanPage#nextCursor()} is 0.
   */
  ScanPage scan(long cursor, int countHint);

  /** Completes when every batch applied before this call is durable. */
  CompletableFuture<Void> flushAll();

  /**
   * Why batches that store a value ({@link Mutation.Kind#PUT}) are refused right now, or null
   * when they are taken. Non-null while the disk is full ({@link DiskFullException}): batches of
   * only deletes and clears are still taken, since they free space, so a caller can refuse a
   * command that stores values before it joins a batch with deletes. Cheap; any thread.
   */
  default StorageException putRefusal() {
    return null;
  }

  /**
   * True if a batch's {@link WriteTicket#durable()} notice depends on this machine alone (its own
   * fsync, which takes milliseconds at worst), so the thread that answers clients may block on it.
   * False (the default) if it may wait on other machines, for as long as they are slow or cut off:
   * then nothing may block on it, and replies wait on a callback instead.
   */
  default boolean durableNoticeIsLocal() {
    return false;
  }

  /**
   * What a reply that only read must wait for before it is sent: a store whose {@link #get} can
   * return writes that are not yet acknowledged (a replicated primary's in-flight writes) hands
   * out the acknowledgement of the newest such write any read returned since the last call;
   * null when there is nothing to wait for. A local store acknowledges in order and returns
   * null.
   */
  default CompletableFuture<Void> takeReadGate() {
    return null;
  }

  /**
   * Until called again with false, {@link #get} and {@link #expiresAtMillis} answer from the
   * acknowledged state only, leaving out writes not yet acknowledged (so nothing enters the
   * {@link #takeReadGate read gate}). The command layer asks for it for a read of one key by a
   * client that waits on none of its own writes or reads: such a read is linearized when it
   * runs, on state no failover can take back, and needs to wait for nobody else's write. A
   * local store has no such writes and ignores it.
   */
  default void readAcknowledgedOnly(boolean on) {}
}
