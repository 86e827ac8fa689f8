package io.respawn.storage;

/** A storage failure with a message meant for an operator (disk full, corrupted segment...). */
public class StorageException extends RuntimeException {
  public StorageException(String message) {
    super(message);
  }

  public StorageException(String message, Throwable cause) {
    super(message, cause);
  }
}
