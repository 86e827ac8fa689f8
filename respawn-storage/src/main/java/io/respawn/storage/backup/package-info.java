/**
 * The backup role's storage (DESIGN.md §3 and §5, the CANDStore backup): {@link
 * io.respawn.storage.backup.BackupStore} is the one entry point.
 *
 * <p>Write path: {@code apply} stores a checksummed record in the {@link
 * io.respawn.storage.backup.PersistentBuffer}, a ring in a memory-mapped file ({@link
 * io.respawn.storage.backup.MappedRegion}, FFM {@code MemorySegment}); that is the
 * acknowledgement. The {@link io.respawn.storage.backup.WritebackAgent} thread copies records in
 * large blocks to the hot or the cold {@link io.respawn.storage.backup.BackupLog} by popularity,
 * fsyncs, repoints the off-heap {@link io.respawn.storage.backup.BackupIndex}, and checkpoints
 * the ring space free (the durable notice); the ring itself is never msync'd. The
 * {@link io.respawn.storage.backup.GcAgent} thread rewrites the live records of stale-heavy or
 * misplaced segments through the buffer and deletes a segment after the rewrites are durable.
 * Popularity: {@link io.respawn.storage.backup.PopularitySampler} on the primary, {@link
 * io.respawn.storage.backup.PopularKeys} (a DataSketches frequent-items sketch) on the backup.
 *
 * <p>Formats are drawn in {@link io.respawn.storage.backup.BackupFormat} (records, segments,
 * checkpoint), {@link io.respawn.storage.backup.PersistentBuffer} (ring), {@link
 * io.respawn.storage.backup.BackupIndex} (slots) and {@link io.respawn.storage.backup.Location};
 * recovery rules in {@link io.respawn.storage.backup.BackupRecovery}; docs/storage.md explains
 * the whole.
 */
package io.respawn.storage.backup;
