package io.respawn.server.command;

import io.respawn.server.testing.MapKvStore;
import io.respawn.storage.KvStore;
import java.nio.file.Path;

/** {@link CommandSemanticsTest} against the reference map store. */
class CommandsOnMapStoreTest extends CommandSemanticsTest {
  @Override
  KvStore newStore(Path dir) {
    return new MapKvStore();
  }
}
