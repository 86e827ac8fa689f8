package io.respawn.server.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.commands.ProtocolCommand;
import redis.clients.jedis.util.SafeEncoder;

/**
 * The replicated shard as a user meets it: {@code respawn up} starts three member processes,
 * {@code redis-cli -c} on any member is redirected to the primary, {@code respawn status} lists
 * the roles, and after {@code kill -9} of the primary the shard takes writes again and still
 * holds what it acknowledged.
 */
class ShardIT {
  static final Path REDIS_CLI = Path.of("/usr/bin/redis-cli");
  @TempDir Path tmp;

  private static String cli(int port, String... args) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>(List.of(REDIS_CLI.toString(), "-c", "-p",
        Integer.toString(port)));
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    p.getOutputStream().close();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(20, TimeUnit.SECONDS)).as("redis-cli finished").isTrue();
    return out.strip();
  }

  private static String status(int port) throws IOException, InterruptedException {
    String classpath = System.getProperty("surefire.test.class.path",
        System.getProperty("java.class.path"));
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    Process p = new ProcessBuilder(java, "-cp", classpath, "io.respawn.server.cli.RespawnCommand",
        "status", "--port", Integer.toString(port)).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
    return out;
  }

  @Test
  void upServesAShardThatSurvivesTheLossOfItsPrimary() throws Exception {
    Assumptions.assumeTrue(Files.isExecutable(REDIS_CLI), "redis-cli not installed");
    int port = ShardProcess.freePortRange(3);
    try (ShardProcess shard = ShardProcess.start(tmp.resolve("data"), port, "1+1+1")) {
      assertThat(shard.output()).contains("redis-cli -c -p " + port);
      // Any member redirects to the primary; redis-cli -c follows.
      assertThat(cli(port + 1, "set", "k", "v")).isEqualTo("OK");
      assertThat(cli(port + 2, "get", "k")).isEqualTo("v");
      // the witness may have won the first election; it hands leadership back once the
      // configured primary caught up, and the roles below are those of a settled shard
      primaryTakingWrites(shard);
      String st = status(port);
      assertThat(st).as(st).contains("primary").contains("backup").contains("witness");
      // WAIT / WAITAOF count the members that hold values: the backup, not the witness.
      int first = shard.primaryPort();
      assertThat(cli(first, "wait", "1", "5000")).isEqualTo("1");
      assertThat(cli(first, "wait", "2", "200")).as("a witness holds no values").isEqualTo("1");
      assertThat(cli(first, "waitaof", "1", "1", "5000")).isEqualTo("1\n1");
      assertThat(cli(port + 1, "wait", "1", "100"))
          .startsWith("ERR WAIT cannot be used with replica instances");
      roleAndInfoNameThePrimarysReplicas(first, port + 1);

      int primary = shard.primaryPort();
      long pid = ShardProcess.pidAt(primary);
      long killedAt = System.nanoTime();
      new ProcessBuilder("kill", "-9", Long.toString(pid)).start().waitFor();
      int survivor = port + 1; // the backup: never primary, never killed here
      String reply = "";
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (System.nanoTime() < deadline) {
        reply = cli(survivor, "set", "after", "kill");
        if (reply.equals("OK")) {
          break;
        }
        Thread.sleep(50);
      }
      long failoverMillis = (System.nanoTime() - killedAt) / 1_000_000;
      assertThat(reply).as("a write after the primary died\n" + shard.memberLogs())
          .isEqualTo("OK");
      System.out.println("ShardIT: kill -9 of the primary -> first acknowledged write in "
          + failoverMillis + " ms");
      assertThat(cli(survivor, "get", "k")).as("acknowledged before the kill").isEqualTo("v");
      assertThat(cli(survivor, "get", "after")).isEqualTo("kill");
      // The supervisor restarts the killed member; it rejoins as a follower.
      long deadlineBack = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      String st2 = status(survivor);
      while (System.nanoTime() < deadlineBack && st2.contains(" down ")) {
        Thread.sleep(200);
        st2 = status(survivor);
      }
      assertThat(st2).as(st2).doesNotContain(" down ");
      assertThat(shard.terminate()).isZero();
    }
  }

  /**
   * ROLE (Jedis, as a client that discovers replicas would ask) and INFO replication on the
   * primary list both other members with their RESP ports and, once the primary's published
   * progress caught up (every 100 ms), the offset of the write the WAIT above saw acknowledged;
   * the backup answers as a connected replica of the primary.
   */
  private static void roleAndInfoNameThePrimarysReplicas(int primary, int backup)
      throws InterruptedException {
    try (Jedis j = new Jedis("127.0.0.1", primary, 5_000)) {
      List<Object> role = j.role();
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (System.nanoTime() < deadline && !replicasCaughtUp(role)) {
        Thread.sleep(50);
        role = j.role();
      }
      assertThat(text(role.get(0))).isEqualTo("master");
      long offset = (Long) role.get(1);
      assertThat(offset).isPositive();
      List<String> ports = new ArrayList<>();
      for (Object r : (List<?>) role.get(2)) {
        List<?> replica = (List<?>) r;
        assertThat(text(replica.get(0))).isEqualTo("127.0.0.1");
        ports.add(text(replica.get(1)));
        assertThat(Long.parseLong(text(replica.get(2)))).as("a replica's offset: " + role)
            .isEqualTo(offset);
      }
      assertThat(ports).as("the backup and the witness (the next port)")
          .containsExactlyInAnyOrder(Integer.toString(backup), Integer.toString(backup + 1));
      String info = j.info("replication");
      assertThat(info).contains("role:master", "connected_slaves:2", "slave0:ip=127.0.0.1,port=",
          "slave1:ip=127.0.0.1,port=", ",state=online,offset=" + offset + ",lag=0",
          "respawn_role=backup", "respawn_role=witness", "master_repl_offset:" + offset);
    }
    try (Jedis j = new Jedis("127.0.0.1", backup, 5_000)) {
      List<Object> role = j.role();
      assertThat(text(role.get(0))).isEqualTo("slave");
      assertThat(text(role.get(1))).isEqualTo("127.0.0.1");
      assertThat(role.get(2)).isEqualTo((long) primary);
      assertThat(text(role.get(3))).isEqualTo("connected");
      assertThat((Long) role.get(4)).isPositive();
    }
  }

  private static boolean replicasCaughtUp(List<Object> role) {
    List<?> replicas = (List<?>) role.get(2);
    return replicas.size() == 2 && replicas.stream().allMatch(r -> Long.parseLong(
        text(((List<?>) r).get(2))) == (Long) role.get(1));
  }

  private static String text(Object o) {
    return o instanceof byte[] b ? SafeEncoder.encode(b) : String.valueOf(o);
  }

  /**
   * A DURABLE write waits for every backup. With no witness standing in for a silent backup
   * ({@code --stand-in-after-ms 0}), while the backup is stopped (SIGSTOP) that write cannot be
   * acknowledged, and nothing else may wait for it: another client's PING and INFO on the primary
   * are answered at once, and the DURABLE write completes once the backup resumes. (Reads wait
   * too, for want of the read lease, which the backup's acknowledgements renew: a GET is answered
   * TRYAGAIN after the settle wait, or its value once the backup is back.)
   */
  @Test
  void aDurableWriteWaitingForAStoppedBackupStallsNoOtherClient() throws Exception {
    int port = ShardProcess.freePortRange(3);
    try (ShardProcess shard = ShardProcess.start(tmp.resolve("data"), port, "1+1+1",
        "--stand-in-after-ms", "0")) {
      int primary = primaryTakingWrites(shard);
      int backup = -1;
      for (int m = 1; m <= shard.members(); m++) {
        try (Jedis j = new Jedis("127.0.0.1", shard.port(m), 2_000)) {
          if (j.info("replication").contains("respawn_role:backup")) {
            backup = shard.port(m);
          }
        }
      }
      assertThat(backup).as("the shard's backup").isPositive();
      long backupPid = ShardProcess.pidAt(backup);
      ProtocolCommand respawn = () -> SafeEncoder.encode("RESPAWN");
      ExecutorService writer = Executors.newSingleThreadExecutor();
      try (Jedis durable = new Jedis("127.0.0.1", primary, 60_000);
          Jedis other = new Jedis("127.0.0.1", primary, 2_000)) {
        durable.sendCommand(respawn, "DURABILITY", "durable");
        assertThat(durable.set("d0", "v0")).isEqualTo("OK");
        signal(backupPid, "STOP");
        Future<String> stalled;
        try {
          stalled = writer.submit(() -> durable.set("d1", "v1"));
          Thread.sleep(300); // the write is in, waiting for the backup
          assertThat(stalled.isDone()).as("a DURABLE write without its backup").isFalse();
          for (int i = 0; i < 5; i++) {
            long start = System.nanoTime();
            assertThat(other.ping()).isEqualTo("PONG");
            assertThat(other.info("replication")).contains("respawn_role:primary");
            long millis = (System.nanoTime() - start) / 1_000_000;
            assertThat(millis).as("PING and INFO beside a waiting DURABLE write").isLessThan(1_000);
            Thread.sleep(100);
          }
        } finally {
          signal(backupPid, "CONT");
        }
        assertThat(stalled.get(30, TimeUnit.SECONDS)).as("once the backup resumed").isEqualTo("OK");
        // Read where the primary is now: on a loaded machine leadership may have moved meanwhile.
        assertThat(readOnPrimary(shard, "d1")).isEqualTo("v1");
      } finally {
        writer.shutdownNow();
      }
      assertThat(shard.terminate()).isZero();
    }
  }

  /**
   * A backup that stops answering (SIGSTOP: a stalled or lost machine, whose connections stay
   * open) does not stop the shard: after {@code stand-in-after-ms} (150 ms by default) the
   * witness stands in for it, so ORDERED and DURABLE writes are acknowledged and reads served
   * while it is away, INFO names the stand-in, and once the backup resumes it catches up, the
   * stand-in ends, and it holds every write made without it: WAIT counts it, and after a kill -9
   * of the primary the witness that takes over pulls those values from it.
   */
  @Test
  void aStoppedBackupIsStoodInForAndCatchesUpWhenItResumes() throws Exception {
    int port = ShardProcess.freePortRange(3);
    try (ShardProcess shard = ShardProcess.start(tmp.resolve("data"), port, "1+1+1")) {
      int primary = primaryTakingWrites(shard);
      int backup = shard.port(2);
      long backupPid = ShardProcess.pidAt(backup);
      ProtocolCommand respawn = () -> SafeEncoder.encode("RESPAWN");
      int writes = 200;
      try (Jedis ordered = new Jedis("127.0.0.1", primary, 10_000);
          Jedis durable = new Jedis("127.0.0.1", primary, 10_000)) {
        durable.sendCommand(respawn, "DURABILITY", "durable");
        assertThat(ordered.set("before", "stop")).isEqualTo("OK");
        signal(backupPid, "STOP");
        try {
          long start = System.nanoTime();
          assertThat(ordered.set("w0", "v0")).isEqualTo("OK");
          long firstMillis = (System.nanoTime() - start) / 1_000_000;
          long slowest = 0;
          for (int i = 1; i < writes; i++) {
            long t = System.nanoTime();
            Jedis j = i % 2 == 0 ? ordered : durable;
            assertThat(j.set("w" + i, "v" + i)).isEqualTo("OK");
            slowest = Math.max(slowest, (System.nanoTime() - t) / 1_000_000);
          }
          System.out.println("ShardIT: backup stopped -> first write acknowledged in "
              + firstMillis + " ms; the next " + (writes - 1) + " (half DURABLE) at most "
              + slowest + " ms each");
          assertThat(firstMillis).as("the first write waits for the stand-in only")
              .isLessThan(5_000);
          assertThat(ordered.get("w7")).isEqualTo("v7");
          assertThat(ordered.get("before")).isEqualTo("stop");
          String info = ordered.info("shard");
          assertThat(info).as(info).containsPattern("respawn_stand_ins:2>3")
              .containsPattern("respawn_stand_ins_started:[1-9]");
        } finally {
          signal(backupPid, "CONT");
        }
        // A writer keeps pipelining SETs while the backup catches up: the stand-in must end
        // while writes go on (handed back once the backup caught up), not only once they pause.
        java.util.concurrent.atomic.AtomicLong loadWrites = new java.util.concurrent.atomic.AtomicLong();
        java.util.concurrent.atomic.AtomicBoolean stopLoad = new java.util.concurrent.atomic.AtomicBoolean();
        java.util.concurrent.CompletableFuture<Void> load = java.util.concurrent.CompletableFuture.runAsync(() -> {
          try (Jedis w = new Jedis("127.0.0.1", primary, 10_000)) {
            for (long k = 0; !stopLoad.get(); k += 100) {
              redis.clients.jedis.Pipeline p = w.pipelined();
              for (int i = 0; i < 100; i++) {
                p.set("load" + (k + i) % 5_000, "x".repeat(100));
              }
              p.sync();
              loadWrites.addAndGet(100);
            }
          }
        });
        try {
          long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
          String info = ordered.info("shard");
          while (!info.contains("respawn_stand_ins:none") && System.nanoTime() < deadline
              && !load.isDone()) {
            Thread.sleep(100);
            info = ordered.info("shard");
          }
          long atEnd = loadWrites.get();
          Thread.sleep(300);
          assertThat(load).as("the writer").isNotDone();
          assertThat(loadWrites.get()).as("writes went on when the stand-in ended")
              .isGreaterThan(atEnd);
          System.out.println("ShardIT: stand-in ended under load after " + atEnd
              + " pipelined writes; " + info.lines().filter(l -> l.contains("hand_backs"))
              .toList());
          assertThat(info).as("the stand-in ends once the backup caught up\n" + info)
              .contains("respawn_stand_ins:none")
              .containsPattern("respawn_stand_ins_ended:[1-9]");
        } finally {
          stopLoad.set(true);
        }
        load.get(30, TimeUnit.SECONDS);
        assertThat(ordered.waitReplicas(1, 10_000)).as("the backup holds them all").isEqualTo(1);
      }
      // The backup holds what was written without it: the witness that takes over gets it there.
      new ProcessBuilder("kill", "-9", Long.toString(ShardProcess.pidAt(primary))).start()
          .waitFor();
      for (int i = 0; i < writes; i += 37) {
        assertThat(readOnPrimary(shard, "w" + i)).as("w" + i).isEqualTo("v" + i);
      }
      assertThat(shard.terminate()).isZero();
    }
  }

  /**
   * A witness that leads while the backup is away cannot commit (only a primary lets a witness
   * stand in for a silent backup), so it hands leadership to the configured primary as soon as
   * that one is back and holds its log, without waiting to commit first: writes go on with the
   * primary leading and the witness standing in. Here the backup is stopped (SIGSTOP), the
   * primary SIGTERMed (it hands leadership to the witness, the only member that may take it, and
   * exits; the supervisor starts it again). Before the fix the witness kept leadership and every
   * write failed until the backup came back.
   */
  @Test
  void aWitnessLeadingWhileTheBackupIsAwayHandsLeadershipToTheReturningPrimary() throws Exception {
    int port = ShardProcess.freePortRange(3);
    Path data = tmp.resolve("data");
    try (ShardProcess shard = ShardProcess.start(data, port, "1+1+1")) {
      int primary = primaryTakingWrites(shard);
      long backupPid = ShardProcess.pidAt(shard.port(2));
      try (Jedis j = new Jedis("127.0.0.1", primary, 10_000)) {
        assertThat(j.set("before", "away")).isEqualTo("OK");
      }
      signal(backupPid, "STOP");
      try {
        long primaryPid = ShardProcess.pidAt(primary);
        signal(primaryPid, "TERM");
        long start = System.nanoTime();
        long deadline = start + TimeUnit.SECONDS.toNanos(60);
        long restartedPid = primaryPid;
        while (restartedPid == primaryPid && System.nanoTime() < deadline) {
          try {
            restartedPid = ShardProcess.pidAt(primary);
          } catch (RuntimeException e) {
            // stopped, not started again yet
          }
          Thread.sleep(100);
        }
        assertThat(restartedPid).as("the primary was started again").isNotEqualTo(primaryPid);
        String last = "nothing yet";
        boolean written = false;
        while (!written && System.nanoTime() < deadline) {
          try (Jedis j = new Jedis("127.0.0.1", primary, 2_000)) {
            written = "OK".equals(j.set("after", "away"));
          } catch (RuntimeException e) {
            last = e.toString();
            Thread.sleep(100);
          }
        }
        assertThat(written).as("a write on the restarted primary while the backup is stopped; "
            + "last error: " + last + "\n" + shard.memberLogs()).isTrue();
        System.out.println("ShardIT: primary SIGTERMed with the backup stopped -> first write "
            + "on the restarted primary " + (System.nanoTime() - start) / 1_000_000
            + " ms after the SIGTERM");
        String witnessLog = Files.readString(data.resolve("node-3").resolve("respawn.log"));
        assertThat(witnessLog).as("the witness led, could not commit, and gave leadership back")
            .contains("giving leadership back to the configured primary n1 (nothing commits");
        try (Jedis j = new Jedis("127.0.0.1", primary, 10_000)) {
          assertThat(j.info("shard")).contains("respawn_stand_ins:2>3");
          assertThat(j.get("before")).isEqualTo("away");
        }
      } finally {
        signal(backupPid, "CONT");
      }
      assertThat(shard.terminate()).isZero();
    }
  }

  /**
   * 1+2+2 (backups 2 and 3, witnesses 4 and 5): backup 2 is SIGSTOPped and a witness stands in
   * for it; then that witness is SIGSTOPped too. Every write needs backup 2 or its stand-in, so
   * without a move writes would wait until one of them resumes: the primary moves the stand-in
   * to the other witness, and the next write is acknowledged within the stand-in bound. Once
   * both resume, the backup catches up and the stand-in ends.
   */
  @Test
  void aStandInMovesToTheOtherWitnessWhenTheWitnessStandingInStopsToo() throws Exception {
    int port = ShardProcess.freePortRange(5);
    try (ShardProcess shard = ShardProcess.start(tmp.resolve("data"), port, "1+2+2")) {
      int primary = primaryTakingWrites(shard);
      long backupPid = ShardProcess.pidAt(shard.port(2));
      try (Jedis j = new Jedis("127.0.0.1", primary, 10_000)) {
        awaitInfo(j, "respawn_stand_ins:none"); // none from the start-up (a member came up late)
        assertThat(j.set("before", "stop")).isEqualTo("OK");
        long witnessPid = -1;
        signal(backupPid, "STOP");
        try {
          assertThat(j.set("w0", "v0")).isEqualTo("OK");
          java.util.regex.Matcher m = java.util.regex.Pattern.compile("respawn_stand_ins:2>(\\d)")
              .matcher(j.info("shard"));
          assertThat(m.find()).as("a witness stands in for backup 2").isTrue();
          int first = Integer.parseInt(m.group(1));
          int other = first == 4 ? 5 : 4;
          witnessPid = ShardProcess.pidAt(shard.port(first));
          signal(witnessPid, "STOP");
          long start = System.nanoTime();
          assertThat(j.set("w1", "v1")).isEqualTo("OK");
          long millis = (System.nanoTime() - start) / 1_000_000;
          String info = j.info("shard");
          System.out.println("ShardIT: witness " + first + " standing in stopped -> next write in "
              + millis + " ms; " + info.lines().filter(l -> l.startsWith("respawn_stand_ins"))
              .toList());
          assertThat(info).as(info).contains("respawn_stand_ins:2>" + other)
              .containsPattern("respawn_stand_ins_moved:[1-9]");
          assertThat(millis).as("the write waits for the move only").isLessThan(5_000);
          for (int i = 2; i < 50; i++) {
            assertThat(j.set("w" + i, "v" + i)).isEqualTo("OK");
          }
        } finally {
          signal(backupPid, "CONT");
          if (witnessPid != -1) {
            signal(witnessPid, "CONT");
          }
        }
        assertThat(j.set("after", "cont")).isEqualTo("OK");
        String info = awaitInfo(j, "respawn_stand_ins:none");
        assertThat(info).as("the backup caught up and the stand-in ended\n" + info)
            .contains("respawn_stand_ins:none");
        assertThat(j.get("w49")).isEqualTo("v49");
      }
    }
  }

  /**
   * The leader's flow control on real processes: while the backup is SIGSTOPped for 2 s and
   * eight clients write on (the witness standing in), the primary offers the backup's link (sent,
   * queued or dropped) at most one in-flight budget's worth of messages, at most 64 of them, and
   * then a heartbeat per round (50 ms), not a message per loop pass that carried writes, which
   * thousands of writes spread over would need. Once the backup resumes it catches up, the
   * stand-in ends, and writes made during the stall read back.
   */
  @Test
  void aStoppedBackupIsOfferedOneInFlightBudgetNotEveryWrite() throws Exception {
    int port = ShardProcess.freePortRange(3);
    try (ShardProcess shard = ShardProcess.start(tmp.resolve("data"), port, "1+1+1")) {
      int primary = primaryTakingWrites(shard);
      long backupPid = ShardProcess.pidAt(shard.port(2));
      try (Jedis j = new Jedis("127.0.0.1", primary, 10_000)) {
        awaitInfo(j, "respawn_stand_ins:none");
        long offeredBefore = offeredTo(j, 2);
        java.util.concurrent.atomic.AtomicLong written = new java.util.concurrent.atomic.AtomicLong();
        java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
        java.util.List<java.util.concurrent.Future<?>> writers = new java.util.ArrayList<>();
        // a thread per client: the common pool runs one task at a time on a two-core machine
        java.util.concurrent.ExecutorService clients =
            java.util.concurrent.Executors.newFixedThreadPool(8);
        signal(backupPid, "STOP");
        long offeredDuring;
        try {
          for (int c = 0; c < 8; c++) {
            int client = c;
            writers.add(clients.submit(() -> {
              try (Jedis w = new Jedis("127.0.0.1", primary, 10_000)) {
                for (long i = 0; !stop.get(); i++) {
                  w.set("c" + client + "-" + i, "x".repeat(100));
                  written.incrementAndGet();
                }
              }
            }));
          }
          Thread.sleep(2_000);
          offeredDuring = offeredTo(j, 2) - offeredBefore;
        } finally {
          stop.set(true);
          signal(backupPid, "CONT");
        }
        for (var w : writers) {
          w.get(30, TimeUnit.SECONDS);
        }
        clients.shutdown();
        System.out.println("ShardIT: backup stopped 2 s, " + written.get() + " writes; messages "
            + "offered to its link meanwhile: " + offeredDuring);
        assertThat(written.get()).as("writes went on with the witness standing in")
            .isGreaterThan(1_000);
        // 64 pipelined messages at most, one heartbeat per 50 ms round, and slack for the
        // stand-in's start and a round's resend before the first answer went missing
        assertThat(offeredDuring).as("messages offered to the stopped backup's link")
            .isLessThan(64 + 2_000 / 50 + 40);
        String info = awaitInfo(j, "respawn_stand_ins:none");
        assertThat(info).as("the backup caught up and the stand-in ended\n" + info)
            .contains("respawn_stand_ins:none");
        assertThat(j.get("c0-0")).as("a write made during the stall").isEqualTo("x".repeat(100));
        assertThat(j.get("c7-0")).as("a write made during the stall").isEqualTo("x".repeat(100));
      }
    }
  }

  /** Messages member {@code peer}'s link on the member {@code j} talks to was offered so far. */
  private static long offeredTo(Jedis j, int peer) {
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("respawn_peer_link_" + peer
        + ":up=\\d,queued_messages=(\\d+),queued_bytes=\\d+,sent=(\\d+),dropped=(\\d+)")
        .matcher(j.info("shard"));
    assertThat(m.find()).as("INFO names the link to member " + peer).isTrue();
    return Long.parseLong(m.group(1)) + Long.parseLong(m.group(2)) + Long.parseLong(m.group(3));
  }

  /** INFO shard of {@code j} once it contains {@code text}, or as it is after 30 s. */
  private static String awaitInfo(Jedis j, String text) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    String info = j.info("shard");
    while (!info.contains(text) && System.nanoTime() < deadline) {
      Thread.sleep(100);
      info = j.info("shard");
    }
    return info;
  }

  /**
   * The configured primary's port once it leads and takes a write. Just after start the witness
   * may win the first election (its process came up first); it gives leadership back once the
   * configured primary caught up, which would redirect the test's later writes.
   */
  private static int primaryTakingWrites(ShardProcess shard) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (true) {
      int primary = shard.primaryPort();
      try (Jedis j = new Jedis("127.0.0.1", primary, 2_000)) {
        if (primary != shard.port(1)) {
          throw new IllegalStateException("member " + primary + " leads, not the configured "
              + "primary " + shard.port(1));
        }
        j.set("probe", "1");
        return primary;
      } catch (RuntimeException e) {
        assertThat(System.nanoTime()).as("a primary taking writes: " + e).isLessThan(deadline);
        Thread.sleep(100);
      }
    }
  }

  /** GET on the member that is primary now, retried while leadership settles. */
  private static String readOnPrimary(ShardProcess shard, String key) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (true) {
      try (Jedis j = new Jedis("127.0.0.1", shard.primaryPort(), 2_000)) {
        return j.get(key);
      } catch (RuntimeException e) {
        assertThat(System.nanoTime()).as("a primary serving reads: " + e).isLessThan(deadline);
        Thread.sleep(100);
      }
    }
  }

  private static void signal(long pid, String signal) throws Exception {
    assertThat(new ProcessBuilder("kill", "-" + signal, Long.toString(pid)).start().waitFor())
        .isZero();
  }
}
