package io.respawn.server.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.StatefulRedisConnectionImpl;
import io.lettuce.core.TransactionResult;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.codec.StringCodec;
import io.lettuce.core.output.ArrayOutput;
import io.lettuce.core.output.GenericMapOutput;
import io.lettuce.core.protocol.CommandArgs;
import io.lettuce.core.protocol.CommandType;
import io.lettuce.core.protocol.ProtocolVersion;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.Protocol;
import redis.clients.jedis.RedisProtocol;
import redis.clients.jedis.Transaction;
import redis.clients.jedis.params.CommandListFilterByParams;
import redis.clients.jedis.resps.CommandDocument;
import redis.clients.jedis.util.KeyValue;

/**
 * RESP3-first clients against a server process: Lettuce (which asks for RESP3 with HELLO 3 and
 * falls back to RESP2 only if that fails) and Jedis configured for RESP3 stay on RESP3 and decode
 * the typed replies (maps, nulls, verbatim strings, sets).
 */
class Resp3ClientsIT {
  @TempDir static Path tmp;
  static ServerProcess server;

  @BeforeAll
  static void start() throws Exception {
    server = ServerProcess.start(tmp.resolve("data"), ServerProcess.freePort());
  }

  @AfterAll
  static void stop() {
    if (server != null) {
      server.close();
    }
  }

  @Test
  void lettuceNegotiatesResp3AndDecodesTypedReplies() {
    RedisClient client = RedisClient.create(RedisURI.create("127.0.0.1", server.port()));
    try (StatefulRedisConnection<String, String> conn = client.connect()) {
      RedisCommands<String, String> r = conn.sync();
      assertThat(((StatefulRedisConnectionImpl<?, ?>) conn).getConnectionState()
          .getNegotiatedProtocolVersion()).as("no fallback to RESP2").isEqualTo(
              ProtocolVersion.RESP3);
      assertThat(r.clientInfo()).contains(" resp=3 ").contains(" lib-name=Lettuce ");
      assertThat(r.set("k", "v")).isEqualTo("OK");
      assertThat(r.get("k")).isEqualTo("v");
      assertThat(r.get("nope")).isNull();
      assertThat(r.mget("k", "nope")).hasSize(2).satisfiesExactly(
          kv -> assertThat(kv.getValue()).isEqualTo("v"),
          kv -> assertThat(kv.hasValue()).isFalse());
      assertThat(r.configGet("slowlog-max-len")).containsExactly(Map.entry("slowlog-max-len",
          "128"));
      assertThat(r.info("server")).startsWith("# Server\r\n").contains("redis_version:");
      assertThat(r.clientList()).contains("lib-name=Lettuce");
      Map<String, Object> hello = r.dispatch(CommandType.HELLO,
          new GenericMapOutput<>(StringCodec.UTF8), new CommandArgs<>(StringCodec.UTF8).add(3));
      assertThat(hello).containsEntry("proto", 3L).containsEntry("server", "redis")
          .containsEntry("mode", "standalone");
      List<Object> info = r.commandInfo("get");
      assertThat(info).hasSize(1);
      List<Object> get = new java.util.ArrayList<>((List<?>) info.get(0));
      assertThat(get.subList(0, 2)).containsExactly("get", 2L);
      assertThat(r.commandCount()).isGreaterThan(50L);
      assertThat(r.slowlogLen()).isNotNegative();
      List<Object> docs = r.dispatch(CommandType.COMMAND, new ArrayOutput<>(StringCodec.UTF8),
          new CommandArgs<>(StringCodec.UTF8).add("DOCS").add("get"));
      assertThat(docs.toString()).contains("Returns the value of a key.");

      try (StatefulRedisConnection<String, String> other = client.connect()) {
        r.watch("w");
        other.sync().set("w", "changed");
        r.multi();
        r.get("w");
        TransactionResult result = r.exec();
        assertThat(result.wasDiscarded()).as("EXEC after a watched change: null").isTrue();
      }
      r.multi();
      r.incr("n");
      r.get("k");
      TransactionResult ok = r.exec();
      assertThat(ok.wasDiscarded()).isFalse();
      assertThat((Object) ok.get(0)).isEqualTo(1L);
      assertThat((Object) ok.get(1)).isEqualTo("v");
    } finally {
      client.shutdown();
    }
  }

  @Test
  void jedisWithResp3StaysOnResp3() {
    try (Jedis jedis = new Jedis(new HostAndPort("127.0.0.1", server.port()),
        DefaultJedisClientConfig.builder().protocol(RedisProtocol.RESP3).build())) {
      assertThat(jedis.getConnection().getRedisProtocol()).isEqualTo(RedisProtocol.RESP3);
      assertThat(jedis.clientInfo()).contains(" resp=3 ");
      jedis.set("j", "1");
      assertThat(jedis.get("j")).isEqualTo("1");
      assertThat(jedis.get("nope")).isNull();
      assertThat(jedis.configGet("slowlog-*")).containsEntry("slowlog-max-len", "128")
          .containsKey("slowlog-log-slower-than");
      Object hello = jedis.sendCommand(Protocol.Command.HELLO, "3");
      assertThat(hello).as("a RESP3 map, decoded as key-value pairs").isInstanceOf(List.class);
      assertThat((List<?>) hello).first().isInstanceOf(KeyValue.class);
      assertThat(jedis.info()).contains("# Server").contains("# CPU").contains("used_cpu_user:");
      Map<String, CommandDocument> docs = jedis.commandDocs("get", "client|kill");
      assertThat(docs).containsKeys("get", "client|kill");
      assertThat(docs.get("get").getSummary()).isEqualTo("Returns the value of a key.");
      assertThat(jedis.commandListFilterBy(CommandListFilterByParams.commandListFilterByParams()
          .filterByPattern("client|k*"))).containsExactly("client|kill");
      assertThat(jedis.commandGetKeys("MSET", "a", "1", "b", "2")).containsExactly("a", "b");
      assertThat(jedis.latencyDoctor()).contains("Latency monitoring is disabled");
      jedis.configSet("slowlog-log-slower-than", "0");
      jedis.slowlogReset();
      jedis.set("slow", "x");
      assertThat(jedis.slowlogGet(1)).singleElement().satisfies(entry ->
          assertThat(entry.getArgs()).containsExactly("SET", "slow", "x"));
      jedis.configSet("slowlog-log-slower-than", "10000");
      jedis.watch("jw");
      try (Jedis other = new Jedis("127.0.0.1", server.port())) {
        other.set("jw", "x");
      }
      Transaction t = jedis.multi();
      t.get("jw");
      assertThat(t.exec()).as("EXEC after a watched change: null").isNull();
    }
  }
}
