package io.respawn.server.shard;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.respawn.core.MemberReplacement;
import io.respawn.core.NodeId;
import io.respawn.core.Role;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The spare keys of a member's config ({@code spare.N}, {@code replace-after-ms}), the targets the
 * primary's spare policy keeps, and {@code respawn up --spares} writing the files.
 */
class ShardSparesConfigTest {
  @TempDir Path dir;

  private ShardConfig load(String extra) throws Exception {
    return MemberConfigFiles.load(dir, extra);
  }

  @Test
  void sparesAreReadWithTheirRoleAndAddressesAndTheBoundDefaultsToAMinute() throws Exception {
    ShardConfig none = load("");
    assertThat(none.spares().members()).isEmpty();
    assertThat(none.spares().replaceAfterMillis()).isEqualTo(60_000);
    ShardConfig c = load("spare.7 = witness h:7 h:17\nspare.5 = backup h:5 h:15\n"
        + "replace-after-ms = 2500\n");
    assertThat(c.spares().replaceAfterMillis()).isEqualTo(2_500);
    assertThat(c.spares().members().keySet()).containsExactly(NodeId.of(5), NodeId.of(7));
    assertThat(c.spares().asMembers()).extracting(m -> m.role(), m -> m.voting(), m -> m.address())
        .containsExactly(org.assertj.core.groups.Tuple.tuple(Role.BACKUP, false, "h:5 h:15"),
            org.assertj.core.groups.Tuple.tuple(Role.WITNESS, false, "h:7 h:17"));
  }

  @Test
  void aSparePrimaryIsReadToo() throws Exception {
    ShardConfig c = load("spare.6 = primary h:6 h:16\n");
    assertThat(c.spares().asMembers()).extracting(m -> m.role(), m -> m.voting())
        .containsExactly(org.assertj.core.groups.Tuple.tuple(Role.PRIMARY, false));
  }

  /**
   * A member that joins lists the shard as it is now: after a lost primary was replaced by a
   * spare witness the shard has no member of role primary, and a new spare's file says so. A
   * member that does not join still needs exactly one.
   */
  @Test
  void aJoiningMemberMayListNoPrimary() throws Exception {
    String shard = "cluster-id = c1\ndata = .\n"
        + "member.2 = backup 127.0.0.1:7002 127.0.0.1:17002\n"
        + "member.3 = witness 127.0.0.1:7003 127.0.0.1:17003\n"
        + "member.4 = witness 127.0.0.1:7004 127.0.0.1:17004\n";
    Path joining = dir.resolve("joining.conf");
    java.nio.file.Files.writeString(joining, shard + "node-id = 5\njoin = true\n"
        + "member.5 = witness 127.0.0.1:7005 127.0.0.1:17005\n");
    assertThat(ShardConfig.load(joining).join()).isTrue();
    Path member = dir.resolve("member.conf");
    java.nio.file.Files.writeString(member, shard + "node-id = 2\n");
    assertThatThrownBy(() -> ShardConfig.load(member))
        .hasMessageContaining("a shard has exactly one member with role primary, found 0");
    java.nio.file.Files.writeString(joining, shard + "node-id = 5\njoin = true\n"
        + "member.5 = witness 127.0.0.1:7005 127.0.0.1:17005\n"
        + "member.6 = primary 127.0.0.1:7006 127.0.0.1:17006\n"
        + "member.7 = primary 127.0.0.1:7007 127.0.0.1:17007\n");
    assertThatThrownBy(() -> ShardConfig.load(joining))
        .hasMessageContaining("a shard has at most one member with role primary, found 2");
  }

  @Test
  void badSparesAreRefusedNamingTheKey() {
    assertThatThrownBy(() -> load("spare.1 = witness h:3 h:4\n"))
        .hasMessageContaining("spare.1: id 1 is also member.1");
    assertThatThrownBy(() -> load("spare.2 = witness h:3\n"))
        .hasMessageContaining("spare.2 = 'witness h:3': expected 'ROLE RESP_HOST:PORT PEER_HOST:PORT'");
    assertThatThrownBy(() -> load("spare.2 = judge h:3 h:4\n"))
        .hasMessageContaining("spare.2: role 'judge' is not primary, backup or witness");
    assertThatThrownBy(() -> load("replace-after-ms = 0\n"))
        .hasMessageContaining("replace-after-ms: '0' is not an integer >= 1");
    assertThatThrownBy(() -> load("replace-after-ms = 499\n"))
        .hasMessageContaining("replace-after-ms: 499 is not in [600, 604800000]");
    assertThatThrownBy(() -> load("replace-after-ms = 9223372036854775\n"))
        .hasMessageContaining("is not in [600, 604800000]");
    assertThatThrownBy(() -> load("sparez.2 = witness h:3 h:4\n"))
        .hasMessageContaining("unknown key 'sparez.2'");
  }

  /**
   * A member keeps the classes its file lists; a spare (or any member that joins) leaves its own
   * line out, since it takes the place of one that left.
   */
  @Test
  void theTargetsAreTheMemberLinesWithoutAJoiningMembersOwn() throws Exception {
    ShardLayout layout = ShardLayout.of(dir.resolve("data"), "127.0.0.1", 7379, "1+1+1")
        .withSpares(1);
    List<Path> files = layout.prepare();
    assertThat(files).hasSize(4);
    ShardConfig primary = ShardConfig.load(files.get(0));
    ShardConfig spare = ShardConfig.load(files.get(3));
    assertThat(primary.join()).isFalse();
    assertThat(primary.spares().members()).containsOnlyKeys(NodeId.of(4));
    assertThat(spare.join()).isTrue();
    assertThat(spare.self()).isEqualTo(NodeId.of(4));
    assertThat(spare.me().role()).isEqualTo(Role.WITNESS);
    assertThat(spare.spares().members()).isEmpty();
    assertThat(ShardMember.targets(primary)).isEqualTo(new MemberReplacement.Targets(2, 1));
    assertThat(ShardMember.targets(spare)).isEqualTo(new MemberReplacement.Targets(2, 1));
    assertThat(Files.readString(files.get(3))).contains("join = true");
    assertThat(layout.isSpare(4)).isTrue();
    assertThat(layout.isSpare(3)).isFalse();
    // A root that ran a spare keeps it: the spare may be a voter by now.
    assertThatThrownBy(() -> ShardLayout.of(dir.resolve("data"), "127.0.0.1", 7379, "1+1+1")
        .prepare()).hasMessageContaining("ran 1 spare(s), which may be members of the shard now");
  }

  /**
   * {@code respawn up --spares 1 --primary-spares 1}: the spare witness is process 4, the spare
   * primary process 5; the spare primary's own file lists it as a primary that joins beside the
   * configured primary (accepted: it joins), and every member's file names it as a spare.
   */
  @Test
  void aSparePrimaryFollowsTheSpareWitnessesAndTheRootKeepsIt() throws Exception {
    ShardLayout layout = ShardLayout.of(dir.resolve("data"), "127.0.0.1", 7379, "1+1+1")
        .withSpares(1).withPrimarySpares(1);
    List<Path> files = layout.prepare();
    assertThat(files).hasSize(5);
    assertThat(layout.roleOf(4)).isEqualTo(Role.WITNESS);
    assertThat(layout.roleOf(5)).isEqualTo(Role.PRIMARY);
    ShardConfig primary = ShardConfig.load(files.get(0));
    assertThat(primary.spares().asMembers()).extracting(m -> m.id().value(), m -> m.role())
        .containsExactly(org.assertj.core.groups.Tuple.tuple(4, Role.WITNESS),
            org.assertj.core.groups.Tuple.tuple(5, Role.PRIMARY));
    ShardConfig spare = ShardConfig.load(files.get(4));
    assertThat(spare.join()).isTrue();
    assertThat(spare.me().role()).isEqualTo(Role.PRIMARY);
    assertThat(ShardMember.targets(spare)).isEqualTo(new MemberReplacement.Targets(2, 1));
    assertThatThrownBy(() -> ShardLayout.of(dir.resolve("data"), "127.0.0.1", 7379, "1+1+1")
        .withSpares(1).prepare()).hasMessageContaining("ran 1 spare primary");
    assertThatThrownBy(() -> ShardLayout.of(dir.resolve("data"), "127.0.0.1", 7379, "1+1+1")
        .withSpares(2).withPrimarySpares(1).prepare())
        .as("a second spare witness would make spare primary 5 a witness")
        .hasMessageContaining("--spares must stay 1");
    assertThat(ShardLayout.of(dir.resolve("data"), "127.0.0.1", 7379, "1+1+1").withSpares(1)
        .withPrimarySpares(2).prepare()).as("another spare primary takes id 6").hasSize(6);
    assertThatThrownBy(() -> load("member.9 = primary h:9 h:19\n"))
        .as("a second primary that does not join").hasMessageContaining("exactly one member "
            + "with role primary");
  }
}
