/**
 * The log-structured storage engine (DESIGN.md §4): a segmented, checksummed append-only log
 * behind the {@link io.respawn.storage.Disk} port, with an in-memory index, group commit and two
 * acknowledgement levels ({@link io.respawn.storage.Durability}).
 *
 * <p>Use: {@code KvStore store = LogEngine.open(new FileChannelDisk(dir),
 * StorageConfig.defaults())}; {@code store.apply(batch)} updates the index before it returns
 * and hands back a {@link io.respawn.storage.WriteTicket}; reply to the client when {@code
 * ticket.acknowledged(durability)} completes. Blocking on a DURABLE future runs the group fsync
 * in the waiting thread; attaching a callback asks the flusher thread for it.
 *
 * <p>Who owns what: {@link io.respawn.storage.LogEngine} (apply, flat-combining writer,
 * leader/follower fsync, flusher thread), {@link io.respawn.storage.Recovery} (what to keep,
 * truncate or refuse on open), {@link io.respawn.storage.Compactor} (prefix compaction with
 * delayed deletes, its own thread), {@link io.respawn.storage.LogFormat} (the byte layout,
 * drawn in its Javadoc). {@code docs/storage.md} explains the rules; {@link
 * io.respawn.storage.crash.RecordingDisk} produces crash states for tests and the simulator.
 */
package io.respawn.storage;
