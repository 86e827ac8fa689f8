package io.respawn.storage;

/**
 * The store was fenced: another process took it over (a promotion on a shared volume), so this
 * engine writes nothing more, ever. Every later write is refused with this exception; reads of
 * what it held still work until the process stops. Not a disk error: restarting the same process
 * on the same store does not help — clients must go to the store's new owner.
 */
public final class FencedException extends StorageException {
  public FencedException(String message) {
    super(message);
  }
}
