package io.respawn.server.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.exceptions.JedisDataException;

/**
 * A real full disk: the node's data directory on a 64 MiB ext4 filesystem in a loop-mounted
 * file, filled through SET. Needs root (mount); skipped otherwise, or where loop devices are
 * not available. Writes are refused with MISCONF while reads are served, DEL and FLUSHALL are
 * accepted, writes resume by themselves once space is freed (another file deleted, then
 * FLUSHALL), and every acknowledged key is there after a restart.
 */
class DiskFullLoopMountIT {
  static final int VALUE_BYTES = 64 << 10;

  @TempDir Path tmp;
  private Path mount;
  private boolean mounted;
  private final Map<String, Integer> acked = new LinkedHashMap<>();

  private static int run(String... command) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    p.getInputStream().readAllBytes();
    if (!p.waitFor(60, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      return -1;
    }
    return p.exitValue();
  }

  private static String output(String... command) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
    p.waitFor(60, TimeUnit.SECONDS);
    return out;
  }

  @BeforeEach
  void mountASmallFilesystem() throws Exception {
    assumeTrue(output("id", "-u").equals("0"), "needs root to mount a loop device");
    Path image = tmp.resolve("disk.img");
    mount = tmp.resolve("mnt");
    Files.createDirectories(mount);
    assumeTrue(run("truncate", "-s", "64M", image.toString()) == 0, "truncate");
    assumeTrue(run("mkfs.ext4", "-q", "-m", "0", image.toString()) == 0, "mkfs.ext4");
    mounted = run("mount", "-o", "loop", image.toString(), mount.toString()) == 0;
    assumeTrue(mounted, "loop mount not available here");
  }

  @AfterEach
  void unmount() throws Exception {
    if (mounted) {
      if (run("umount", mount.toString()) != 0) {
        run("umount", "-l", mount.toString());
      }
    }
  }

  private static String value(int i) {
    char[] chars = new char[VALUE_BYTES];
    java.util.Arrays.fill(chars, (char) ('a' + i % 26));
    return i + ":" + new String(chars);
  }

  /** SETs new keys until one is refused; returns the error. */
  private String fill(Jedis jedis, String prefix) {
    for (int i = 0; i < 10_000; i++) {
      String key = prefix + i;
      try {
        jedis.set(key, value(i));
        acked.put(key, i);
      } catch (JedisDataException e) {
        return e.getMessage();
      }
    }
    throw new AssertionError("the 64 MiB filesystem never filled");
  }

  private void awaitWritesResume(Jedis jedis, String key) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
    while (true) {
      try {
        jedis.set(key, value(0));
        acked.put(key, 0);
        return;
      } catch (JedisDataException e) {
        assertThat(e.getMessage()).startsWith("MISCONF");
        assertThat(System.nanoTime()).as("writes did not resume").isLessThan(deadline);
        Thread.sleep(100);
      }
    }
  }

  private void assertAcknowledgedKeysServed(Jedis jedis) {
    assertThat(jedis.dbSize()).isEqualTo(acked.size());
    acked.forEach((k, i) -> assertThat(jedis.get(k)).as(k).isEqualTo(value(i)));
  }

  private long storeBytes() throws IOException {
    try (Stream<Path> files = Files.list(mount.resolve("store"))) {
      return files.filter(p -> p.getFileName().toString().endsWith(".log"))
          .mapToLong(p -> p.toFile().length()).sum();
    }
  }

  @Test
  void aFullFilesystemRefusesWritesKeepsServingAndRecoversWithoutARestart() throws Exception {
    Path ballast = mount.resolve("other-data");
    Files.write(ballast, new byte[12 << 20]); // someone else's data on the same disk
    int port = ServerProcess.freePort();
    List<String> args = List.of("--disk-reserve-bytes", "4m", "--flush-interval-ms", "20");
    try (ServerProcess server = ServerProcess.start(mount, port, args.toArray(String[]::new));
        Jedis jedis = new Jedis("127.0.0.1", port, 20_000)) {
      String refusal = fill(jedis, "k");
      assertThat(refusal).as(server.logTail()).containsAnyOf("MISCONF", "disk full");
      assertThatThrownBy(() -> jedis.set("more", "x"))
          .hasMessageStartingWith("MISCONF Errors writing to the log: No space left on device");
      assertAcknowledgedKeysServed(jedis);
      for (int i = 0; i < 10; i++) {
        assertThat(jedis.del("k" + i)).isEqualTo(1);
        acked.remove("k" + i);
      }
      assertThat(jedis.info("persistence")).contains("respawn_disk_full:1");

      Files.delete(ballast); // the other data goes: the node notices by itself
      awaitWritesResume(jedis, "after-space-freed");

      assertThat(fill(jedis, "second")).containsAnyOf("MISCONF", "disk full");
      long full = storeBytes();
      assertThat(jedis.flushAll()).isEqualTo("OK");
      acked.clear();
      awaitWritesResume(jedis, "after-flushall");
      assertThat(storeBytes()).as("FLUSHALL shrank the log").isLessThan(full / 4);
      for (int i = 0; i < 20; i++) {
        jedis.set("last" + i, value(i));
        acked.put("last" + i, i);
      }
      assertThat(server.terminate()).as(server.logTail()).isZero();
    }
    try (ServerProcess server = ServerProcess.start(mount, port, args.toArray(String[]::new));
        Jedis jedis = new Jedis("127.0.0.1", port, 20_000)) {
      assertAcknowledgedKeysServed(jedis);
    }
  }
}
