package io.respawn.server.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.respawn.storage.FileChannelDisk;
import io.respawn.storage.LogEngine;
import io.respawn.storage.StorageConfig;
import io.respawn.storage.solo.ChildView;
import io.respawn.storage.solo.SoloVolume;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import redis.clients.jedis.Jedis;

/**
 * {@code respawn solo} and the fence, on real processes: a serving node is stopped (SIGSTOP) with
 * clients' writes waiting in its sockets; the test supers the volume, recovers the child as a
 * standby would, promotes it, and resumes the node (SIGCONT). The node must answer those writes
 * with errors (no acknowledgement), exit with the fenced code, and leave its store byte for byte
 * as it was at the fence; the volume must then serve the child, with every write acknowledged
 * before the stop and none of the refused ones.
 */
class SoloFenceIT {
  static final int KEYS = 500;
  static final int LATE_CLIENTS = 4;

  @TempDir Path tmp;

  @Test
  void aStalledNodeResumedAfterAPromotionWritesNothingAndItsClientsGetErrors() throws Exception {
    Path volumeDir = tmp.resolve("volume");
    int port = ServerProcess.freePort();
    List<CompletableFuture<String>> lateReplies = new ArrayList<>();
    List<Jedis> late = new ArrayList<>();
    // The watcher checks rarely here, so the late writes meet the engine's own fence check.
    try (ServerProcess node = ServerProcess.startSolo(volumeDir, port, "--durability", "DURABLE",
        "--fence-check-ms", "10000")) {
      try (Jedis jedis = new Jedis("127.0.0.1", port, 10_000)) {
        for (int i = 0; i < KEYS; i++) {
          assertThat(jedis.set("k" + i, "v" + i)).isEqualTo("OK");
        }
      }
      for (int c = 0; c < LATE_CLIENTS; c++) {
        Jedis client = new Jedis("127.0.0.1", port, 30_000);
        assertThat(client.ping()).isEqualTo("PONG");
        late.add(client);
      }
      signal(node.pid(), "STOP");
      awaitStopped(node.pid());
      for (int c = 0; c < LATE_CLIENTS; c++) {
        Jedis client = late.get(c);
        String key = "late" + c;
        lateReplies.add(CompletableFuture.supplyAsync(() -> {
          try {
            return client.set(key, "after-the-fence");
          } catch (RuntimeException e) {
            return "error: " + e.getMessage();
          }
        }));
      }
      Thread.sleep(300); // the late writes reach the stopped node's sockets

      Map<String, String> parentAtFence;
      try (SoloVolume volume = SoloVolume.at(volumeDir)) {
        ChildView child = volume.superView();
        assertThat(child.collapse()).isEqualTo(ChildView.Collapse.CLEAN);
        try (LogEngine standby = LogEngine.open(new FileChannelDisk(child.dir()),
            StorageConfig.defaults().withDiskReserveBytes(0))) {
          assertThat(standby.keyCount()).as("the child holds every acknowledged write")
              .isEqualTo(KEYS);
        }
        assertThat(child.promote()).isEqualTo(ChildView.Promotion.PROMOTED);
        assertThat(volume.fenceEpoch()).isEqualTo(2);
        Path parentDir = volume.disk().path(child.parent());
        parentAtFence = snapshot(parentDir);

        signal(node.pid(), "CONT");
        assertThat(node.awaitExit(30)).as("exit code of a fenced node:\n%s", node.logTail())
            .isEqualTo(3);
        int refused = 0;
        for (CompletableFuture<String> reply : lateReplies) {
          String r = reply.get(30, TimeUnit.SECONDS);
          assertThat(r).as("a write after the fence was acknowledged").isNotEqualTo("OK");
          if (r.startsWith("error: READONLY")) {
            refused++;
          }
        }
        assertThat(refused).as("late writes answered READONLY: %s", lateReplies).isPositive();
        System.out.printf("SoloFenceIT: %d acknowledged writes before the stop, %d late writes: "
            + "%d answered READONLY, the rest cut off by the exit, 0 acknowledged%n", KEYS,
            LATE_CLIENTS, refused);
        assertThat(snapshot(parentDir)).as("the fenced node wrote to its store")
            .isEqualTo(parentAtFence);
        assertThat(child.collapse()).as("the parent changed since super").isEqualTo(
            ChildView.Collapse.CLEAN);
      }
    } finally {
      for (Jedis client : late) {
        client.close();
      }
    }

    int next = ServerProcess.freePort();
    try (ServerProcess node = ServerProcess.startSolo(volumeDir, next)) {
      try (Jedis jedis = new Jedis("127.0.0.1", next, 10_000)) {
        for (int i = 0; i < KEYS; i++) {
          assertThat(jedis.get("k" + i)).isEqualTo("v" + i);
        }
        for (int c = 0; c < LATE_CLIENTS; c++) {
          assertThat(jedis.get("late" + c)).as("a refused write came back").isNull();
        }
        assertThat(jedis.set("new", "primary")).isEqualTo("OK");
      }
      assertThat(node.terminate()).isZero();
    }
  }

  @Test
  void anIdleNodeNoticesTheFenceAndExits() throws Exception {
    Path volumeDir = tmp.resolve("volume");
    int port = ServerProcess.freePort();
    try (ServerProcess node = ServerProcess.startSolo(volumeDir, port)) {
      try (Jedis jedis = new Jedis("127.0.0.1", port, 10_000)) {
        assertThat(jedis.set("a", "b")).isEqualTo("OK");
      }
      try (SoloVolume volume = SoloVolume.at(volumeDir)) {
        ChildView child = volume.superView();
        assertThat(child.promote()).isEqualTo(ChildView.Promotion.PROMOTED);
      }
      assertThat(node.awaitExit(30)).as("%s", node.logTail()).isEqualTo(3);
      assertThat(node.logTail()).contains("fenced");
    }
    String[] refused = ServerProcess.runExpectingExit(volumeDir, port);
    assertThat(refused[0]).as("respawn server on a solo volume").isEqualTo("2");
    assertThat(refused[1]).contains("is a solo volume");
  }

  /** Every file of a directory: name -> length and CRC-32C. */
  static Map<String, String> snapshot(Path dir) throws IOException {
    Map<String, String> files = new TreeMap<>();
    try (Stream<Path> list = Files.list(dir)) {
      for (Path p : list.toList()) {
        byte[] bytes = Files.readAllBytes(p);
        CRC32C crc = new CRC32C();
        crc.update(bytes);
        files.put(p.getFileName().toString(), bytes.length + ":" + Long.toHexString(crc.getValue()));
      }
    }
    return files;
  }

  static void signal(long pid, String signal) throws Exception {
    Process kill = new ProcessBuilder("kill", "-" + signal, Long.toString(pid)).inheritIO().start();
    assertThat(kill.waitFor(10, TimeUnit.SECONDS)).isTrue();
    assertThat(kill.exitValue()).as("kill -%s %d", signal, pid).isZero();
  }

  /** Waits until /proc says the process is stopped (state T). */
  static void awaitStopped(long pid) throws Exception {
    Path stat = Path.of("/proc", Long.toString(pid), "stat");
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (System.nanoTime() < deadline) {
      String s = Files.readString(stat);
      String state = s.substring(s.lastIndexOf(')') + 2, s.lastIndexOf(')') + 3);
      if (state.equals("T")) {
        return;
      }
      Thread.sleep(10);
    }
    throw new AssertionError("pid " + pid + " not stopped after SIGSTOP");
  }
}
