package io.respawn.server.shard;

import java.nio.file.Files;
import java.nio.file.Path;

/** Member config files for the config tests: a one-member shard plus the keys under test. */
final class MemberConfigFiles {
  private MemberConfigFiles() {}

  /** Writes {@code dir/m.conf} with a minimal member's keys and {@code extra}, and loads it. */
  static ShardConfig load(Path dir, String extra) throws Exception {
    Path f = dir.resolve("m.conf");
    Files.writeString(f, "cluster-id = a\nnode-id = 1\ndata = d\nmember.1 = primary h:1 h:2\n"
        + extra);
    return ShardConfig.load(f);
  }
}
