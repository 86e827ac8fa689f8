package io.respawn.server;

import io.respawn.storage.KvStore;
import java.io.IOException;
import java.nio.file.Path;

/** Opens the storage engine on a data directory (recovering it if needed). */
@FunctionalInterface
public interface StoreOpener {
  KvStore open(Path dataDir) throws IOException;
}
