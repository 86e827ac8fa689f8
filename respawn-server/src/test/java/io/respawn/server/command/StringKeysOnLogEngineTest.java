package io.respawn.server.command;

import io.respawn.storage.FileChannelDisk;
import io.respawn.storage.KvStore;
import io.respawn.storage.LogEngine;
import io.respawn.storage.StorageConfig;
import java.io.IOException;
import java.nio.file.Path;

/** {@link StringKeySemanticsTest} against the real log engine in a temporary directory. */
class StringKeysOnLogEngineTest extends StringKeySemanticsTest {
  @Override
  KvStore newStore(Path dir) throws IOException {
    return LogEngine.open(new FileChannelDisk(dir), StorageConfig.defaults());
  }
}
