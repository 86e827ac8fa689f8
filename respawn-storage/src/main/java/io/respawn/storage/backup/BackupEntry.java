package io.respawn.storage.backup;

/**
 * One key's version as the backup holds it: what get, BatchPull and PriorityPull return.
 *
 * @param value null for a tombstone (the key was deleted at this timestamp)
 * @param expiresAtMillis epoch millis of the value's expiry, 0 = never
 * @param term the replicated entry's term
 * @param index the replicated entry's index
 */
public record BackupEntry(byte[] key, byte[] value, long expiresAtMillis, long term, long index) {

  public boolean isTombstone() {
    return value == null;
  }

  static BackupEntry decode(byte[] record, int at) {
    return new BackupEntry(BackupFormat.key(record, at), BackupFormat.value(record, at),
        BackupFormat.expiresAt(record, at), BackupFormat.term(record, at),
        BackupFormat.index(record, at));
  }
}
