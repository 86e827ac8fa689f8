package io.respawn.server;

import java.io.IOException;

/** Another process holds the data directory's lock (see {@link DataDirLock}). */
public final class DataDirInUseException extends IOException {
  public DataDirInUseException(String message) {
    super(message);
  }
}
