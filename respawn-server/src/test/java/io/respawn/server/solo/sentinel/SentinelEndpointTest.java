package io.respawn.server.solo.sentinel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.respawn.server.resp.ClientBufferLimits;
import io.respawn.server.solo.sentinel.RespSocket.Err;
import io.respawn.server.solo.sentinel.RespSocket.Push;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The Sentinel endpoint over real loopback sockets, in process, against a {@link MasterBoard}:
 * the reply shapes and errors of Redis Sentinel 7 (checked against {@code redis-server
 * --sentinel}), pub/sub in RESP2 and RESP3, and the bound on a subscriber that stops reading.
 */
class SentinelEndpointTest {
  static final HostPort A = new HostPort("127.0.0.1", 7001);
  static final HostPort B = new HostPort("127.0.0.1", 7002);

  MasterBoard board;
  SentinelEndpoint endpoint;

  @BeforeEach
  void start() throws Exception {
    board = new MasterBoard();
    board.put(MasterView.serving("mymaster", A, 1, 0, 5_000, 180_000));
    endpoint = SentinelEndpoint.start("127.0.0.1", 0, board);
  }

  @AfterEach
  void stop() {
    endpoint.close();
  }

  @Test
  void getMasterAddrByNameAnswersLikeRedisSentinel() throws IOException {
    try (RespSocket c = new RespSocket(endpoint.port())) {
      assertThat(c.callRaw("SENTINEL", "get-master-addr-by-name", "mymaster"))
          .isEqualTo("*2\r\n$9\r\n127.0.0.1\r\n$4\r\n7001\r\n");
      assertThat(c.callRaw("SENTINEL", "GET-MASTER-ADDR-BY-NAME", "nope")).isEqualTo("*-1\r\n");
      assertThat(c.call("HELLO", "3")).isInstanceOf(Map.class);
      assertThat(c.callRaw("SENTINEL", "get-master-addr-by-name", "nope")).isEqualTo("_\r\n");
    }
  }

  @Test
  void masterAndMastersListRedisFieldsInRedisOrder() throws IOException {
    board.update("mymaster", m -> m.withFlags(Set.of(InstanceFlag.S_DOWN, InstanceFlag.O_DOWN,
        InstanceFlag.FAILOVER_IN_PROGRESS), 1234));
    try (RespSocket c = new RespSocket(endpoint.port())) {
      Map<String, String> m = RespSocket.fields(c.call("SENTINEL", "master", "mymaster"));
      assertThat(m.keySet()).containsExactly("name", "ip", "port", "runid", "flags",
          "link-pending-commands", "link-refcount", "failover-state", "last-ping-sent",
          "last-ok-ping-reply", "last-ping-reply", "s-down-time", "o-down-time",
          "down-after-milliseconds", "info-refresh", "role-reported", "role-reported-time",
          "config-epoch", "num-slaves", "num-other-sentinels", "quorum", "failover-timeout",
          "parallel-syncs");
      assertThat(m).containsEntry("name", "mymaster").containsEntry("ip", "127.0.0.1")
          .containsEntry("port", "7001")
          .containsEntry("flags", "s_down,o_down,master,failover_in_progress")
          .containsEntry("s-down-time", "1234").containsEntry("quorum", "1")
          .containsEntry("down-after-milliseconds", "5000")
          .containsEntry("failover-timeout", "180000");
      @SuppressWarnings("unchecked")
      List<Object> all = (List<Object>) c.call("SENTINEL", "masters");
      assertThat(all).hasSize(1);
      assertThat(RespSocket.fields(all.get(0))).isEqualTo(m);
      c.call("HELLO", "3");
      assertThat(c.call("SENTINEL", "master", "mymaster")).isInstanceOf(Map.class);
    }
  }

  @Test
  void replicasAndSentinelsListTheirInstances() throws IOException {
    HostPort r = new HostPort("127.0.0.1", 7003);
    HostPort peer = new HostPort("127.0.0.1", 26380);
    String peerId = MasterBoard.randomRunId();
    board.put(new MasterView("mymaster", A, "", Set.of(), 2, 3, 5_000, 180_000, 10, 0, "",
        List.of(new MasterView.ReplicaView(r, "", Set.of(InstanceFlag.DISCONNECTED), false, 42,
            100)),
        List.of(new MasterView.SentinelPeer(peer, peerId, Set.of(), 300))));
    try (RespSocket c = new RespSocket(endpoint.port())) {
      for (String sub : List.of("replicas", "slaves")) {
        @SuppressWarnings("unchecked")
        List<Object> replicas = (List<Object>) c.call("SENTINEL", sub, "mymaster");
        assertThat(replicas).hasSize(1);
        Map<String, String> f = RespSocket.fields(replicas.get(0));
        assertThat(f).containsEntry("name", "127.0.0.1:7003").containsEntry("port", "7003")
            .containsEntry("flags", "slave,disconnected")
            .containsEntry("master-link-status", "err").containsEntry("master-host", "127.0.0.1")
            .containsEntry("master-port", "7001").containsEntry("slave-repl-offset", "42")
            .containsEntry("slave-priority", "100");
      }
      @SuppressWarnings("unchecked")
      List<Object> sentinels = (List<Object>) c.call("SENTINEL", "sentinels", "mymaster");
      Map<String, String> s = RespSocket.fields(sentinels.get(0));
      assertThat(s).containsEntry("name", peerId).containsEntry("runid", peerId)
          .containsEntry("flags", "sentinel").containsEntry("last-hello-message", "300")
          .containsEntry("voted-leader", "?");
      assertThat(RespSocket.fields(c.call("SENTINEL", "master", "mymaster")))
          .containsEntry("num-slaves", "1").containsEntry("num-other-sentinels", "1")
          .containsEntry("config-epoch", "3");
      assertThat(c.call("SENTINEL", "ckquorum", "mymaster"))
          .isEqualTo("OK 2 usable Sentinels. Quorum and failover authorization can be reached");
    }
  }

  @Test
  void identityRoleInfoAndConnectionCommands() throws IOException {
    try (RespSocket c = new RespSocket(endpoint.port())) {
      assertThat(c.call("SENTINEL", "myid")).isEqualTo(board.myId());
      assertThat(c.call("ROLE")).isEqualTo(List.of("sentinel", List.of("mymaster")));
      assertThat(c.call("PING")).isEqualTo("PONG");
      assertThat(c.call("PING", "hi")).isEqualTo("hi");
      assertThat(c.call("CLIENT", "SETNAME", "app")).isEqualTo("OK");
      assertThat(c.call("CLIENT", "GETNAME")).isEqualTo("app");
      assertThat(c.call("CLIENT", "SETINFO", "lib-name", "jedis")).isEqualTo("OK");
      assertThat(c.call("CLIENT", "SETINFO", "LIB-VER", "8.0.2")).isEqualTo("OK");
      assertThat((Long) c.call("CLIENT", "ID")).isPositive();
      String info = (String) c.call("INFO");
      assertThat(info).contains("# Server\r\n", "redis_mode:sentinel\r\n", "# Sentinel\r\n",
          "sentinel_masters:1\r\n",
          "master0:name=mymaster,status=ok,address=127.0.0.1:7001,slaves=0,sentinels=1\r\n");
      assertThat((String) c.call("INFO", "sentinel")).startsWith("# Sentinel\r\n")
          .doesNotContain("# Server");
      assertThat(c.call("INFO", "nosuchsection")).isEqualTo("");
      @SuppressWarnings("unchecked")
      Map<Object, Object> hello = (Map<Object, Object>) c.call("HELLO", "3", "SETNAME", "x");
      assertThat(hello).containsEntry("mode", "sentinel").containsEntry("proto", 3L)
          .containsEntry("server", "redis");
      assertThat(c.call("CLIENT", "GETNAME")).isEqualTo("x");
      assertThat(c.call("RESET")).isEqualTo("RESET");
      assertThat(c.call("CLIENT", "GETNAME")).isNull();
      assertThat(c.call("QUIT")).isEqualTo("OK");
      assertThatThrownBy(c::read).isInstanceOf(java.io.EOFException.class);
    }
  }

  @Test
  void badInputGetsRedisSentinelErrors() throws IOException {
    try (RespSocket c = new RespSocket(endpoint.port())) {
      assertThat(c.call("SENTINEL", "master", "nope"))
          .isEqualTo(new Err("ERR No such master with that name"));
      assertThat(c.call("SENTINEL", "replicas", "nope"))
          .isEqualTo(new Err("ERR No such master with that name"));
      assertThat(c.call("SENTINEL", "sentinels", "nope"))
          .isEqualTo(new Err("ERR No such master with that name"));
      assertThat(c.call("SENTINEL", "master"))
          .isEqualTo(new Err("ERR wrong number of arguments for 'sentinel|master' command"));
      assertThat(c.call("SENTINEL", "get-master-addr-by-name", "a", "b")).isEqualTo(new Err(
          "ERR wrong number of arguments for 'sentinel|get-master-addr-by-name' command"));
      assertThat(c.call("SENTINEL", "masters", "x"))
          .isEqualTo(new Err("ERR wrong number of arguments for 'sentinel|masters' command"));
      assertThat(c.call("SENTINEL"))
          .isEqualTo(new Err("ERR wrong number of arguments for 'sentinel' command"));
      assertThat(c.call("SENTINEL", "foo"))
          .isEqualTo(new Err("ERR unknown subcommand 'foo'. Try SENTINEL HELP."));
      assertThat(((Err) c.call("SENTINEL", "failover", "mymaster")).message())
          .startsWith("ERR SENTINEL FAILOVER is not supported");
      assertThat(c.call("GET", "x"))
          .isEqualTo(new Err("ERR unknown command 'GET', with args beginning with: 'x' "));
      assertThat(c.call("PING", "a", "b"))
          .isEqualTo(new Err("ERR wrong number of arguments for 'ping' command"));
      assertThat(c.call("PUBLISH", "a", "b"))
          .isEqualTo(new Err("ERR Only HELLO messages are accepted by Sentinel instances."));
      assertThat(c.call("SUBSCRIBE"))
          .isEqualTo(new Err("ERR wrong number of arguments for 'subscribe' command"));
      assertThat(c.call("HELLO", "4")).isEqualTo(new Err("NOPROTO unsupported protocol version"));
      assertThat(c.call("CLIENT", "SETNAME", "a b")).isEqualTo(new Err(
          "ERR Client names cannot contain spaces, newlines or special characters."));
      assertThat(c.call("AUTH", "pw")).isEqualTo(new Err("ERR AUTH <password> called without "
          + "any password configured for the default user. Are you sure your configuration is "
          + "correct?"));
      // Still serving after all of that.
      assertThat(c.call("SENTINEL", "get-master-addr-by-name", "mymaster"))
          .isEqualTo(List.of("127.0.0.1", "7001"));
    }
  }

  @Test
  void aProtocolErrorIsAnsweredAndClosesOnlyThatConnection() throws IOException {
    try (RespSocket bad = new RespSocket(endpoint.port());
        RespSocket good = new RespSocket(endpoint.port())) {
      bad.socket.getOutputStream().write("*1\r\n$x\r\n".getBytes());
      assertThat(((Err) bad.read()).message()).startsWith("ERR Protocol error");
      assertThatThrownBy(bad::read).isInstanceOf(IOException.class);
      assertThat(good.call("PING")).isEqualTo("PONG");
    }
  }

  @Test
  void subscribersGetSwitchMasterInRedisShapes() throws Exception {
    try (RespSocket sub = new RespSocket(endpoint.port());
        RespSocket psub = new RespSocket(endpoint.port());
        RespSocket resp3 = new RespSocket(endpoint.port())) {
      assertThat(sub.call("SUBSCRIBE", "+switch-master", "+sdown"))
          .isEqualTo(List.of("subscribe", "+switch-master", 1L));
      assertThat(sub.read()).isEqualTo(List.of("subscribe", "+sdown", 2L));
      assertThat(sub.call("SENTINEL", "masters")).isEqualTo(new Err("ERR Can't execute "
          + "'sentinel|masters': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET "
          + "are allowed in this context"));
      assertThat(sub.call("PING")).isEqualTo(List.of("pong", ""));
      assertThat(psub.call("PSUBSCRIBE", "*")).isEqualTo(List.of("psubscribe", "*", 1L));
      resp3.call("HELLO", "3");
      assertThat(resp3.call("SUBSCRIBE", "+switch-master"))
          .isEqualTo(new Push(List.of("subscribe", "+switch-master", 1L)));
      assertThat(resp3.call("SENTINEL", "get-master-addr-by-name", "mymaster"))
          .isEqualTo(List.of("127.0.0.1", "7001"));

      board.switchMaster("mymaster", B);

      assertThat(sub.read()).isEqualTo(List.of("message", "+switch-master",
          "mymaster 127.0.0.1 7001 127.0.0.1 7002"));
      assertThat(psub.read()).isEqualTo(List.of("pmessage", "*", "+switch-master",
          "mymaster 127.0.0.1 7001 127.0.0.1 7002"));
      assertThat(psub.read()).isEqualTo(List.of("pmessage", "*", "+failover-end",
          "master mymaster 127.0.0.1 7001"));
      assertThat(resp3.read()).isEqualTo(new Push(List.of("message", "+switch-master",
          "mymaster 127.0.0.1 7001 127.0.0.1 7002")));
      assertThat(psub.call("SENTINEL", "get-master-addr-by-name", "mymaster"))
          .isInstanceOf(Err.class); // RESP2 subscriber: only pub/sub commands
      assertThat(resp3.call("SENTINEL", "get-master-addr-by-name", "mymaster"))
          .isEqualTo(List.of("127.0.0.1", "7002"));

      assertThat(sub.call("UNSUBSCRIBE")).isEqualTo(List.of("unsubscribe", "+switch-master", 1L));
      assertThat(sub.read()).isEqualTo(List.of("unsubscribe", "+sdown", 0L));
      assertThat(sub.call("UNSUBSCRIBE")).isEqualTo(java.util.Arrays.asList("unsubscribe", null,
          0L));
      assertThat(sub.call("SENTINEL", "get-master-addr-by-name", "mymaster"))
          .isEqualTo(List.of("127.0.0.1", "7002"));
      assertThat(psub.call("PUNSUBSCRIBE", "*")).isEqualTo(List.of("punsubscribe", "*", 0L));
    }
  }

  @Test
  void aSubscriberThatNeverReadsIsCutOffAtItsOutputLimitAndOthersGetEverything()
      throws Exception {
    endpoint.close();
    long hardBytes = 256 * 1024;
    endpoint = SentinelEndpoint.start("127.0.0.1", 0, board,
        new ClientBufferLimits(hardBytes, 0, 0, 0));
    // ~1 KB each on the wire: 12 MB in all, over the limit and what loopback's socket buffers
    // (a few MB) can hide.
    int events = 12_000;
    String name = "m".repeat(950);
    board.put(MasterView.serving(name, A, 1, 0, 5_000, 180_000));
    try (RespSocket stuck = new RespSocket(endpoint.port(), 4096);
        RespSocket reader = new RespSocket(endpoint.port())) {
      assertThat(stuck.call("SUBSCRIBE", "+sdown")).isEqualTo(List.of("subscribe", "+sdown", 1L));
      assertThat(reader.call("SUBSCRIBE", "+sdown")).isEqualTo(List.of("subscribe", "+sdown", 1L));
      for (int i = 0; i < events; i++) {
        board.publish(SentinelEvent.subjectivelyDown(name, new HostPort("10.0.0.1", 1 + i), true));
        if (i % 1000 == 999) {
          for (int j = i - 999; j <= i; j++) {
            assertThat(reader.read()).isEqualTo(List.of("message", "+sdown",
                "master " + name + " 10.0.0.1 " + (1 + j)));
          }
        }
      }
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (endpoint.clients() > 1 && System.nanoTime() < deadline) {
        Thread.sleep(20);
      }
      assertThat(endpoint.clients()).as("the stuck subscriber is disconnected").isEqualTo(1);
      // What it had received stops short of everything: it was cut off, not served forever.
      stuck.socket.setSoTimeout(5_000);
      long got = 0;
      try {
        while (true) {
          stuck.read();
          got++;
        }
      } catch (IOException e) {
        // closed by the endpoint
      }
      assertThat(got).isLessThan(events);
      assertThat(reader.call("PING")).isEqualTo(List.of("pong", ""));
    }
  }
}
