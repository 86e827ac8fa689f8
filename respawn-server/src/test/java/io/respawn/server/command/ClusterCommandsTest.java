package io.respawn.server.command;

import static org.assertj.core.api.Assertions.assertThat;

import io.respawn.core.Role;
import io.respawn.server.resp.Reply;
import io.respawn.server.shard.ReplicatedStore;
import io.respawn.server.shard.ShardView;
import io.respawn.server.shard.ShardView.MemberView;
import io.respawn.server.shard.ShardWrites;
import io.respawn.server.testing.HeldShardWrites;
import io.respawn.server.testing.MapKvStore;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** The Redis Cluster face of a shard member: redirects and the CLUSTER replies. */
class ClusterCommandsTest {
  private static final List<MemberView> MEMBERS = List.of(
      new MemberView(ShardView.nodeName("s", 1), "127.0.0.1", 7379, 17379, Role.PRIMARY, true),
      new MemberView(ShardView.nodeName("s", 2), "127.0.0.1", 7380, 17380, Role.BACKUP, true),
      new MemberView(ShardView.nodeName("s", 3), "127.0.0.1", 7381, 17381, Role.WITNESS, false));

  private final AtomicReference<ShardView> view =
      new AtomicReference<>(new ShardView(1, 0, 4, MEMBERS));
  private final CommandHarness h = new CommandHarness(new MapKvStore());

  ClusterCommandsTest() {
    h.dispatcher.enableCluster(view::get, () -> java.util.Map.of("replication",
        java.util.Map.of("role", "slave"), "cluster", java.util.Map.of("cluster_enabled", 1)));
  }

  @Test
  void aNonPrimaryRedirectsDataCommandsToThePrimary() {
    assertThat(h.call("set", "foo", "v")).isEqualTo("(error) MOVED 12182 127.0.0.1:7379");
    assertThat(h.call("get", "bar")).isEqualTo("(error) MOVED 5061 127.0.0.1:7379");
    assertThat(h.call("dbsize")).startsWith("(error) MOVED 0 127.0.0.1:7379");
    assertThat(h.call("ping")).isEqualTo("PONG");
    assertThat(h.call("cluster", "keyslot", "foo")).isEqualTo("(integer) 12182");
  }

  @Test
  void thePrimaryServesAndNoPrimaryMeansClusterDown() throws Exception {
    view.set(new ShardView(0, 0, 4, MEMBERS));
    assertThat(h.call("set", "foo", "v")).isEqualTo("OK");
    assertThat(h.call("get", "foo")).isEqualTo("\"v\"");
    view.set(new ShardView(0, -1, 5, MEMBERS));
    // No primary: the command waits for one, and is refused once it has waited its longest.
    Session s = h.newSession();
    assertThat(h.submit(s, "get", "foo")).as("held").isNull();
    assertThat(h.resumeHeld()).as("still no primary").isEmpty();
    s.settleWaitSinceNanos -= ClusterCommands.SETTLE_WAIT_NANOS;
    assertThat(h.resumeHeld()).containsExactly("(error) CLUSTERDOWN The cluster is down");
    assertThat(h.call("cluster", "info")).contains("cluster_state:fail");
    // During the election the topology still names the last primary (as Redis keeps a failed
    // master's slots until a replica is promoted), so refreshing clients keep a slot owner.
    assertThat(h.call("cluster", "slots")).contains("(integer) 7379");
  }

  /**
   * A spare primary that waits to be added knows no leader and lists itself beside the configured
   * primary: its topology names the configured primary, so a cluster client that asks it first
   * sends its writes there, not to the spare (which would hold them until CLUSTERDOWN).
   */
  @Test
  void aSparePrimaryWithNoLeaderKnownDescribesTheConfiguredPrimaryNotItself() {
    List<MemberView> withSpare = new java.util.ArrayList<>(MEMBERS);
    withSpare.add(new MemberView(ShardView.nodeName("s", 4), "127.0.0.1", 7382, 17382,
        Role.PRIMARY, true));
    view.set(new ShardView(3, -1, 1, withSpare));
    assertThat(h.call("cluster", "slots"))
        .startsWith("[[(integer) 0, (integer) 16383, [\"127.0.0.1\", (integer) 7379");
  }

  /**
   * A member that has known no primary since it started names the configured primary only while
   * it hears from it. A spare not added yet hears from no member (they refuse it), and a member
   * restarted after its configured primary was lost would otherwise send a client renewing its
   * slots there back to a dead node again and again; an empty CLUSTER SLOTS sends the client to
   * another node instead.
   */
  @Test
  void aMemberThatKnewNoPrimaryNamesTheConfiguredOneOnlyWhileItHearsFromIt() {
    List<MemberView> unheard = new ArrayList<>(MEMBERS);
    unheard.set(0, new MemberView(ShardView.nodeName("s", 1), "127.0.0.1", 7379, 17379,
        Role.PRIMARY, false));
    unheard.add(new MemberView(ShardView.nodeName("s", 4), "127.0.0.1", 7382, 17382,
        Role.WITNESS, true));
    view.set(new ShardView(3, -1, 1, unheard));
    assertThat(h.call("cluster", "slots")).isEqualTo("[]");
    assertThat(h.call("cluster", "nodes")).doesNotContain("master");
    assertThat(h.call("cluster", "shards")).doesNotContain("\"master\"");
    // Not known either way yet (its link being set up, as at start-up): still named.
    List<MemberView> settingUp = new ArrayList<>(unheard);
    settingUp.set(0, new MemberView(ShardView.nodeName("s", 1), "127.0.0.1", 7379, 17379,
        Role.PRIMARY, false, false));
    view.set(new ShardView(3, -1, 1, settingUp));
    assertThat(h.call("cluster", "slots")).startsWith(
        "[[(integer) 0, (integer) 16383, [\"127.0.0.1\", (integer) 7379");
    // A spare primary beside an unreachable configured primary does not name itself either.
    List<MemberView> sparePrimary = new ArrayList<>(unheard);
    sparePrimary.set(3, new MemberView(ShardView.nodeName("s", 4), "127.0.0.1", 7382, 17382,
        Role.PRIMARY, true));
    view.set(new ShardView(3, -1, 1, sparePrimary));
    assertThat(h.call("cluster", "slots")).isEqualTo("[]");
    // Once it hears from the configured primary, it names it.
    view.set(new ShardView(3, -1, 1, withFourth(Role.WITNESS)));
    assertThat(h.call("cluster", "slots")).startsWith(
        "[[(integer) 0, (integer) 16383, [\"127.0.0.1\", (integer) 7379");
  }

  /** The configured primary, starting up and about to lead, names itself once it hears a peer. */
  @Test
  void theConfiguredPrimaryThatKnewNoLeaderYetNamesItselfOnceItHearsAPeer() {
    List<MemberView> alone = List.of(MEMBERS.get(0),
        new MemberView(ShardView.nodeName("s", 2), "127.0.0.1", 7380, 17380, Role.BACKUP, false),
        new MemberView(ShardView.nodeName("s", 3), "127.0.0.1", 7381, 17381, Role.WITNESS,
            false));
    view.set(new ShardView(0, -1, 0, alone, false));
    // Before it hears from any other member: it may be a primary the shard removed while it was
    // away (every member refuses it then), so it names no one.
    assertThat(h.call("cluster", "slots")).isEqualTo("[]");
    List<MemberView> heard = new ArrayList<>(alone);
    heard.set(2, new MemberView(ShardView.nodeName("s", 3), "127.0.0.1", 7381, 17381,
        Role.WITNESS, true));
    view.set(new ShardView(0, -1, 0, heard, false));
    assertThat(h.call("cluster", "slots")).isEqualTo(
        "[[(integer) 0, (integer) 16383, [\"127.0.0.1\", (integer) 7379, \""
        + MEMBERS.get(0).nodeName() + "\"], [\"127.0.0.1\", (integer) 7381, \""
        + MEMBERS.get(2).nodeName() + "\"]]]");
  }

  private static List<MemberView> withFourth(Role role) {
    List<MemberView> all = new ArrayList<>(MEMBERS);
    all.add(new MemberView(ShardView.nodeName("s", 4), "127.0.0.1", 7382, 17382, role, true));
    return all;
  }

  @Test
  void aRedirectInsideMultiAbortsTheTransaction() {
    assertThat(h.call("multi")).isEqualTo("OK");
    assertThat(h.call("set", "foo", "v")).startsWith("(error) MOVED");
    assertThat(h.call("exec")).startsWith("(error) EXECABORT");
  }

  @Test
  void clusterRepliesDescribeTheShard() {
    assertThat(h.call("cluster", "myid")).isEqualTo("\"" + MEMBERS.get(1).nodeName() + "\"");
    String slots = h.call("cluster", "slots");
    assertThat(slots).startsWith("[[(integer) 0, (integer) 16383, [\"127.0.0.1\", (integer) 7379");
    // The unreachable witness is left out, as Redis leaves out failed replicas.
    assertThat(slots).contains("(integer) 7380").doesNotContain("(integer) 7381");
    String nodes = ClusterCommands.nodes(view.get());
    assertThat(nodes.lines()).hasSize(3);
    assertThat(nodes.lines().toList().get(0)).isEqualTo(MEMBERS.get(0).nodeName()
        + " 127.0.0.1:7379@17379 master - 0 0 4 connected 0-16383");
    assertThat(nodes.lines().toList().get(1)).isEqualTo(MEMBERS.get(1).nodeName()
        + " 127.0.0.1:7380@17380 myself,slave " + MEMBERS.get(0).nodeName()
        + " 0 0 4 connected");
    assertThat(nodes.lines().toList().get(2)).contains("slave,fail").endsWith("disconnected");
    assertThat(h.call("cluster", "info")).contains("cluster_state:ok")
        .contains("cluster_known_nodes:3");
    assertThat(h.call("cluster", "shards")).contains("\"master\"").contains("\"failed\"");
    assertThat(h.call("cluster", "addslots", "1")).startsWith("(error) ERR CLUSTER ADDSLOTS is not supported");
    assertThat(h.call("cluster", "bogus")).startsWith("(error) ERR unknown subcommand 'bogus'");
    assertThat(h.call("info")).contains("role:slave").contains("cluster_enabled:1")
        .doesNotContain("role:master");
  }

  /** A harness whose member 1 (port 7379) is the primary, writing through {@code writes}. */
  private CommandHarness primaryHarness(HeldShardWrites writes) {
    view.set(new ShardView(0, 0, 4, MEMBERS));
    CommandHarness p = new CommandHarness(new ReplicatedStore(new MapKvStore(), writes));
    p.dispatcher.enableCluster(view::get, java.util.Map::of);
    return p;
  }

  private static String awaitReply(Reply r) throws Exception {
    r.gate().handle((v, e) -> null).get(5, TimeUnit.SECONDS);
    return CommandHarness.render(r);
  }

  @Test
  void aWriteRefusedUnproposedInAHandOverIsRedirectedToTheNewPrimaryOnceItIsKnown()
      throws Exception {
    HeldShardWrites writes = new HeldShardWrites(null);
    CommandHarness p = primaryHarness(writes);
    Reply set = p.send(p.session, "set", "foo", "v");
    p.dispatcher.endPass();
    // Leadership is being handed over: no primary known yet, and the node loop refuses the
    // write without proposing it.
    writes.serving = false;
    view.set(new ShardView(0, -1, 5, MEMBERS, false));
    writes.ordered.get(0).completeExceptionally(new ShardWrites.NotPrimaryException(
        "TRYAGAIN this member is not the primary; retry", true));
    Thread.sleep(50);
    assertThat(set.isReady()).as("waits for the shard to settle").isFalse();
    view.set(new ShardView(0, 2, 5, MEMBERS, false));
    assertThat(awaitReply(set)).isEqualTo("(error) MOVED 12182 127.0.0.1:7381");
  }

  @Test
  void aWriteWhoseOutcomeIsUnknownIsNotRedirected() throws Exception {
    HeldShardWrites writes = new HeldShardWrites(null);
    CommandHarness p = primaryHarness(writes);
    Reply incr = p.send(p.session, "incr", "n");
    p.dispatcher.endPass();
    view.set(new ShardView(0, 2, 5, MEMBERS, false));
    writes.ordered.get(0).completeExceptionally(new ShardWrites.NotPrimaryException(
        "UNCERTAIN the primary changed before this write's outcome was known", false));
    // A retry elsewhere could apply it twice: the client is told, not redirected.
    assertThat(awaitReply(incr)).contains("UNCERTAIN").doesNotContain("MOVED");
  }

  @Test
  void anAcknowledgedWriteIsAnsweredAsUsual() throws Exception {
    HeldShardWrites writes = new HeldShardWrites(null);
    CommandHarness p = primaryHarness(writes);
    Reply set = p.send(p.session, "set", "foo", "v");
    p.dispatcher.endPass();
    writes.ordered.get(0).complete(null);
    assertThat(awaitReply(set)).isEqualTo("OK");
  }

  @Test
  void aReadRefusedForWantOfTheLeaseIsRedirected() throws Exception {
    HeldShardWrites writes = new HeldShardWrites(null);
    view.set(new ShardView(0, 0, 4, MEMBERS));
    // The lease runs out between the redirect check (which still saw this member serving) and
    // the read: the store refuses it, and the client is redirected once the shard settles.
    AtomicInteger looks = new AtomicInteger();
    CommandHarness p = new CommandHarness(new ReplicatedStore(new MapKvStore(), writes));
    p.dispatcher.enableCluster(() -> {
      ShardView v = view.get();
      return new ShardView(v.self(), v.primary(), v.epoch(), v.members(),
          v.selfServing() && (looks.getAndIncrement() == 0 || writes.serving));
    }, java.util.Map::of);
    writes.serving = false;
    Reply get = p.send(p.session, "get", "foo");
    p.dispatcher.endPass();
    view.set(new ShardView(0, 1, 5, MEMBERS, false));
    assertThat(awaitReply(get)).isEqualTo("(error) MOVED 12182 127.0.0.1:7380");
  }

  /**
   * A member that leads but may not serve yet (its read lease not renewed yet, just after it won
   * an election) holds a client's commands, in order, and runs them itself once it serves: a
   * plain client (no cluster support) cannot follow a MOVED to the member it is connected to.
   * The cluster face wakes the command loop when the shard settles.
   */
  @Test
  void aPrimaryNotServingYetHoldsCommandsAndRunsThemOnceItServes() throws Exception {
    HeldShardWrites writes = new HeldShardWrites(null);
    CommandHarness p = primaryHarness(writes);
    AtomicInteger wakes = new AtomicInteger();
    p.dispatcher.wakeHeld(wakes::incrementAndGet);
    view.set(new ShardView(0, 0, 5, MEMBERS, false));
    writes.serving = false;
    Session s = p.newSession();
    assertThat(p.submit(s, "set", "foo", "v")).as("held").isNull();
    assertThat(p.submit(s, "get", "foo")).as("behind it").isNull();
    assertThat(p.submit(s, "ping")).isNull();
    assertThat(p.call(p.newSession(), "ping")).as("other clients' PING").isEqualTo("PONG");
    Thread.sleep(50);
    assertThat(wakes.get()).as("nothing settled yet").isZero();
    assertThat(p.resumeHeld()).as("a tick: still not serving").isEmpty();

    writes.serving = true;
    view.set(new ShardView(0, 0, 5, MEMBERS, true));
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (wakes.get() == 0 && System.nanoTime() < deadline) {
      Thread.sleep(5);
    }
    assertThat(wakes.get()).as("woken once the shard settled").isPositive();
    List<Reply> replies = new ArrayList<>();
    p.dispatcher.resumeHeld((x, r) -> replies.add(r));
    p.dispatcher.endPass();
    assertThat(replies).hasSize(3);
    writes.ordered.get(0).complete(null);
    List<String> rendered = new ArrayList<>();
    for (Reply r : replies) {
      rendered.add(r.gate() == null ? CommandHarness.render(r) : awaitReply(r));
    }
    assertThat(rendered).containsExactly("OK", "\"v\"", "PONG");
  }

  /** A held command whose member loses the election meanwhile is redirected to the winner. */
  @Test
  void aHeldCommandIsRedirectedWhenAnotherMemberWins() throws Exception {
    HeldShardWrites writes = new HeldShardWrites(null);
    CommandHarness p = primaryHarness(writes);
    view.set(new ShardView(0, -1, 5, MEMBERS, false));
    writes.serving = false;
    Session s = p.newSession();
    assertThat(p.submit(s, "get", "foo")).isNull();
    view.set(new ShardView(0, 2, 6, MEMBERS, false));
    assertThat(p.resumeHeld()).containsExactly("(error) MOVED 12182 127.0.0.1:7381");
    assertThat(s.settleWaitSinceNanos).as("the wait is over").isZero();
  }
}
