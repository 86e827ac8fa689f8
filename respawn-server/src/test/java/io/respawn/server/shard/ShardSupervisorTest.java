package io.respawn.server.shard;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.respawn.core.NodeId;
import io.respawn.core.Role;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The local shard's layout and the supervisor that keeps its member processes running. */
class ShardSupervisorTest {
  @TempDir Path dir;

  @Test
  void aMemberThatDiesIsRestartedAndStopEndsEveryMember() throws Exception {
    try (ShardSupervisor s = new ShardSupervisor(3,
        id -> new ProcessBuilder("sh", "-c", "sleep 600"), 100, 5_000)) {
      s.start();
      long first = s.pid(2);
      ProcessHandle.of(first).orElseThrow().destroyForcibly();
      await().atMost(Duration.ofSeconds(20)).until(() -> s.pid(2) != first && s.pid(2) > 0);
      assertThat(s.restarts(2)).isEqualTo(1);
      assertThat(s.restarts(1)).isZero();
      List<Long> pids = List.of(s.pid(1), s.pid(2), s.pid(3));
      s.stop();
      for (long pid : pids) {
        assertThat(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)).isFalse();
      }
      s.awaitStopped();
      assertThat(s.failure()).isNull();
    }
  }

  @Test
  void aRestartUnderWayWhenStopBeginsLeavesNoMemberRunning() throws Exception {
    Path pids = dir.resolve("pids");
    java.util.concurrent.CountDownLatch restarting = new java.util.concurrent.CountDownLatch(1);
    java.util.concurrent.atomic.AtomicInteger launches = new java.util.concurrent.atomic.AtomicInteger();
    ShardSupervisor s = new ShardSupervisor(2, id -> {
      if (id == 2 && launches.incrementAndGet() == 2) {
        restarting.countDown(); // the restart is being built: stop() begins now
        try {
          Thread.sleep(300);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      return new ProcessBuilder("sh", "-c", "echo $$ >> " + pids + "; exec sleep 600");
    }, 10, 5_000);
    s.start();
    await().atMost(Duration.ofSeconds(10)).until(() -> Files.exists(pids)
        && Files.readAllLines(pids).size() == 2);
    ProcessHandle.of(s.pid(2)).orElseThrow().destroyForcibly();
    assertThat(restarting.await(10, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
    s.stop();
    s.awaitStopped();
    Thread.sleep(500); // a restart that slipped past stop() would have started by now

    List<ProcessHandle> alive = Files.readAllLines(pids).stream()
        .map(pid -> ProcessHandle.of(Long.parseLong(pid.trim())))
        .flatMap(java.util.Optional::stream).filter(ProcessHandle::isAlive).toList();
    alive.forEach(ProcessHandle::destroyForcibly); // no orphan left behind by a failing run
    assertThat(alive).as("member processes alive after stop").isEmpty();
  }

  /**
   * A member that keeps exiting at once (a full disk: its first write fails) is restarted after
   * a delay that doubles each time: 50, 200, 400, 800, 1600 ms here, so at most 6 restarts
   * in 3 s where a fixed 50 ms delay gives dozens.
   */
  @Test
  void aMemberThatKeepsExitingAtOnceIsRestartedLessAndLessOften() throws Exception {
    try (ShardSupervisor s = new ShardSupervisor(2, id -> id == 2
        ? new ProcessBuilder("sh", "-c", "exit 70") : new ProcessBuilder("sh", "-c", "sleep 600"),
        50, 5_000)) {
      s.start();
      Thread.sleep(3_000);
      assertThat(s.restarts(2)).isBetween(3L, 6L);
      assertThat(s.restarts(1)).isZero();
    }
  }

  /** A member killed by a signal (kill -9 by a test or an operator) is no crash loop. */
  @Test
  void aMemberKilledAgainAndAgainIsRestartedAfterTheConfiguredDelay() throws Exception {
    try (ShardSupervisor s = new ShardSupervisor(1,
        id -> new ProcessBuilder("sh", "-c", "kill -9 $$"), 50, 5_000)) {
      s.start();
      Thread.sleep(3_000);
      assertThat(s.restarts(1)).as("about one every 50 ms plus a shell's start")
          .isGreaterThan(10);
    }
  }

  @Test
  void theRestartDelayDoublesWithQuickExitsInARowUpToItsCap() {
    assertThat(ShardSupervisor.restartDelayMillis(1_000, 0)).isEqualTo(1_000);
    assertThat(ShardSupervisor.restartDelayMillis(1_000, 1)).isEqualTo(1_000);
    assertThat(ShardSupervisor.restartDelayMillis(1_000, 2)).isEqualTo(2_000);
    assertThat(ShardSupervisor.restartDelayMillis(1_000, 4)).isEqualTo(8_000);
    assertThat(ShardSupervisor.restartDelayMillis(1_000, 50))
        .isEqualTo(ShardSupervisor.RESTART_DELAY_MAX_MILLIS);
    assertThat(ShardSupervisor.restartDelayMillis(0, 1)).as("as configured the first time")
        .isZero();
    assertThat(ShardSupervisor.restartDelayMillis(0, 3)).isEqualTo(400);
  }

  @Test
  void anExitOnAFullDiskSaysSo() {
    assertThat(ShardSupervisor.fullDiskNote(dir, 0)).contains("is full (0 bytes free)")
        .contains(dir.toString());
    assertThat(ShardSupervisor.fullDiskNote(dir, 10L << 30)).isEmpty();
  }

  /**
   * A member that found the shard removed it (exit code 3) is not started again, and the others
   * keep running.
   */
  @Test
  void aMemberTheShardRemovedIsNotStartedAgainAndTheOthersRunOn() throws Exception {
    try (ShardSupervisor s = new ShardSupervisor(2, id -> id == 2
        ? new ProcessBuilder("sh", "-c", "exit 3") : new ProcessBuilder("sh", "-c", "sleep 600"),
        50, 5_000)) {
      s.start();
      Thread.sleep(1_000);
      assertThat(s.restarts(2)).isZero();
      assertThat(s.failure()).isNull();
      assertThat(ProcessHandle.of(s.pid(1)).map(ProcessHandle::isAlive)).contains(true);
    }
  }

  /**
   * A member whose data directory holds the removal marker (it stopped with exit code 3 in an
   * earlier run) is not started at all; the others are. Its marker round-trips the reason.
   */
  @Test
  void aMemberRemovedInAnEarlierRunIsNotStarted() throws Exception {
    for (int id = 1; id <= 2; id++) {
      Files.createDirectories(dir.resolve("node-" + id));
    }
    RemovedMarker.write(dir.resolve("node-2"), "members 1, 3 of 3 voters have refused it",
        java.time.Instant.parse("2026-12-07T10:00:00Z"));
    assertThat(RemovedMarker.read(dir.resolve("node-2"))).isEqualTo("removed from the shard at "
        + "2026-12-07T10:00:00Z: members 1, 3 of 3 voters have refused it");
    assertThat(RemovedMarker.read(dir.resolve("node-1"))).isNull();
    java.util.concurrent.atomic.AtomicInteger launches = new java.util.concurrent.atomic.AtomicInteger();
    try (ShardSupervisor s = new ShardSupervisor(2, id -> {
      launches.incrementAndGet();
      return new ProcessBuilder("sh", "-c", "sleep 600");
    }, 50, 5_000, id -> dir.resolve("node-" + id))) {
      s.start();
      assertThat(s.pid(2)).isEqualTo(-1);
      assertThat(s.removedEarlier(2)).contains("have refused it");
      assertThat(s.removedEarlier(1)).isNull();
      assertThat(ProcessHandle.of(s.pid(1)).map(ProcessHandle::isAlive)).contains(true);
      assertThat(launches).hasValue(1);
    }
    // A marker that cannot be read still counts: its presence is what refuses the start.
    Files.createDirectories(RemovedMarker.in(dir.resolve("node-1")));
    assertThat(RemovedMarker.read(dir.resolve("node-1"))).contains("unreadable");
  }

  @Test
  void aMemberWhoseConfigurationIsRefusedStopsTheShard() throws Exception {
    try (ShardSupervisor s = new ShardSupervisor(2, id -> id == 2
        ? new ProcessBuilder("sh", "-c", "exit 2") : new ProcessBuilder("sh", "-c", "sleep 600"),
        100, 5_000)) {
      s.start();
      s.awaitStopped();
      assertThat(s.failure()).contains("member 2 refused its configuration");
    }
  }

  @Test
  void layoutWritesConfigsThatLoadAndResumesTheSameShard() throws Exception {
    ShardLayout layout = ShardLayout.of(dir.resolve("data"), "127.0.0.1", 7379, "1+2+2");
    List<Path> files = layout.prepare();
    assertThat(files).hasSize(5);
    ShardConfig c4 = ShardConfig.load(files.get(3));
    assertThat(c4.self()).isEqualTo(NodeId.of(4));
    assertThat(c4.me().role()).isEqualTo(Role.WITNESS);
    assertThat(c4.me().resp().getPort()).isEqualTo(7382);
    assertThat(c4.me().peer().getPort()).isEqualTo(17382);
    assertThat(c4.dataDir()).isEqualTo(dir.resolve("data/node-4").toAbsolutePath());
    assertThat(c4.members().get(NodeId.of(2)).role()).isEqualTo(Role.BACKUP);
    assertThat(c4.membership().votingBackups()).hasSize(2);
    String cluster = c4.clusterId();
    layout.prepare();
    assertThat(ShardConfig.load(files.get(0)).clusterId()).isEqualTo(cluster);
    assertThatThrownBy(() -> ShardLayout.of(dir.resolve("data"), "127.0.0.1", 7379, "1+1+1")
        .prepare()).hasMessageContaining("holds a shard of shape 1+2+2");
    assertThatThrownBy(() -> ShardLayout.of(dir, "127.0.0.1", 7379, "2+1+1"))
        .hasMessageContaining("exactly 1 primary");
  }

  @Test
  void badConfigFilesAreRefusedWithTheKeyNamed() throws Exception {
    Path f = dir.resolve("bad.conf");
    Files.writeString(f, "cluster-id = a\nnode-id = 1\ndata = d\nmember.1 = primary h:1 h:2\n"
        + "lease-msec = 3\n");
    assertThatThrownBy(() -> ShardConfig.load(f)).hasMessageContaining("unknown key 'lease-msec'");
    Files.writeString(f, "cluster-id = a\nnode-id = 1\ndata = d\nmember.1 = leader h:1 h:2\n");
    assertThatThrownBy(() -> ShardConfig.load(f)).hasMessageContaining("member.1: role 'leader'");
    Files.writeString(f, "cluster-id = a\nnode-id = 2\ndata = d\nmember.1 = primary h:1 h:2\n");
    assertThatThrownBy(() -> ShardConfig.load(f)).hasMessageContaining("node-id 2 is not one of");
    Files.writeString(f, "cluster-id = a\nnode-id = 1\ndata = d\nmember.1 = primary h:99999 h:2\n");
    assertThatThrownBy(() -> ShardConfig.load(f)).hasMessageContaining("not 1..65535");
    String base = "cluster-id = a\nnode-id = 1\ndata = d\nmember.1 = primary h:1 h:2\n";
    Files.writeString(f, base + "popularity-sample-probability = 2\n");
    assertThatThrownBy(() -> ShardConfig.load(f))
        .hasMessageContaining("popularity-sample-probability: 2.0 is not in (0, 1]");
    Files.writeString(f, base + "popularity-sample-probability = often\n");
    assertThatThrownBy(() -> ShardConfig.load(f))
        .hasMessageContaining("popularity-sample-probability: 'often' is not a number");
    Files.writeString(f, base + "backup-segment-bytes = 4096\n");
    assertThatThrownBy(() -> ShardConfig.load(f)).hasMessageContaining("segmentBytesMax 4096");
    Files.writeString(f, base + "backup-writeback-interval-ms = 0\n");
    assertThatThrownBy(() -> ShardConfig.load(f))
        .hasMessageContaining("backup-writeback-interval-ms");
    Files.writeString(f, base);
    assertThat(ShardConfig.load(f).backup().toConfig().writebackIntervalMillis())
        .isEqualTo(BackupSettings.WRITEBACK_INTERVAL_MILLIS_DEFAULT);
    Files.writeString(f, base + "backup-writeback-interval-ms = 7\n");
    assertThat(ShardConfig.load(f).backup().toConfig().writebackIntervalMillis()).isEqualTo(7);
  }

  @Test
  void memberConfigKeysReachEveryMemberAndLayoutKeysAreRefused() throws Exception {
    ShardLayout layout = ShardLayout.of(dir.resolve("data"), "127.0.0.1", 7379, "1+1+1");
    List<Path> files = layout.prepare(java.util.Map.of("popularity-sample-probability", "0.25",
        "backup-hot-keys", "500"));
    for (Path file : files) {
      ShardConfig c = ShardConfig.load(file);
      assertThat(c.backup().sampleProbability()).isEqualTo(0.25);
      assertThat(c.backup().hotKeysMax()).isEqualTo(500);
      assertThat(c.backup().reportIntervalMillis())
          .isEqualTo(BackupSettings.REPORT_INTERVAL_MILLIS_DEFAULT);
    }
    assertThatThrownBy(() -> layout.prepare(java.util.Map.of("node-id", "9")))
        .hasMessageContaining("--member-config node-id");
  }
}
