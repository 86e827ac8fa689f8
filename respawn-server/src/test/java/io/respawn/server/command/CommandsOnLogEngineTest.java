package io.respawn.server.command;

import io.respawn.storage.FileChannelDisk;
import io.respawn.storage.KvStore;
import io.respawn.storage.LogEngine;
import io.respawn.storage.StorageConfig;
import java.io.IOException;
import java.nio.file.Path;

/** {@link CommandSemanticsTest} against the real log engine in a temporary directory. */
class CommandsOnLogEngineTest extends CommandSemanticsTest {
  @Override
  KvStore newStore(Path dir) throws IOException {
    return LogEngine.open(new FileChannelDisk(dir), StorageConfig.defaults());
  }
}
