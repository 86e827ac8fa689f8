package io.respawn.server.shard;

import static org.assertj.core.api.Assertions.assertThat;

import io.respawn.core.MemberReplacement;
import io.respawn.core.Membership;
import io.respawn.core.Membership.Member;
import io.respawn.core.Role;
import io.respawn.core.Variant;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The spent spares a member has seen survive its restart (the file in its data directory). */
class SpareReplacementsTest {
  @TempDir Path dir;

  private static MemberReplacement policy() {
    return new MemberReplacement(new MemberReplacement.Targets(2, 1),
        List.of(Member.learner(4, Role.WITNESS), Member.learner(5, Role.WITNESS)),
        60_000_000_000L, Variant.CORRECT);
  }

  @Test
  void aSpareSeenInTheMembershipIsSpentAfterARestartToo() throws Exception {
    Path file = dir.resolve("spares-spent");
    SpareReplacements before = new SpareReplacements(policy(), file);
    assertThat(before.sparesLeft()).isEqualTo(2);
    before.follow(Membership.of(Member.voter(1, Role.PRIMARY), Member.voter(2, Role.BACKUP),
        Member.voter(3, Role.WITNESS), Member.learner(4, Role.WITNESS)));
    assertThat(before.sparesLeft()).isEqualTo(1);
    assertThat(Files.readAllLines(file)).containsExactly("4");

    SpareReplacements after = new SpareReplacements(policy(), file);
    assertThat(after.sparesLeft()).as("read back").isEqualTo(1);
    assertThat(after.describe(Membership.of(Member.voter(1, Role.PRIMARY),
        Member.voter(2, Role.BACKUP), Member.voter(3, Role.WITNESS))))
        .containsExactly("4 witness spare spent ", "5 witness spare unused ");

    Files.writeString(file, "not a number\n");
    assertThat(new SpareReplacements(policy(), file).sparesLeft())
        .as("an unreadable file loses the record, not the member").isEqualTo(2);
  }

  /**
   * New spare lines (the config file re-read) replace the pool and keep what the member knows:
   * a spare already seen stays spent, one that is a member already counts as spent at once.
   */
  @Test
  void aNewPoolKeepsTheSpentSpares() {
    SpareReplacements spares = new SpareReplacements(new MemberReplacement(
        new MemberReplacement.Targets(2, 1), List.of(Member.learner(4, Role.WITNESS)),
        60_000_000_000L, Variant.CORRECT), null);
    Membership withFour = Membership.of(Member.voter(2, Role.BACKUP),
        Member.voter(3, Role.WITNESS), Member.voter(4, Role.WITNESS));
    spares.follow(withFour);
    assertThat(spares.sparesLeft()).isZero();
    spares.usePolicy(policy(), withFour);
    assertThat(spares.sparesLeft()).isEqualTo(1);
    assertThat(spares.spares()).hasSize(2);
    assertThat(spares.describe(withFour)).containsExactly("5 witness spare unused ");
    // A spare an operator added by hand before its line arrived is spent at once.
    Membership withSix = Membership.of(Member.voter(2, Role.BACKUP),
        Member.voter(3, Role.WITNESS), Member.voter(4, Role.WITNESS),
        Member.learner(6, Role.WITNESS));
    spares.usePolicy(new MemberReplacement(new MemberReplacement.Targets(2, 1),
        List.of(Member.learner(5, Role.WITNESS), Member.learner(6, Role.WITNESS)),
        5_000_000_000L, Variant.CORRECT), withSix);
    assertThat(spares.replaceAfterMillis()).as("the new bound").isEqualTo(5_000);
    assertThat(spares.sparesLeft()).isEqualTo(1);
    assertThat(spares.describe(withSix)).containsExactly("5 witness spare unused ");
  }
}
