package io.respawn.server.command;

import static io.respawn.server.command.Replies.array;
import static io.respawn.server.command.Replies.bulk;
import static io.respawn.server.command.Replies.error;
import static io.respawn.server.command.Replies.integer;

import io.netty.handler.codec.redis.RedisMessage;
import io.netty.util.ReferenceCountUtil;
import io.respawn.core.Role;
import io.respawn.server.command.CommandSpec.Flag;
import io.respawn.server.shard.KeySlot;
import io.respawn.server.shard.ShardView;
import io.respawn.server.shard.ShardView.MemberView;
import io.respawn.server.shard.ShardWrites;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * The Redis Cluster face of a replicated shard, so cluster-aware clients (JedisCluster, Lettuce,
 * {@code redis-cli -c}, redis-py's RedisCluster) find the primary and follow failovers: the
 * shard owns all 16384 slots, which the primary serves; every other member answers data
 * commands with {@code -MOVED <slot> <primary>} and, while no primary is known, {@code
 * -CLUSTERDOWN}. CLUSTER SLOTS / SHARDS / NODES / INFO / MYID / KEYSLOT describe the shard;
 * READONLY, READWRITE and ASKING are accepted (reads are still served by the primary only: they
 * are linearizable there alone).
 *
 * <p>Only registered when the node runs as a member of a shard (a standalone server answers
 * CLUSTER as Redis does without cluster support). Command thread only; the view is read fresh
 * for every command.
 */
final class ClusterCommands {
  private final Supplier<ShardView> view;
  /** Whether this member is the primary and may serve now: asked by every data command. */
  private final java.util.function.BooleanSupplier servingHere;
  /**
   * Index of the last primary this member knew, or -1. While no primary is known (an election
   * is under way) the topology commands still name it, as a Redis Cluster keeps a failed
   * master's slots until a replica is promoted: a client refreshing its topology then must not
   * learn that no node serves any slot (Lettuce then fails every command until its next
   * refresh). Redirects do not use it: they wait for the shard to settle.
   */
  private int lastPrimary = -1;

  ClusterCommands(Supplier<ShardView> view, java.util.function.BooleanSupplier servingHere) {
    this.view = view;
    this.servingHere = servingHere;
  }

  /**
   * The view to describe: the current one; while no primary is known, the last primary; and
   * while none has been known since this process started, {@link #configuredPrimaryInReach}.
   */
  private ShardView described() {
    ShardView v = view.get();
    if (v.primary() >= 0) {
      lastPrimary = v.primary();
      return v;
    }
    int named = lastPrimary >= 0 ? lastPrimary : configuredPrimaryInReach(v);
    return named < 0 ? v : new ShardView(v.self(), named, v.epoch(), v.members(), false);
  }

  /**
   * For a member that has known no primary since it started: the configured primary unless
   * this member found it out of reach; or this member itself when it is the only member of role
   * primary it knows and not every other member is out of its reach (a shard starting up, its
   * primary about to lead); else -1, and the topology names no primary (an empty CLUSTER SLOTS,
   * which a cluster client takes as "ask another node"). Out of reach ({@link
   * MemberView#outOfReach}) is known, not guessed: nothing listens at the member's address, or
   * it refuses this member as not a member; while a link is still being set up (start-up) the
   * configured primary is named as it always was. So a spare not added yet (every member refuses
   * it), a member restarted after its configured primary was lost (nothing listens there), and a
   * primary the shard removed while it was away (every member refuses it) do not send a client
   * that renews its slots there to a dead or removed node, again and again. Never itself beside
   * another member of role primary: a spare primary lists itself beside the primary it may
   * replace.
   */
  private static int configuredPrimaryInReach(ShardView v) {
    int other = -1;
    boolean anotherPrimary = false;
    boolean anotherInReach = false;
    for (int i = 0; i < v.members().size(); i++) {
      MemberView m = v.members().get(i);
      if (i == v.self()) {
        continue;
      }
      anotherInReach |= !m.outOfReach();
      if (m.role() == Role.PRIMARY) {
        anotherPrimary = true;
        if (!m.outOfReach() && other < 0) {
          other = i;
        }
      }
    }
    if (other >= 0) {
      return other;
    }
    boolean alone = v.members().size() == 1;
    return !anotherPrimary && v.me().role() == Role.PRIMARY && (anotherInReach || alone)
        ? v.self() : -1;
  }

  void register(CommandTable t) {
    t.add("cluster", -2, this::cluster);
    t.add("readonly", 1, (s, a) -> Replies.OK);
    t.add("readwrite", 1, (s, a) -> Replies.OK);
    t.add("asking", 1, (s, a) -> Replies.OK);
  }

  /**
   * The redirect for a command this member must not run, null to run it here, or {@link
   * #UNSETTLED} to hold it until the shard settles. Commands that touch no data (connection and
   * server commands) always run where they arrive.
   */
  RedisMessage redirect(CommandSpec spec, byte[][] args) {
    boolean touchesData = spec.firstKey() > 0 || spec.has(Flag.WRITE)
        || spec.has(Flag.READONLY);
    if (!touchesData) {
      return null;
    }
    if (servingHere.getAsBoolean()) {
      return null;
    }
    ShardView v = view.get();
    MemberView p = v.primaryMember();
    if (p != null && !v.selfIsPrimary()) {
      return moved(slotOf(spec, args), p);
    }
    // In between: no primary known yet, or this member leads but cannot serve yet (election just
    // won, read lease not renewed yet, values being pulled, leadership being handed over). The
    // dispatcher holds the command and runs it again once the shard settles: here if this
    // member then serves (a plain client could not follow a MOVED to the member it is on),
    // else MOVED to whoever does.
    return UNSETTLED;
  }

  /**
   * {@link #redirect}'s answer for a data command that must wait for the shard to settle: hold
   * it ({@link #wakeWhenSettled}), and refuse it with {@link #unsettledRefusal} once it has
   * waited {@link #SETTLE_WAIT_NANOS}.
   */
  static final RedisMessage UNSETTLED = new RedisMessage() {
    @Override
    public String toString() {
      return "UNSETTLED";
    }
  };

  /** Why a command held {@link #UNSETTLED} for {@link #SETTLE_WAIT_NANOS} is refused. */
  String unsettledRefusal() {
    ShardView v = view.get();
    MemberView p = v.primaryMember();
    return p == null ? "CLUSTERDOWN The cluster is down"
        : v.selfIsPrimary() && v.keysToLoad() > 0
        ? "LOADING the new primary is copying its values from a backup before it serves ("
            + v.keysToLoad() + " keys left, offline recovery); retry"
        : "TRYAGAIN the primary is not ready to serve yet; retry";
  }

  private final java.util.concurrent.atomic.AtomicBoolean polling =
      new java.util.concurrent.atomic.AtomicBoolean();

  /**
   * Runs {@code wake} (on the settle thread) once the shard has settled — a primary is known and
   * it is either another member or this one serving — or after {@link #SETTLE_WAIT_NANOS}. One
   * poll at a time serves every held command: a command held while a poll runs is woken by it.
   */
  void wakeWhenSettled(Runnable wake) {
    if (polling.compareAndSet(false, true)) {
      long deadline = System.nanoTime() + SETTLE_WAIT_NANOS;
      SETTLE.schedule(() -> pollSettled(wake, deadline), SETTLE_POLL_MILLIS,
          TimeUnit.MILLISECONDS);
    }
  }

  private void pollSettled(Runnable wake, long deadline) {
    if (settled(view.get()) || System.nanoTime() >= deadline) {
      polling.set(false);
      wake.run();
    } else {
      SETTLE.schedule(() -> pollSettled(wake, deadline), SETTLE_POLL_MILLIS,
          TimeUnit.MILLISECONDS);
    }
  }

  private static boolean settled(ShardView v) {
    return v.primaryMember() != null && (!v.selfIsPrimary() || v.selfServing());
  }

  /** The slot a redirect names: the first key's, or 0 for a command without keys. */
  private static int slotOf(CommandSpec spec, byte[][] args) {
    return spec.firstKey() > 0 && spec.firstKey() < args.length
        ? KeySlot.of(args[spec.firstKey()]) : 0;
  }

  /**
   * The reply to a command that ran here and waits for {@code gate}: {@code message} once it
   * opens; if it fails because the command certainly did not take effect (this member stopped
   * leading before proposing it, as in a planned hand-over: {@link
   * ShardWrites.NotPrimaryException#notCarriedOut}), a redirect to whoever serves once the shard
   * settles, which a cluster client follows and retries; any other failure as it is.
   */
  CompletableFuture<RedisMessage> redirectIfNotCarriedOut(CompletableFuture<?> gate,
      RedisMessage message, CommandSpec spec, byte[][] args) {
    CompletableFuture<RedisMessage> answer = new CompletableFuture<>();
    gate.whenComplete((v, e) -> {
      if (e == null) {
        answer.complete(message);
        return;
      }
      ReferenceCountUtil.release(message);
      Throwable cause = e instanceof CompletionException && e.getCause() != null
          ? e.getCause() : e;
      if (cause instanceof ShardWrites.NotPrimaryException n && n.notCarriedOut()) {
        awaitSettled(slotOf(spec, args), System.nanoTime() + SETTLE_WAIT_NANOS, answer);
      } else {
        answer.completeExceptionally(cause);
      }
    });
    return answer;
  }

  /**
   * For a command whose handler failed with {@code e}: a deferred redirect when {@code e} says
   * the command did not take effect because this member does not serve (any more), else null.
   */
  RedisMessage redirectIfNotCarriedOut(ReplyException e, CommandSpec spec, byte[][] args) {
    if (!(e instanceof ShardWrites.NotPrimaryException n) || !n.notCarriedOut()) {
      return null;
    }
    CompletableFuture<RedisMessage> answer = new CompletableFuture<>();
    awaitSettled(slotOf(spec, args), System.nanoTime() + SETTLE_WAIT_NANOS, answer);
    return new Deferred(answer);
  }

  /** Longest a command waits for the shard to settle before it is told CLUSTERDOWN. */
  static final long SETTLE_WAIT_NANOS = 3_000_000_000L;
  private static final long SETTLE_POLL_MILLIS = 5;
  private static final ScheduledExecutorService SETTLE = Executors.newSingleThreadScheduledExecutor(
      r -> {
        Thread t = new Thread(r, "respawn-cluster-settle");
        t.setDaemon(true);
        return t;
      });

  private void awaitSettled(int slot, long deadline, CompletableFuture<RedisMessage> answer) {
    ShardView v = view.get();
    MemberView p = v.primaryMember();
    if (settled(v)) {
      answer.complete(moved(slot, p));
    } else if (System.nanoTime() >= deadline) {
      answer.complete(error(unsettledRefusal()));
    } else {
      SETTLE.schedule(() -> awaitSettled(slot, deadline, answer), SETTLE_POLL_MILLIS,
          TimeUnit.MILLISECONDS);
    }
  }

  private static RedisMessage moved(int slot, MemberView p) {
    return error("MOVED " + slot + " " + p.host() + ":" + p.port());
  }

  private RedisMessage cluster(Session s, byte[][] args) {
    String sub = Args.lower(args[1]);
    ShardView v = view.get();
    // The topology (SLOTS, SHARDS, NODES) keeps naming the last primary during an election;
    // CLUSTER INFO says the state as it is (cluster_state:fail while no primary is known).
    ShardView topology = described();
    return switch (sub) {
      case "myid" -> bulk(v.me().nodeName());
      case "keyslot" -> {
        if (args.length != 3) {
          throw ReplyException.err("wrong number of arguments for 'cluster|keyslot' command");
        }
        yield integer(KeySlot.of(args[2]));
      }
      case "slots" -> slots(topology);
      case "shards" -> shards(topology);
      case "nodes" -> bulk(nodes(topology));
      case "info" -> bulk(info(v));
      case "countkeysinslot", "getkeysinslot", "addslots", "delslots", "meet", "forget",
          "failover", "replicate", "reset", "setslot" -> throw ReplyException.err("CLUSTER "
          + sub.toUpperCase(java.util.Locale.ROOT) + " is not supported: a Respawn shard owns "
          + "all slots and changes membership with 'respawn member'");
      case "help" -> array(List.of(bulk("CLUSTER <subcommand>. Subcommands are:"),
          bulk("INFO, KEYSLOT <key>, MYID, NODES, SHARDS, SLOTS")));
      default -> throw ReplyException.err("unknown subcommand '" + Args.text(args[1])
          + "'. Try CLUSTER HELP.");
    };
  }

  /**
   * CLUSTER SLOTS: one range 0-16383, the primary first, then every other member this one hears
   * from. As in Redis, failed replicas are left out (Redis lists only available replicas), while
   * the primary is listed even when it is unreachable.
   */
  private static RedisMessage slots(ShardView v) {
    MemberView p = v.primaryMember();
    if (p == null) {
      return Replies.EMPTY_ARRAY;
    }
    List<RedisMessage> range = new ArrayList<>();
    range.add(integer(0));
    range.add(integer(KeySlot.SLOTS - 1));
    range.add(endpoint(p));
    for (int i = 0; i < v.members().size(); i++) {
      MemberView m = v.members().get(i);
      if (i != v.primary() && m.reachable()) {
        range.add(endpoint(m));
      }
    }
    return array(List.of(array(range)));
  }

  private static RedisMessage endpoint(MemberView m) {
    return array(List.of(bulk(m.host()), integer(m.port()), bulk(m.nodeName())));
  }

  private static RedisMessage shards(ShardView v) {
    List<RedisMessage> nodes = new ArrayList<>();
    for (int i = 0; i < v.members().size(); i++) {
      MemberView m = v.members().get(i);
      nodes.add(Replies.pairs("id", m.nodeName(), "port", (long) m.port(), "ip", m.host(),
          "endpoint", m.host(), "role", i == v.primary() ? "master" : "replica",
          "replication-offset", 0L, "health", m.reachable() ? "online" : "failed"));
    }
    List<RedisMessage> slots = v.primary() < 0 ? List.of()
        : List.of(integer(0), integer(KeySlot.SLOTS - 1));
    return array(List.of(Replies.pairs("slots", array(slots), "nodes", array(nodes))));
  }

  /** CLUSTER NODES: Redis's line format, one line per member. */
  static String nodes(ShardView v) {
    StringBuilder b = new StringBuilder();
    MemberView p = v.primaryMember();
    for (int i = 0; i < v.members().size(); i++) {
      MemberView m = v.members().get(i);
      boolean primary = i == v.primary();
      StringBuilder flags = new StringBuilder();
      if (i == v.self()) {
        flags.append("myself,");
      }
      flags.append(primary ? "master" : "slave");
      if (!m.reachable()) {
        flags.append(",fail");
      }
      b.append(m.nodeName()).append(' ').append(m.host()).append(':').append(m.port())
          .append('@').append(m.peerPort()).append(' ').append(flags).append(' ')
          .append(primary || p == null ? "-" : p.nodeName()).append(" 0 0 ").append(v.epoch())
          .append(m.reachable() ? " connected" : " disconnected");
      if (primary) {
        b.append(" 0-").append(KeySlot.SLOTS - 1);
      }
      b.append('\n');
    }
    return b.toString();
  }

  private static String info(ShardView v) {
    boolean ok = v.primary() >= 0;
    long backups = v.members().stream().filter(m -> m.role() == Role.BACKUP).count();
    return "cluster_enabled:1\r\n"
        + "cluster_state:" + (ok ? "ok" : "fail") + "\r\n"
        + "cluster_slots_assigned:" + (ok ? KeySlot.SLOTS : 0) + "\r\n"
        + "cluster_slots_ok:" + (ok ? KeySlot.SLOTS : 0) + "\r\n"
        + "cluster_slots_pfail:0\r\n"
        + "cluster_slots_fail:0\r\n"
        + "cluster_known_nodes:" + v.members().size() + "\r\n"
        + "cluster_size:1\r\n"
        + "cluster_current_epoch:" + v.epoch() + "\r\n"
        + "cluster_my_epoch:" + v.epoch() + "\r\n"
        + "respawn_backups:" + backups + "\r\n";
  }
}
