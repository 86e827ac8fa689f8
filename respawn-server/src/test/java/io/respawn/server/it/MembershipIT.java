package io.respawn.server.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.JedisCluster;

/**
 * The operator's replacement of a dead backup (docs/operations.md, "Replacing a member"), on real
 * processes while a client writes: the backup is killed for good ({@code kill -9}, not
 * restarted), {@code respawn member remove} takes it out (a witness stands in so writes commit
 * meanwhile), a new process started with {@code join = true} is added with {@code respawn member
 * add}, catches up from the primary's log as a learner and is promoted with {@code respawn member
 * promote}. The client sees no error at any point, and the new member ends up holding every
 * acknowledged write: the primary's WAIT counts it, and once the primary is killed as well the
 * witness takes over and serves the newest value of every key from the new member.
 */
class MembershipIT {
  @TempDir Path tmp;

  private static String java() {
    return Path.of(System.getProperty("java.home"), "bin", "java").toString();
  }

  private static String classpath() {
    return System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
  }

  /** Runs {@code respawn member ARGS...}; returns exit code and output. */
  private static String member(int port, String... args) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>(List.of(java(), "-cp", classpath(),
        "io.respawn.server.cli.RespawnCommand", "member"));
    cmd.addAll(List.of(args));
    cmd.addAll(List.of("--port", Integer.toString(port)));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(150, TimeUnit.SECONDS)).as("respawn member finished").isTrue();
    return "exit " + p.exitValue() + "\n" + out.strip();
  }

  @Test
  void aDeadBackupIsReplacedOnlineWhileAClientWrites() throws Exception {
    int port = ShardProcess.freePortRange(4);
    Path data = tmp.resolve("data");
    // The supervisor would restart the killed backup after a second; here it stays dead.
    try (ShardProcess shard = ShardProcess.start(data, port, "1+1+1",
        "--restart-delay-ms", "600000")) {
      // Start writing once the configured primary leads: right after start-up another member
      // may lead first and hand leadership back to it, which is not what this test is about.
      awaitMemberOneServes(shard);
      int primary = shard.primaryPort();
      // A cluster client, as users of a shard run: it follows the primary wherever it moves
      // (leadership may go back to the configured primary right after start-up).
      Writer writer = Writer.start("membership-it-writer", shard.port(1), shard.port(3));

      // The backup (member 2) dies for good.
      kill(shard.port(2));
      assertThat(member(primary, "remove", "--id", "2")).startsWith("exit 0");
      writer.awaitMore(20);

      // A new backup, member 4, joins: its config lists the shard as it is now and itself.
      int newResp = port + 3;
      int newPeer = newResp + 10_000;
      Process joiner = startJoiner(data, 4, "backup", newResp, 1, Set.of(2));
      try {
        assertThat(member(primary, "add", "--id", "4", "--role", "backup", "--resp",
            "127.0.0.1:" + newResp, "--peer", "127.0.0.1:" + newPeer)).startsWith("exit 0");
        String promoted = member(primary, "promote", "--id", "4");
        assertThat(promoted).as(promoted).startsWith("exit 0");
        String list = member(primary, "list");
        assertThat(list).as(list).contains("4 backup voter").doesNotContain("2 backup");

        writer.awaitMore(20);
        writer.finish();
        // Every acknowledged write is held by the new backup: WAIT counts it (the witness,
        // which stood in for the dead backup, holds keys only and is not counted).
        try (Jedis j = new Jedis("127.0.0.1", shard.primaryPort(), 20_000)) {
          assertThat(j.waitReplicas(1, 10_000)).isEqualTo(1);
        }
        try (Jedis j = new Jedis("127.0.0.1", newResp, 5_000)) {
          String info = j.info("shard");
          assertThat(info).contains("respawn_voting:1");
        }
        // The new member serves as the shard's backup: with the primary killed too, the witness
        // takes over and pulls the values it lacks from member 4 alone.
        long n = writer.acknowledged();
        int oldPrimary = shard.primaryPort();
        kill(oldPrimary);
        try (var j = cluster(shard.port(3), newResp)) {
          assertNewestValues(j::get, n, " after the primary's loss");
        }
        System.out.println("MembershipIT: " + n + " writes acknowledged, 0 errors, while backup 2 "
            + "was killed, removed and replaced by member 4; after the primary was killed too, "
            + "the witness served every value from member 4\n" + list);
      } finally {
        stop(joiner);
      }
    }
  }

  /**
   * No operator: {@code respawn up --spares 1} runs a spare witness (member 4) beside the 1+1+1
   * shard. The primary is killed for good while a client writes; the witness takes over, and
   * once the old primary has been silent for {@code --replace-after-ms} the new primary adds the
   * spare, promotes it when caught up and removes the old primary. The shard then survives the
   * loss of that new primary as well: the former spare takes over and serves every acknowledged
   * write (values pulled from the backup). The client sees no error throughout.
   */
  @Test
  void aPrimaryLostForGoodIsReplacedByASpareWitnessWithoutAnOperator() throws Exception {
    int port = ShardProcess.freePortRange(5);
    Path data = tmp.resolve("data");
    long replaceAfterMillis = 3_000;
    try (ShardProcess shard = ShardProcess.start(data, port, "1+1+1", "--spares", "1",
        "--replace-after-ms", Long.toString(replaceAfterMillis), "--restart-delay-ms", "600000")) {
      awaitMemberOneServes(shard);
      String before = member(port, "list");
      assertThat(before).as(before).contains("1 primary voter")
          .contains("4 witness spare unused 127.0.0.1:" + (port + 3));
      // Seeded with the spare too, as a client with a fixed seed list would be: a spare not added
      // yet hears from no member and answers CLUSTER SLOTS empty, so a client renewing its
      // slots there after the kill asks another seed instead of being sent to the dead primary.
      Writer writer = Writer.start("spare-it-writer", shard.port(2), shard.port(3), port + 3);

      long killedAt = System.nanoTime();
      kill(shard.port(1));
      // The witness leads; the spare is added, promoted, and member 1 removed.
      String list = awaitList(shard.port(3), "4 witness voter", "1 primary");
      long replacedMillis = (System.nanoTime() - killedAt) / 1_000_000;
      assertThat(list).as(list + "\n" + shard.memberLogs()).contains("4 witness voter")
          .doesNotContain("1 primary").contains("3 witness voter primary")
          .doesNotContain("spare unused");
      assertThat(replacedMillis).as("not before the bound").isGreaterThan(replaceAfterMillis);
      try (Jedis j = new Jedis("127.0.0.1", shard.port(3), 5_000)) {
        String info = j.info("shard");
        assertThat(info).contains("respawn_members_replaced:1").contains("respawn_spares_added:1")
            .contains("respawn_spares_left:0");
      }
      writer.awaitMore(20);

      // The operator refills the pool without restarting anyone: a new spare witness, member
      // 5, and its line added to the members' config files, which they re-read every second.
      int spareResp = port + 4;
      Process spare = startJoiner(data, 5, "witness", spareResp, 4, Set.of(1));
      try {
        String spareLine = "spare.5 = witness 127.0.0.1:" + spareResp + " 127.0.0.1:"
            + (spareResp + 10_000) + "\n";
        for (int id : new int[] {2, 3, 4}) {
          Files.writeString(data.resolve("node-" + id).resolve("respawn.conf"), spareLine,
              java.nio.file.StandardOpenOption.APPEND);
        }
        String refilled = awaitList(shard.port(3), "5 witness spare unused", "nothing");
        assertThat(refilled).as(refilled).contains("5 witness spare unused");

        // The new primary (member 3) is lost too: the former spare takes over, and adds spare 5
        // in member 3's place.
        kill(shard.port(3));
        writer.awaitMore(20);
        String after = awaitList(port + 3, "5 witness voter", "3 witness");
        assertThat(after).as(after + "\n" + shard.memberLogs()).contains("5 witness voter")
            .contains("4 witness voter primary").doesNotContain("3 witness");
        writer.finish();
        long n = writer.acknowledged();
        try (var j = cluster(port + 3)) {
          assertNewestValues(j::get, n, " after both losses");
        }
        try (Jedis j = new Jedis("127.0.0.1", port + 3, 5_000)) {
          assertThat(j.info("replication")).contains("respawn_role:primary");
          assertThat(j.info("shard")).contains("respawn_spares_added:1")
              .contains("respawn_members_replaced:1").contains("respawn_spares_left:0");
        }
        list = after;
      } finally {
        stop(spare);
      }
      System.out.println("MembershipIT: primary killed; spare 4 added, promoted and member 1 "
          + "removed " + replacedMillis + " ms after the kill (replace-after-ms "
          + replaceAfterMillis + "); the operator added spare 5 to the members' files; member 3 "
          + "killed, member 4 took over and put spare 5 in its place; " + writer.acknowledged()
          + " writes acknowledged, 0 errors\n" + list);
    }
  }

  /**
   * After a primary lost for good, with a spare primary: {@code respawn up --primary-spares 1}
   * runs spare primary 4 beside the 1+1+1 shard. The primary is killed for good while a client
   * writes; the witness takes over, adds spare 4 as a primary once member 1 has been silent for
   * {@code --replace-after-ms}, promotes it in member 1's place when caught up (it is sent the
   * backup's image and full entries), and hands leadership to it. The shard is a 1+1+1 again
   * with every value in its primary's memory and images, so it can do what a shard led by the
   * witness could not: the backup is killed for good too, the operator removes it and adds a new
   * backup (member 5), which catches up from the new primary's own snapshot (values included)
   * and is promoted. The client sees no error throughout; the new backup holds every write (WAIT
   * counts it), and once the new primary is killed as well, the witness serves every newest
   * value from member 5.
   */
  @Test
  void aSparePrimaryTakesALostPrimarysPlaceAndSeedsTheNextBackup() throws Exception {
    int port = ShardProcess.freePortRange(5);
    Path data = tmp.resolve("data");
    long replaceAfterMillis = 3_000;
    // Snapshots every 1,000 entries: the log the new backup needs is compacted by then, so it
    // catches up from a snapshot, which only a member that keeps values can send in full.
    try (ShardProcess shard = ShardProcess.start(data, port, "1+1+1", "--primary-spares", "1",
        "--replace-after-ms", Long.toString(replaceAfterMillis), "--restart-delay-ms", "600000",
        "--snapshot-entries", "1000", "--member-config", "snapshot-tail-entries=2",
        "--member-config", SnapshotIT.NO_GROWTH_GATE)) {
      awaitMemberOneServes(shard);
      String before = member(port, "list");
      assertThat(before).as(before).contains("4 primary spare unused 127.0.0.1:" + (port + 3));
      int spareResp = port + 3;
      int newResp = port + 4;
      // Seeded with the spare and the member to come too (see the test above).
      Writer writer = Writer.start("spare-primary-it-writer", shard.port(2), shard.port(3),
          spareResp, newResp);

      long killedAt = System.nanoTime();
      kill(shard.port(1));
      String list = awaitList(shard.port(3), "4 primary voter primary", "1 primary");
      long replacedMillis = (System.nanoTime() - killedAt) / 1_000_000;
      assertThat(list).as(list + "\n" + shard.memberLogs()).contains("4 primary voter primary")
          .doesNotContain("1 primary").contains("3 witness voter").doesNotContain("spare unused");
      assertThat(replacedMillis).as("not before the bound").isGreaterThan(replaceAfterMillis);
      try (Jedis j = new Jedis("127.0.0.1", spareResp, 5_000)) {
        assertThat(j.info("replication")).contains("respawn_role:primary")
            .contains("respawn_config_role:primary");
      }
      writer.awaitMore(20);

      // The backup dies for good too; the new primary lets the witness stand in meanwhile.
      kill(shard.port(2));
      assertThat(member(spareResp, "remove", "--id", "2")).startsWith("exit 0");
      writer.awaitMore(20);
      Process joiner = startJoiner(data, 5, "backup", newResp, 4, Set.of(1, 2));
      try {
        assertThat(member(spareResp, "add", "--id", "5", "--role", "backup", "--resp",
            "127.0.0.1:" + newResp, "--peer", "127.0.0.1:" + (newResp + 10_000)))
            .startsWith("exit 0");
        String promoted = member(spareResp, "promote", "--id", "5");
        assertThat(promoted).as(promoted + "\n" + shard.memberLogs()).startsWith("exit 0");
        list = member(spareResp, "list");
        assertThat(list).as(list).contains("5 backup voter").doesNotContain("2 backup");
        String joinerLog = Files.readString(data.resolve("node-5").resolve("respawn.log"));
        assertThat(joinerLog).as("member 5 caught up from a snapshot").contains(
            "snapshot installed at index");
        writer.awaitMore(20);
        writer.finish();
        try (Jedis j = new Jedis("127.0.0.1", spareResp, 20_000)) {
          assertThat(j.waitReplicas(1, 10_000)).as("the new backup holds every write")
              .isEqualTo(1);
        }
        long n = writer.acknowledged();
        kill(spareResp);
        try (var j = cluster(shard.port(3), newResp)) {
          assertNewestValues(j::get, n, " after three losses");
        }
        System.out.println("MembershipIT: primary killed; spare primary 4 took member 1's place "
            + replacedMillis + " ms after the kill and leads; backup 2 killed, removed and "
            + "replaced by member 5 (a snapshot, then the log); after member 4 was killed too, the "
            + "witness served every value from member 5; " + n + " writes acknowledged, 0 errors"
            + "\n" + list);
      } finally {
        stop(joiner);
      }
    }
  }

  /**
   * Starts a new member of {@code role} that joins (member {@code id}, RESP on {@code resp},
   * peer port 10,000 above): its config is member {@code templateId}'s file as {@code respawn
   * up} wrote it, without the lines of the members {@code gone}, with its own line and {@code
   * join = true}.
   */
  private Process startJoiner(Path data, int id, String role, int resp, int templateId,
      Set<Integer> gone) throws IOException {
    Path newDir = Files.createDirectories(data.resolve("node-" + id));
    String base = Files.readString(data.resolve("node-" + templateId).resolve("respawn.conf"));
    StringBuilder conf = new StringBuilder();
    for (String line : base.split("\n")) {
      boolean goneLine = gone.stream().anyMatch(g -> line.startsWith("member." + g + " "));
      if (goneLine || line.startsWith("node-id") || line.startsWith("data")
          || line.startsWith("join")) {
        continue;
      }
      conf.append(line).append('\n');
    }
    conf.append("node-id = ").append(id).append("\ndata = .\njoin = true\n");
    conf.append("member.").append(id).append(" = ").append(role).append(" 127.0.0.1:")
        .append(resp)
        .append(" 127.0.0.1:").append(resp + 10_000).append('\n');
    Path confFile = newDir.resolve("respawn.conf");
    Files.writeString(confFile, conf.toString());
    return new ProcessBuilder(java(), "-ea", "-Xmx512m", "-XX:+UseSerialGC",
        "-XX:TieredStopAtLevel=1", "-cp", classpath(), "io.respawn.server.cli.RespawnCommand",
        "node", "--config", confFile.toString())
        .redirectErrorStream(true).redirectOutput(newDir.resolve("respawn.log").toFile())
        .start();
  }

  /**
   * An operator replaces a lost primary by hand: while member 1 leads, adding a primary is
   * refused (a shard has one); once it is killed for good and the witness leads, a new process
   * (member 4, role primary, {@code join = true}) is added as a learner, its promotion is refused
   * while member 1 is still a voter, member 1 is removed, member 4 is promoted, and the witness
   * hands it leadership once it is caught up. A client writes throughout without an error, and
   * member 4 serves every value.
   */
  @Test
  void anOperatorReplacesALostPrimaryWithANewOne() throws Exception {
    int port = ShardProcess.freePortRange(4);
    Path data = tmp.resolve("data");
    try (ShardProcess shard = ShardProcess.start(data, port, "1+1+1",
        "--restart-delay-ms", "600000")) {
      awaitMemberOneServes(shard);
      int newResp = port + 3;
      String peerArgs = "127.0.0.1:" + (newResp + 10_000);
      String refused = member(port, "add", "--id", "4", "--role", "primary", "--resp",
          "127.0.0.1:" + newResp, "--peer", peerArgs);
      assertThat(refused).as(refused).startsWith("exit 1")
          .contains("a shard has one primary, and member 1 answers");
      Writer writer = Writer.start("primary-swap-it-writer", shard.port(2), shard.port(3), newResp);
      kill(shard.port(1));
      writer.awaitMore(20);
      Process joiner = startJoiner(data, 4, "primary", newResp, 1, Set.of());
      try {
        int witness = shard.port(3);
        String added = member(witness, "add", "--id", "4", "--role", "primary", "--resp",
            "127.0.0.1:" + newResp, "--peer", peerArgs);
        assertThat(added).as(added + "\n" + shard.memberLogs()).startsWith("exit 0");
        String early = member(witness, "promote", "--id", "4");
        assertThat(early).as(early).startsWith("exit 1")
            .contains("member 1 is the shard's primary");
        assertThat(member(witness, "remove", "--id", "1")).startsWith("exit 0");
        String promoted = member(witness, "promote", "--id", "4");
        assertThat(promoted).as(promoted).startsWith("exit 0");
        String list = awaitList(witness, "4 primary voter primary", "1 primary");
        assertThat(list).as(list + "\n" + shard.memberLogs())
            .contains("4 primary voter primary").doesNotContain("1 primary");
        writer.awaitMore(20);
        writer.finish();
        long n = writer.acknowledged();
        try (var j = new Jedis("127.0.0.1", newResp, 5_000)) {
          assertNewestValues(j::get, n, " on the new primary");
        }
        // Member 1 started again by hand, as a service manager would: the shard removed it while
        // it was away, and its peers refuse it as not a member, so it stops with exit code 3
        // instead of serving as the primary it was.
        long restartedAt = System.nanoTime();
        Process old = startByHand(data, 1);
        List<Object> slotsThere;
        String oldOut;
        try {
          slotsThere = removedMembersSlots(old, shard.port(1));
        } finally {
          oldOut = outputOnceStopped(old, 90, "member 1 stops by itself");
        }
        long stoppedMillis = (System.nanoTime() - restartedAt) / 1_000_000;
        // Until it stopped it named no primary: it heard from no member, so it could not know
        // that it still led (clients renewing their slots there ask another node).
        assertThat(slotsThere).as("CLUSTER SLOTS on the removed member 1").isEmpty();
        assertThat(old.exitValue()).as(oldOut).isEqualTo(3);
        assertThat(oldOut).contains("member 1 is no longer a member of the shard");
        // It left a marker in its data directory: started once more, it refuses at once.
        long againAt = System.nanoTime();
        Process again = startByHand(data, 1);
        String againOut = outputOnceStopped(again, 30, "refuses at once");
        long againMillis = (System.nanoTime() - againAt) / 1_000_000;
        assertThat(again.exitValue()).as(againOut).isEqualTo(3);
        assertThat(againOut).contains("member 1 is not started: it was removed from the shard at")
            .doesNotContain("serving RESP");
        assertThat(member(witness, "list")).contains("4 primary voter primary");
        System.out.println("MembershipIT: primary killed for good; the operator added member 4 "
            + "as the new primary, removed member 1, promoted member 4, which leads; " + n
            + " writes acknowledged, 0 errors; member 1 started again stopped by itself "
            + stoppedMillis + " ms later (exit code 3), and refused to start once more ("
            + againMillis + " ms)\n" + list);
      } finally {
        stop(joiner);
      }
    }
  }

  private static boolean servesWrites(int port) {
    try (Jedis j = new Jedis("127.0.0.1", port, 5_000)) {
      return "OK".equals(j.set("membership-it:ready", "1"));
    } catch (RuntimeException e) {
      return false; // not leading (MOVED), not ready yet (TRYAGAIN), or not up
    }
  }

  /** Start writing once the configured primary leads (another may lead first, then hand back). */
  private static void awaitMemberOneServes(ShardProcess shard) throws InterruptedException {
    long settle = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
    while (!servesWrites(shard.port(1))) {
      assertThat(System.nanoTime() < settle).as("member 1 leads and serves").isTrue();
      Thread.sleep(200);
    }
  }

  private static final DefaultJedisClientConfig CLIENT = DefaultJedisClientConfig.builder()
      .connectionTimeoutMillis(2_000).socketTimeoutMillis(20_000).build();

  /** Member {@code id} of the shard under {@code data}, started by hand as a service manager would. */
  private static Process startByHand(Path data, int id) throws IOException {
    return new ProcessBuilder(java(), "-Xmx256m", "-XX:TieredStopAtLevel=1", "-cp", classpath(),
        "io.respawn.server.cli.RespawnCommand", "node", "--config",
        data.resolve("node-" + id).resolve("respawn.conf").toString())
        .redirectErrorStream(true).start();
  }

  /**
   * What {@code p} printed, once it stopped by itself within {@code seconds} (else the test
   * fails); it is never left running.
   */
  private static String outputOnceStopped(Process p, long seconds, String what)
      throws IOException, InterruptedException {
    try {
      assertThat(p.waitFor(seconds, TimeUnit.SECONDS)).as(what).isTrue();
      return new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    } finally {
      p.destroyForcibly();
    }
  }

  /**
   * CLUSTER SLOTS of {@code process}'s member at {@code port}, asked 1 s and 2 s after it first
   * answers (both replies' ranges together; by then its peers have refused it, which its first
   * dials learn within milliseconds); fails if the process stops before it answers.
   */
  private static List<Object> removedMembersSlots(Process process, int port)
      throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (true) {
      assertThat(process.isAlive()).as("member at " + port + " alive until it answers").isTrue();
      assertThat(System.nanoTime()).as("member at " + port + " answers").isLessThan(deadline);
      try (Jedis j = new Jedis("127.0.0.1", port, 1_000)) {
        j.ping();
        Thread.sleep(1_000);
        List<Object> ranges = new ArrayList<>(j.clusterSlots());
        Thread.sleep(1_000);
        ranges.addAll(j.clusterSlots());
        return ranges;
      } catch (redis.clients.jedis.exceptions.JedisConnectionException e) {
        Thread.sleep(100); // not listening yet
      }
    }
  }

  /** A cluster client, as users of a shard run: it follows the primary wherever it moves. */
  private static JedisCluster cluster(int... ports) {
    Set<HostAndPort> seeds = new java.util.HashSet<>();
    for (int p : ports) {
      seeds.add(new HostAndPort("127.0.0.1", p));
    }
    return new JedisCluster(seeds, CLIENT, 10, Duration.ofSeconds(60));
  }

  private static void kill(int port) throws IOException, InterruptedException {
    new ProcessBuilder("kill", "-9", Long.toString(ShardProcess.pidAt(port))).start().waitFor();
  }

  private static void stop(Process p) throws InterruptedException {
    p.destroy();
    if (!p.waitFor(20, TimeUnit.SECONDS)) {
      p.destroyForcibly().waitFor();
    }
  }

  /** Polls RESPAWN MEMBER LIST on {@code port} for up to 90 s until it shows {@code wanted}. */
  private static String awaitList(int port, String wanted, String unwanted)
      throws IOException, InterruptedException {
    String list = "";
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
    while (System.nanoTime() < deadline) {
      list = member(port, "list");
      if (list.contains(wanted) && !list.contains(unwanted)) {
        break;
      }
      Thread.sleep(250);
    }
    return list;
  }

  /** The last 300 of {@code n} writes of {@link Writer}: each key reads its newest value. */
  private static void assertNewestValues(java.util.function.Function<String, String> get, long n,
      String when) {
    for (long i = Math.max(0, n - 300); i < n; i++) {
      String key = "k" + (i % 5000);
      long last = i + ((n - 1 - i) / 5000) * 5000; // the last write of this key
      assertThat(get.apply(key)).as(key + when).isEqualTo("v" + last);
    }
  }

  /**
   * A thread that writes k(i % 5000) = v(i) through a cluster client until {@link #finish},
   * counting acknowledgements; the first error ends it and fails the next wait.
   */
  private static final class Writer {
    private final AtomicLong acknowledged = new AtomicLong();
    private final AtomicReference<Throwable> error = new AtomicReference<>();
    private final AtomicLong stop = new AtomicLong();
    private Thread thread;

    /** Starts writing through the members at {@code ports}; returns after 20 writes. */
    static Writer start(String name, int... ports) throws InterruptedException {
      Writer w = new Writer();
      JedisCluster client = cluster(ports);
      w.thread = new Thread(() -> {
        try (JedisCluster j = client) {
          for (long i = 0; w.stop.get() == 0; i++) {
            assertThat(j.set("k" + (i % 5000), "v" + i)).isEqualTo("OK");
            w.acknowledged.incrementAndGet();
          }
        } catch (Throwable e) {
          w.error.set(e);
        }
      }, name);
      w.thread.start();
      w.awaitMore(20);
      return w;
    }

    long acknowledged() {
      return acknowledged.get();
    }

    /** Waits (up to 180 s) for {@code more} writes after those acknowledged so far. */
    void awaitMore(long more) throws InterruptedException {
      long atLeast = acknowledged.get() + more;
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(180);
      while (acknowledged.get() < atLeast) {
        assertThat(error.get()).as("the writing client saw no error").isNull();
        assertThat(System.nanoTime() < deadline)
            .as("writes reach " + atLeast + " (at " + acknowledged.get() + ")").isTrue();
        Thread.sleep(20);
      }
    }

    /** Stops writing; asserts the client saw no error. */
    void finish() throws InterruptedException {
      stop.set(1);
      thread.join(30_000);
      assertThat(error.get()).as("the writing client saw no error").isNull();
    }
  }
}
