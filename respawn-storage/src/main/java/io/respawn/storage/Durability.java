package io.respawn.storage;

/** When a write is acknowledged to its client. */
public enum Durability {
  /**
   * osync: the write is in the log, in order, and will become durable; a crash may lose a suffix
   * of ORDERED writes but never reorders or half-applies them.
   */
  ORDERED,
  /** dsync: acknowledged only once the write is on stable storage. */
  DURABLE
}
