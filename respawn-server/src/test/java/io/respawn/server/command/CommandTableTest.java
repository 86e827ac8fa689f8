package io.respawn.server.command;

import static org.assertj.core.api.Assertions.assertThat;

import io.respawn.server.testing.MapKvStore;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The allocation-free, case-insensitive lookup by the request's name bytes. */
class CommandTableTest {
  private static byte[] b(String s) {
    return s.getBytes(StandardCharsets.ISO_8859_1);
  }

  @Test
  void findsEveryCommandInAnyCaseAndNothingElse() {
    CommandTable table = new CommandTable();
    String[] names = {"get", "set", "getset", "mget", "client", "config", "respawn", "ping"};
    for (String name : names) {
      table.add(name, 2, (session, args) -> null);
    }
    for (String name : names) {
      CommandSpec spec = table.lookup(b(name));
      assertThat(spec).isNotNull();
      assertThat(spec.name()).isEqualTo(name);
      assertThat(table.lookup(b(name.toUpperCase()))).isSameAs(spec);
      String mixed = Character.toUpperCase(name.charAt(0)) + name.substring(1);
      assertThat(table.lookup(b(mixed))).isSameAs(spec);
      assertThat(table.lookup(name)).isSameAs(spec);
    }
    assertThat(table.lookup(b("gets"))).isNull();
    assertThat(table.lookup(b("ge"))).isNull();
    assertThat(table.lookup(b(""))).isNull();
    assertThat(table.lookup(b("g\u00c5t"))).isNull(); // only ASCII letters fold
    assertThat(table.lookup(b("x".repeat(33)))).isNull();
  }

  @Test
  void theServersTableAnswersItsOwnNames() {
    CommandTable table = new CommandHarness(new MapKvStore()).dispatcher.table;
    assertThat(table.size()).isGreaterThan(30);
    for (CommandSpec spec : table.all()) {
      assertThat(table.lookup(b(spec.name().toUpperCase()))).isSameAs(spec);
    }
  }

  @Test
  void keyCountFollowsFirstLastAndStep() {
    CommandTable table = new CommandHarness(new MapKvStore()).dispatcher.table;
    assertThat(table.lookup("get").keyCount(2)).isEqualTo(1); // GET k
    assertThat(table.lookup("mget").keyCount(2)).isEqualTo(1); // MGET a
    assertThat(table.lookup("mget").keyCount(4)).isEqualTo(3); // MGET a b c
    assertThat(table.lookup("mset").keyCount(5)).isEqualTo(2); // MSET a 1 b 2
    assertThat(table.lookup("set").keyCount(5)).isEqualTo(1); // SET k v EX 10
    assertThat(table.lookup("ping").keyCount(2)).isZero();
    assertThat(table.lookup("mget").lastKeyIndex(4)).isEqualTo(3);
  }
}
