package io.respawn.server.command;

import io.respawn.server.testing.MapKvStore;
import io.respawn.storage.KvStore;
import java.nio.file.Path;

/** {@link StringKeySemanticsTest} against the reference map store. */
class StringKeysOnMapStoreTest extends StringKeySemanticsTest {
  @Override
  KvStore newStore(Path dir) {
    return new MapKvStore();
  }
}
