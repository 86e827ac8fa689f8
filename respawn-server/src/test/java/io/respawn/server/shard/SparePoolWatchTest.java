package io.respawn.server.shard;

import static org.assertj.core.api.Assertions.assertThat;

import io.respawn.core.MemberReplacement;
import io.respawn.core.NodeId;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A running member re-reads its config file's spare lines, and only those. */
class SparePoolWatchTest {
  @TempDir Path dir;

  private static final String BASE = """
      cluster-id = c1
      node-id = 2
      data = .
      member.1 = primary 127.0.0.1:7001 127.0.0.1:17001
      member.2 = backup 127.0.0.1:7002 127.0.0.1:17002
      member.3 = witness 127.0.0.1:7003 127.0.0.1:17003
      """;

  @Test
  void newSpareLinesReachTheLoopOnceAndABadVersionKeepsTheOldOnes() throws Exception {
    Path file = dir.resolve("respawn.conf");
    Files.writeString(file, BASE, StandardCharsets.UTF_8);
    ShardConfig started = ShardConfig.load(file);
    List<MemberReplacement> handed = new ArrayList<>();
    SparePoolWatch watch = new SparePoolWatch(file, started, handed::add);

    assertThat(settled(watch).members()).isEmpty();
    assertThat(handed).isEmpty();

    // Read once: perhaps caught half-written, so not acted on until the next read agrees.
    Files.writeString(file, BASE + "spare.4 = witness 127.0.0.1:7004 127.0.0.1:17004\n");
    assertThat(watch.check().members()).isEmpty();
    assertThat(handed).isEmpty();

    // The operator adds a spare: handed over once, with its address.
    Files.writeString(file, BASE + "spare.4 = witness 127.0.0.1:7004 127.0.0.1:17004\n");
    assertThat(settled(watch).members()).containsOnlyKeys(NodeId.of(4));
    assertThat(handed).hasSize(1);
    assertThat(handed.get(0).spares()).singleElement()
        .satisfies(m -> assertThat(m.id()).isEqualTo(NodeId.of(4)))
        .satisfies(m -> assertThat(m.address()).contains("7004"));
    assertThat(settled(watch).members()).containsOnlyKeys(NodeId.of(4));
    assertThat(handed).as("an unchanged file hands nothing").hasSize(1);

    // Half-written, or naming another member: refused, the spares stay.
    Files.writeString(file, BASE + "spare.5 = witness 127.0.0.1:7005\n");
    assertThat(settled(watch).members()).containsOnlyKeys(NodeId.of(4));
    Files.writeString(file, BASE.replace("node-id = 2", "node-id = 3")
        + "spare.5 = witness 127.0.0.1:7005 127.0.0.1:17005\n");
    assertThat(settled(watch).members()).containsOnlyKeys(NodeId.of(4));
    assertThat(handed).hasSize(1);

    // Another key changed, spares not: nothing handed over.
    Files.writeString(file, BASE + "lease-ms = 300\n"
        + "spare.4 = witness 127.0.0.1:7004 127.0.0.1:17004\n");
    assertThat(settled(watch).members()).containsOnlyKeys(NodeId.of(4));
    assertThat(handed).hasSize(1);

    // A second spare and a new bound.
    Files.writeString(file, BASE + "replace-after-ms = 5000\n"
        + "spare.4 = witness 127.0.0.1:7004 127.0.0.1:17004\n"
        + "spare.5 = primary 127.0.0.1:7005 127.0.0.1:17005\n");
    ShardConfig.Spares now = settled(watch);
    assertThat(now.members()).containsOnlyKeys(NodeId.of(4), NodeId.of(5));
    assertThat(now.replaceAfterMillis()).isEqualTo(5000);
    assertThat(handed).hasSize(2);
    assertThat(handed.get(1).spares()).hasSize(2);

    // The file gone: the spares stay.
    Files.delete(file);
    assertThat(settled(watch).members()).hasSize(2);
    assertThat(handed).hasSize(2);
  }

  /** A spare line added while the member was starting (before the watch began) is not missed. */
  @Test
  void anEditMadeWhileTheMemberStartedIsTaken() throws Exception {
    Path file = dir.resolve("respawn.conf");
    Files.writeString(file, BASE, StandardCharsets.UTF_8);
    ShardConfig started = ShardConfig.load(file);
    Files.writeString(file, BASE + "spare.4 = witness 127.0.0.1:7004 127.0.0.1:17004\n");
    List<MemberReplacement> handed = new ArrayList<>();
    SparePoolWatch watch = new SparePoolWatch(file, started, handed::add);
    assertThat(settled(watch).members()).containsOnlyKeys(NodeId.of(4));
    assertThat(handed).hasSize(1);
  }

  /** The spares in force once {@code watch} has read the file twice (a version it acts on). */
  private static ShardConfig.Spares settled(SparePoolWatch watch) {
    watch.check();
    return watch.check();
  }
}
