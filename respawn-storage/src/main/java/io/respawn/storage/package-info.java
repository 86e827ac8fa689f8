/**
 * The log-structured storage engine (DESIGN.md §4): a segmented, checksummed append-only log
 * behind the {@link io.respawn.storage.Disk} port, with an in-memory index, group commit and two
 * acknowledgement levels ({@link io.respawn.storage.Durability}).
 */
package io.respawn.storage;
