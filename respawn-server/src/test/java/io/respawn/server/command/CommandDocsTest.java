package io.respawn.server.command;

import static org.assertj.core.api.Assertions.assertThat;

import io.respawn.server.testing.MapKvStore;
import org.junit.jupiter.api.Test;

/**
 * The documentation table and the command table agree: every registered command and
 * subcommand is documented, and what COMMAND says a command does (write, readonly) is what its
 * behaviour flags make it do (CLIENT PAUSE WRITE and MONITOR act on those).
 */
class CommandDocsTest {
  private final CommandTable table = new CommandHarness(new MapKvStore()).dispatcher.table;

  /** A shard member's table: the standalone commands plus CLUSTER and its companions. */
  private static CommandTable clusterTable() {
    Dispatcher d = new CommandHarness(new MapKvStore()).dispatcher;
    d.enableCluster(() -> null, java.util.Map::of);
    return d.table;
  }

  @Test
  void everyCommandIsDocumentedAndItsWriteFlagsMatch() {
    assertThat(clusterTable().allWithSubcommands()).isNotEmpty().allSatisfy(spec -> {
      CommandDocs.Doc doc = spec.doc();
      assertThat(doc).as("docs of %s", spec.name()).isNotSameAs(CommandDocs.Doc.UNKNOWN);
      assertThat(doc.flags().contains("write")).as("write flag of %s", spec.name())
          .isEqualTo(spec.has(CommandSpec.Flag.WRITE));
      assertThat(doc.flags().contains("readonly")).as("readonly flag of %s", spec.name())
          .isEqualTo(spec.has(CommandSpec.Flag.READONLY));
      assertThat(doc.flags().contains("admin") || !spec.has(CommandSpec.Flag.ADMIN))
          .as("admin flag of %s", spec.name()).isTrue();
    });
  }

  @Test
  void categoriesFollowRedisRules() {
    assertThat(CommandDocs.categories(table.lookup("get")))
        .containsExactly("read", "string", "fast");
    assertThat(CommandDocs.categories(table.lookup("flushall")))
        .containsExactly("keyspace", "write", "slow", "dangerous");
    assertThat(CommandDocs.categories(table.lookupFullName("config|set")))
        .containsExactly("admin", "slow", "dangerous");
    assertThat(CommandDocs.flags(table.lookup("shutdown")))
        .containsExactly("admin", "noscript", "loading", "stale", "no_multi", "allow_busy");
  }
}
