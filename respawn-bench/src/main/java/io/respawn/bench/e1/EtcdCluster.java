package io.respawn.bench.e1;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.respawn.server.shard.LoopbackPorts;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * A three-member etcd cluster on loopback ({@code etcd} of the Debian package {@code
 * etcd-server}, {@code scripts/install-etcd.sh}), each member with its own data directory under
 * {@code dir}, free client and peer ports, and otherwise etcd's defaults (every write fsynced
 * by a quorum before it is acknowledged). {@link #client} is one jetcd client for all three
 * endpoints.
 */
final class EtcdCluster implements AutoCloseable {
  static final int MEMBERS = 3;
  static final long READY_TIMEOUT_MILLIS = 60_000;

  final List<String> clientUrls = new ArrayList<>();
  final List<Process> members = new ArrayList<>();
  private final Client client;

  private EtcdCluster(LocalProcesses processes, Path dir) throws IOException, InterruptedException {
    List<String> peerUrls = new ArrayList<>();
    StringBuilder initial = new StringBuilder();
    int firstPort = LoopbackPorts.freeRange(2 * MEMBERS, 0); // a client and a peer port each
    for (int i = 1; i <= MEMBERS; i++) {
      int clientPort = firstPort + 2 * (i - 1);
      int peerPort = clientPort + 1;
      clientUrls.add("http://127.0.0.1:" + clientPort);
      peerUrls.add("http://127.0.0.1:" + peerPort);
      initial.append(i > 1 ? "," : "").append("e1-").append(i).append('=')
          .append(peerUrls.get(i - 1));
    }
    String token = "e1-" + Long.toHexString(ThreadLocalRandom.current().nextLong());
    for (int i = 1; i <= MEMBERS; i++) {
      Path memberDir = dir.resolve("member-" + i);
      Files.createDirectories(memberDir);
      members.add(processes.start(List.of("etcd",
          "--name", "e1-" + i,
          "--data-dir", memberDir.resolve("data").toString(),
          "--listen-client-urls", clientUrls.get(i - 1),
          "--advertise-client-urls", clientUrls.get(i - 1),
          "--listen-peer-urls", peerUrls.get(i - 1),
          "--initial-advertise-peer-urls", peerUrls.get(i - 1),
          "--initial-cluster", initial.toString(),
          "--initial-cluster-token", token,
          "--initial-cluster-state", "new"), memberDir.resolve("etcd.log")));
    }
    client = Client.builder().endpoints(clientUrls.toArray(String[]::new))
        .connectTimeout(Duration.ofSeconds(5)).build();
  }

  /** Starts the members and waits until the cluster acknowledges a put. */
  static EtcdCluster start(LocalProcesses processes, Path dir)
      throws IOException, InterruptedException {
    EtcdCluster cluster = new EtcdCluster(processes, dir);
    try {
      cluster.awaitReady();
    } catch (IOException | RuntimeException e) {
      cluster.close();
      throw e;
    }
    return cluster;
  }

  private void awaitReady() throws IOException, InterruptedException {
    long deadline = System.currentTimeMillis() + READY_TIMEOUT_MILLIS;
    String last = "no answer";
    ByteSequence probe = ByteSequence.from("e1:probe", StandardCharsets.UTF_8);
    while (System.currentTimeMillis() < deadline) {
      for (Process p : members) {
        if (!p.isAlive()) {
          throw new IOException("etcd member pid " + p.pid() + " exited with " + p.exitValue()
              + " (see its etcd.log)");
        }
      }
      try {
        client.getKVClient().put(probe, probe).get(2, TimeUnit.SECONDS);
        return;
      } catch (Exception e) {
        last = e.toString();
      }
      Thread.sleep(200);
    }
    throw new IOException("etcd cluster " + clientUrls + " not ready within "
        + READY_TIMEOUT_MILLIS + " ms: " + last);
  }

  Client client() {
    return client;
  }

  @Override
  public void close() {
    client.close();
    for (Process p : members) {
      LocalProcesses.stop(p);
    }
  }
}
