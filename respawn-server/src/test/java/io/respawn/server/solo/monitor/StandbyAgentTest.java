package io.respawn.server.solo.monitor;

import static org.assertj.core.api.Assertions.assertThat;

import io.respawn.server.ServerConfig;
import io.respawn.server.resp.ClientBufferLimits;
import io.respawn.server.resp.RespLimits;
import io.respawn.storage.Durability;
import io.respawn.storage.FileChannelDisk;
import io.respawn.storage.LogEngine;
import io.respawn.storage.Mutation;
import io.respawn.storage.StorageConfig;
import java.io.BufferedInputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import redis.clients.jedis.Jedis;

/** The standby's control protocol, in-process: HELLO, RECOVER, SERVE, ABORT, bad input. */
class StandbyAgentTest {
  @TempDir Path tmp;

  private PlainStoreTarget target() {
    return new PlainStoreTarget(new ServerConfig("127.0.0.1", 0, tmp, Durability.ORDERED, null,
        RespLimits.DEFAULTS, ClientBufferLimits.DEFAULTS, 1, StorageConfig.defaults(), 0));
  }

  private Path storeWithKeys(String name, int keys) throws Exception {
    Path dir = Files.createDirectories(tmp.resolve(name));
    try (LogEngine e = LogEngine.open(new FileChannelDisk(dir), StorageConfig.defaults())) {
      for (int i = 0; i < keys; i++) {
        e.apply(List.of(Mutation.put(("k" + i).getBytes(StandardCharsets.UTF_8),
            ("v" + i).getBytes(StandardCharsets.UTF_8)))).durable().get();
      }
    }
    return dir;
  }

  @Test
  void recoversThenServesTheStore() throws Exception {
    Path store = storeWithKeys("store", 10);
    ServerSocket control = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
    StandbyAgent agent = new StandbyAgent(control, "secret", target());
    CompletableFuture<StandbyAgent.Outcome> outcome = CompletableFuture.supplyAsync(() -> {
      try {
        return agent.run();
      } catch (Exception e) {
        throw new RuntimeException(e);
      }
    });
    try (Socket s = new Socket("127.0.0.1", control.getLocalPort())) {
      OutputStream out = s.getOutputStream();
      InputStream in = new BufferedInputStream(s.getInputStream());
      ControlLine.write(out, "HELLO secret");
      assertThat(ControlLine.read(in)).startsWith("+OK ");
      ControlLine.write(out, "PING");
      assertThat(ControlLine.read(in)).isEqualTo("+PONG");
      ControlLine.write(out, "SERVE 0");
      assertThat(ControlLine.read(in)).isEqualTo("-ERR SERVE needs a recovered store");
      ControlLine.write(out, "BOGUS");
      assertThat(ControlLine.read(in)).startsWith("-ERR unknown control command 'BOGUS'");
      ControlLine.write(out, "RECOVER " + store);
      assertThat(ControlLine.read(in)).startsWith("+RECOVERED 10 ");
      ControlLine.write(out, "SERVE 0");
      String serving = ControlLine.read(in);
      assertThat(serving).startsWith("+SERVING ");
      int port = Integer.parseInt(serving.substring(9));
      // a generous timeout: the first command on a cold server on a loaded machine takes seconds
      try (Jedis j = new Jedis(new redis.clients.jedis.HostAndPort("127.0.0.1", port),
          redis.clients.jedis.DefaultJedisClientConfig.builder().timeoutMillis(30_000)
              .protocol(redis.clients.jedis.RedisProtocol.RESP2).build())) {
        assertThat(j.get("k7")).isEqualTo("v7");
        j.set("after", "x");
      }
    }
    assertThat(outcome.get()).isEqualTo(StandbyAgent.Outcome.SERVING);
    agent.serving().close();
  }

  @Test
  void abortDropsTheRecoveredStoreAndStaysIdle() throws Exception {
    Path store = storeWithKeys("child", 3);
    ServerSocket control = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
    StandbyAgent agent = new StandbyAgent(control, "secret", target());
    CompletableFuture<StandbyAgent.Outcome> outcome = CompletableFuture.supplyAsync(() -> {
      try {
        return agent.run();
      } catch (Exception e) {
        throw new RuntimeException(e);
      }
    });
    try (Socket s = new Socket("127.0.0.1", control.getLocalPort())) {
      OutputStream out = s.getOutputStream();
      InputStream in = new BufferedInputStream(s.getInputStream());
      ControlLine.write(out, "HELLO secret");
      assertThat(ControlLine.read(in)).startsWith("+OK ");
      ControlLine.write(out, "RECOVER " + store);
      ControlLine.write(out, "ABORT");
      String first = ControlLine.read(in);
      // Either the recovery finished before ABORT was read, or ABORT waited for it.
      assertThat(first).matches("\\+RECOVERED 3 \\d+|-ERR aborted");
      assertThat(ControlLine.read(in)).isEqualTo("+IDLE");
      ControlLine.write(out, "SERVE 0");
      assertThat(ControlLine.read(in)).isEqualTo("-ERR SERVE needs a recovered store");
      ControlLine.write(out, "RECOVER " + store);
      assertThat(ControlLine.read(in)).startsWith("+RECOVERED 3 ");
    }
    assertThat(outcome.get()).isEqualTo(StandbyAgent.Outcome.RELEASED);
  }

  @Test
  void aConnectionWithoutTheTokenIsClosedAndTheRightOneStillWorks() throws Exception {
    ServerSocket control = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
    StandbyAgent agent = new StandbyAgent(control, "secret", target());
    CompletableFuture<StandbyAgent.Outcome> outcome = CompletableFuture.supplyAsync(() -> {
      try {
        return agent.run();
      } catch (Exception e) {
        throw new RuntimeException(e);
      }
    });
    try (Socket s = new Socket("127.0.0.1", control.getLocalPort())) {
      ControlLine.write(s.getOutputStream(), "HELLO wrong");
      assertThat(s.getInputStream().read()).isEqualTo(-1);
    }
    try (Socket s = new Socket("127.0.0.1", control.getLocalPort())) {
      ControlLine.write(s.getOutputStream(), "HELLO secret");
      assertThat(ControlLine.read(new BufferedInputStream(s.getInputStream()))).startsWith("+OK ");
    }
    assertThat(outcome.get()).isEqualTo(StandbyAgent.Outcome.RELEASED);
  }
}
