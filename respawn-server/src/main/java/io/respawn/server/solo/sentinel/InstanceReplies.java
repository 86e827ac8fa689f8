package io.respawn.server.solo.sentinel;

import static io.respawn.server.solo.sentinel.Subscriptions.bulk;

import io.netty.handler.codec.redis.RedisMessage;
import io.respawn.server.resp.Resp3;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * The maps SENTINEL MASTER(S), REPLICAS and SENTINELS answer, field for field as Redis Sentinel
 * writes them (its {@code addReplySentinelRedisInstance}): every value a bulk string, numbers in
 * decimal, in this order:
 *
 * <pre>
 *   all        name ip port runid flags link-pending-commands link-refcount
 *              [failover-state] last-ping-sent last-ok-ping-reply last-ping-reply
 *              [s-down-time] [o-down-time] down-after-milliseconds
 *   master     info-refresh role-reported role-reported-time config-epoch num-slaves
 *              num-other-sentinels quorum failover-timeout parallel-syncs
 *   replica    info-refresh role-reported role-reported-time master-link-down-time
 *              master-link-status master-host master-port slave-priority slave-repl-offset
 *              replica-announced
 *   sentinel   last-hello-message voted-leader voted-leader-epoch
 * </pre>
 *
 * A map is a RESP3 map, sent to RESP2 clients as a flat array of alternating names and values.
 * redis-py converts the numeric fields with {@code int()}, so they must stay plain integers.
 */
final class InstanceReplies {
  private InstanceReplies() {}

  static RedisMessage master(MasterView m) {
    Fields f = new Fields();
    common(f, m.name(), m.address(), m.runId(), "master", m.flags(), m.failoverState(),
        m.lastOkPingAgoMillis(), m.downAgoMillis(), m.downAfterMillis());
    f.add("info-refresh", m.lastOkPingAgoMillis());
    f.add("role-reported", "master");
    f.add("role-reported-time", 0);
    f.add("config-epoch", m.configEpoch());
    f.add("num-slaves", m.replicas().size());
    f.add("num-other-sentinels", m.otherSentinels().size());
    f.add("quorum", m.quorum());
    f.add("failover-timeout", m.failoverTimeoutMillis());
    f.add("parallel-syncs", 1);
    return f.toMap();
  }

  static RedisMessage replica(MasterView m, MasterView.ReplicaView r) {
    Fields f = new Fields();
    common(f, r.address().toString(), r.address(), r.runId(), "slave", r.flags(), "", 0, 0,
        m.downAfterMillis());
    f.add("info-refresh", 0);
    f.add("role-reported", "slave");
    f.add("role-reported-time", 0);
    f.add("master-link-down-time", 0);
    f.add("master-link-status", r.linkOk() ? "ok" : "err");
    f.add("master-host", m.address().host());
    f.add("master-port", m.address().port());
    f.add("slave-priority", r.priority());
    f.add("slave-repl-offset", r.replOffset());
    f.add("replica-announced", 1);
    return f.toMap();
  }

  static RedisMessage sentinel(MasterView m, MasterView.SentinelPeer p) {
    Fields f = new Fields();
    common(f, p.runId(), p.address(), p.runId(), "sentinel", p.flags(), "", 0, 0,
        m.downAfterMillis());
    f.add("last-hello-message", p.lastHelloAgoMillis());
    f.add("voted-leader", "?");
    f.add("voted-leader-epoch", 0);
    return f.toMap();
  }

  private static void common(Fields f, String name, HostPort at, String runId, String role,
      Set<InstanceFlag> flags, String failoverState, long lastOkAgoMillis, long downAgoMillis,
      long downAfterMillis) {
    f.add("name", name);
    f.add("ip", at.host());
    f.add("port", at.port());
    f.add("runid", runId);
    f.add("flags", flags(role, flags));
    f.add("link-pending-commands", 0);
    f.add("link-refcount", 1);
    if (flags.contains(InstanceFlag.FAILOVER_IN_PROGRESS)) {
      f.add("failover-state", failoverState.isEmpty() ? "wait_start" : failoverState);
    }
    f.add("last-ping-sent", 0);
    f.add("last-ok-ping-reply", lastOkAgoMillis);
    f.add("last-ping-reply", lastOkAgoMillis);
    if (flags.contains(InstanceFlag.S_DOWN)) {
      f.add("s-down-time", downAgoMillis);
    }
    if (flags.contains(InstanceFlag.O_DOWN)) {
      f.add("o-down-time", downAgoMillis);
    }
    f.add("down-after-milliseconds", downAfterMillis);
  }

  /**
   * Redis' order: s_down, o_down, then the role, then disconnected, failover_in_progress,
   * promoted.
   */
  static String flags(String role, Set<InstanceFlag> flags) {
    List<String> out = new ArrayList<>();
    if (flags.contains(InstanceFlag.S_DOWN)) {
      out.add(InstanceFlag.S_DOWN.redisName());
    }
    if (flags.contains(InstanceFlag.O_DOWN)) {
      out.add(InstanceFlag.O_DOWN.redisName());
    }
    out.add(role);
    for (InstanceFlag flag : List.of(InstanceFlag.DISCONNECTED,
        InstanceFlag.FAILOVER_IN_PROGRESS, InstanceFlag.PROMOTED)) {
      if (flags.contains(flag)) {
        out.add(flag.redisName());
      }
    }
    return String.join(",", out);
  }

  private static final class Fields {
    private final List<RedisMessage> items = new ArrayList<>(48);

    void add(String name, String value) {
      items.add(bulk(name));
      items.add(bulk(value));
    }

    void add(String name, long value) {
      add(name, Long.toString(value));
    }

    RedisMessage toMap() {
      return new Resp3.MapReply(items);
    }
  }
}
