package io.respawn.server.command;

import static io.respawn.server.command.Replies.error;

import io.netty.handler.codec.redis.ErrorRedisMessage;
import io.netty.handler.codec.redis.RedisMessage;
import io.netty.util.ReferenceCountUtil;
import io.respawn.server.command.CommandSpec.Flag;
import io.respawn.server.resp.ClientConnection;
import io.respawn.server.resp.ClientRegistry;
import io.respawn.server.resp.Reply;
import io.respawn.server.resp.Request;
import io.respawn.server.resp.Resp3;
import io.respawn.storage.KvStore;
import io.respawn.storage.StorageException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.function.BiConsumer;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Executes requests: looks the command up, checks arity, authentication and transaction state
 * the way Redis' processCommand does, runs the handler, and commits the command's writes as one
 * batch whose acknowledgement gates the reply. Also implements MULTI/EXEC/DISCARD.
 *
 * <p>Writes of the commands executed in one pass of the {@link CommandLoop} share one engine batch
 * ({@link #endPass}); each command's reply waits for that batch's acknowledgement at the
 * connection's durability. A command's writes are never split across batches.
 *
 * <p>Owned by the command thread ({@link CommandLoop}); nothing here is thread-safe.
 */
public final class Dispatcher {
  private static final Logger log = LoggerFactory.getLogger(Dispatcher.class);

  /** A pass's batch is handed to the engine early once it holds this many bytes. */
  static final long PASS_BYTES_MAX = 1 << 20;

  final Keyspace keyspace;
  final ServerStats stats = new ServerStats();
  final CommandTable table = new CommandTable();
  final Watches watches = new Watches();
  final CommandSettings settings;
  final ClientRegistry registry;
  /** Set when this node is a member of a replicated shard; null for a standalone server. */
  private ClusterCommands cluster;
  /** INFO sections (or fields of existing ones) a shard member adds; null when standalone. */
  java.util.function.Supplier<java.util.Map<String, java.util.Map<String, Object>>> extraInfo;
  /** Set when this node is a member of a replicated shard (RESPAWN HANDOVER); else null. */
  ShardControl shardControl;
  /** Set on a shard member: keys whose values a new primary still pulls; else null. */
  private PendingValues pendingValues;
  /** Runs {@link #resumeHeld} on the command thread soon (set by the command loop). */
  private volatile Runnable wakeHeld = () -> { };
  private final java.util.concurrent.atomic.AtomicBoolean wakePending =
      new java.util.concurrent.atomic.AtomicBoolean();
  /** Set when this node mirrors to, or is the mirror of, another site; else null. */
  io.respawn.server.mirror.MirrorControl mirror;
  final SlowLog slowLog = new SlowLog();
  final LatencyMonitor latency = new LatencyMonitor();
  final Monitors monitors;
  final ClientPause pause = new ClientPause();
  /** True while EXEC runs its queue: commands that would block refuse (MONITOR). */
  boolean inExec;
  /** Asks the process to stop (SHUTDOWN); set by the server, null when nothing can stop it. */
  private volatile Runnable shutdownHook;

  public Dispatcher(
      KvStore store, LongSupplier clockMillis, CommandSettings settings, ClientRegistry registry) {
    this.keyspace = new Keyspace(store, clockMillis, stats, watches);
    this.settings = settings;
    this.registry = registry;
    // A monitor's unsent feed is bounded like any client's output (--output-hard-bytes-max).
    long hard = registry.bufferLimits().outputHardBytesMax();
    this.monitors = new Monitors(hard > 0 ? hard : Long.MAX_VALUE);
    new ConnectionCommands(this).register(table);
    new StringCommands(this).register(table);
    new KeyCommands(this).register(table);
    new StringRangeCommands(this).register(table);
    new BitCommands(this).register(table);
    new ObjectCommands(this).register(table);
    new ServerCommands(this).register(table);
    // Connection and server administration: CLIENT, COMMAND, MONITOR, SHUTDOWN, LATENCY, SLOWLOG.
    new ClientCommands(this).register(table);
    new CommandIntrospection(this).register(table);
    new AdminCommands(this).register(table);
    table.add("multi", 1, this::multi, Flag.TX_CONTROL);
    table.add("exec", 1, this::exec, Flag.TX_CONTROL);
    table.add("discard", 1, this::discard, Flag.TX_CONTROL);
    // WATCH runs at once even inside MULTI, where it is refused (as in Redis); UNWATCH is queued.
    table.add("watch", -2, 1, -1, 1, this::watch, Flag.TX_CONTROL);
    table.add("unwatch", 1, this::unwatch);
  }

  /**
   * Makes this node answer as a member of a replicated shard: the CLUSTER commands, and
   * redirects of data commands to the primary that {@code view} names. Call before serving.
   */
  public void enableCluster(java.util.function.Supplier<io.respawn.server.shard.ShardView> view,
      java.util.function.Supplier<java.util.Map<String, java.util.Map<String, Object>>> info) {
    enableCluster(view, () -> {
      io.respawn.server.shard.ShardView v = view.get();
      return v.selfIsPrimary() && v.selfServing();
    }, info);
  }

  /**
   * As {@link #enableCluster(java.util.function.Supplier, java.util.function.Supplier)}, with
   * {@code servingHere} answering what every data command asks first (whether this member is the
   * primary and may serve now) without building the whole view.
   */
  public void enableCluster(java.util.function.Supplier<io.respawn.server.shard.ShardView> view,
      java.util.function.BooleanSupplier servingHere,
      java.util.function.Supplier<java.util.Map<String, java.util.Map<String, Object>>> info) {
    cluster = new ClusterCommands(view, servingHere);
    cluster.register(table);
    extraInfo = info;
  }

  /**
   * Online recovery on a shard member: a data command whose keys' values are still on a backup is
   * held (with the later requests of its client, as CLIENT PAUSE holds them) until they are here.
   * Call before serving.
   */
  public void enablePendingValues(PendingValues values) {
    pendingValues = values;
  }

  /**
   * What runs {@link #resumeHeld} on the command thread (and ends the pass) when a value a held
   * command waits for has arrived; any thread may call it.
   */
  public void wakeHeld(Runnable wake) {
    wakeHeld = wake;
  }

  /** Lets RESPAWN HANDOVER reach the shard runtime of this member. Call before serving. */
  public void enableShardControl(ShardControl control) {
    shardControl = control;
  }

  /**
   * Makes this node a mirroring site: new connections take the mirror's default acknowledgement,
   * {@code RESPAWN MIRROR} works, and a mirror refuses client writes until promoted. Call before
   * serving.
   */
  public void enableMirror(io.respawn.server.mirror.MirrorControl control) {
    mirror = control;
  }

  /** A client disconnected: forget what it watched, monitored and had held back. */
  public void connectionClosed(ClientConnection connection) {
    if (connection.commandState() instanceof Session session) {
      watches.unwatchAll(session);
      monitors.remove(session);
      if (session.postponed != null) {
        session.postponed = null;
        pause.forget(session);
      }
    }
  }

  /**
   * What SHUTDOWN runs once every write is durable: stops the process. Any thread may call it,
   * once; until it is set SHUTDOWN answers an error.
   */
  public void onShutdown(Runnable hook) {
    this.shutdownHook = hook;
  }

  Runnable shutdownHook() {
    return shutdownHook;
  }

  /** The command-side state of a connection, created on its first request. */
  public Session sessionOf(ClientConnection connection) {
    Object state = connection.commandState();
    if (state == null) {
      Session s = new Session(connection, settings.defaultDurability(), settings.requirePass() == null);
      if (mirror != null) {
        s.mirrorAck = mirror.defaultAck();
      }
      connection.commandState(s);
      return s;
    }
    return (Session) state;
  }

  /**
   * Answers one request; never throws for anything the client sent. Returns null when CLIENT
   * PAUSE holds the request back: the caller {@link #hold}s it (and every later request of the
   * client) and {@link #resumeHeld} runs it once the pause allows.
   */
  public Reply execute(Session session, Request request) {
    Reply reply = executeRequest(session, request);
    if (reply == null) {
      return null;
    }
    // CLIENT REPLY: OFF silences until ON; SKIP silences the command after it.
    boolean silent = session.replyOff || session.replySkip || reply.message() == Replies.NO_REPLY;
    session.replySkip = session.replySkipNext;
    session.replySkipNext = false;
    return silent ? reply.silenced() : reply;
  }

  private Reply executeRequest(Session session, Request request) {
    if (request.isProtocolError()) {
      stats.protocolErrors++;
      return Reply.thenClose(countedError("ERR Protocol error: " + request.protocolError()));
    }
    byte[][] args = request.args();
    long now = keyspace.tick();
    session.lastCommandAtMillis = now;
    keyspace.expiryPaused = pause.writesPaused(now);
    CommandSpec spec = table.lookup(args[0]);
    if (spec == null) {
      session.lastCommand = "NULL";
      return reject(session, null, unknownCommand(args));
    }
    if (spec.isContainer() && args.length > 1) {
      CommandSpec sub = spec.subcommand(args[1]);
      if (sub == null) {
        session.lastCommand = "NULL";
        return reject(session, null, "ERR unknown subcommand '" + truncate(Args.text(args[1]))
            + "'. Try " + spec.name().toUpperCase(Locale.ROOT) + " HELP.");
      }
      spec = sub;
    }
    session.lastCommand = spec.name();
    if (!spec.arityOk(args.length)) {
      return reject(session, spec, wrongArity(spec.name()));
    }
    if (!session.authenticated && !spec.has(Flag.NO_AUTH)) {
      return reject(session, spec, "NOAUTH Authentication required.");
    }
    if (session.inTransaction() && spec.has(Flag.NO_MULTI)) {
      return reject(session, spec, "ERR Command not allowed inside a transaction");
    }
    if (cluster != null) {
      RedisMessage redirect = cluster.redirect(spec, args);
      if (redirect == ClusterCommands.UNSETTLED) {
        if (session.inTransaction()) {
          flagTransaction(session);
          return Reply.now(error("TRYAGAIN the shard is changing primary; retry"));
        }
        String refusal = awaitSettled(session);
        if (refusal == HOLD) {
          return null;
        }
        stats.commandsProcessed++;
        return Reply.now(error(refusal));
      }
      session.settleWaitSinceNanos = 0;
      if (redirect != null) {
        stats.commandsProcessed++;
        flagTransaction(session);
        return Reply.now(redirect);
      }
    }
    if (mirror != null && spec.has(Flag.WRITE) && mirror.refusesWrites()) {
      stats.commandsProcessed++;
      flagTransaction(session);
      return Reply.now(error("READONLY You can't write against a mirror site; promote it first"
          + " (RESPAWN MIRROR PROMOTE)"));
    }
    if (overMemoryLimit() && refusedWhenOutOfMemory(session, spec)) {
      stats.oomRefusals++;
      return reject(session, spec, OOM);
    }
    if (session.monitor && spec.touchesKeys()) {
      return reject(session, spec, "ERR Replica can't interact with the keyspace");
    }
    if (!session.monitor && pause.mode(now) != ClientPause.Mode.OFF
        && pause.holds(changesData(session, spec), now)) {
      return null;
    }
    if (pendingValues != null && pendingValues.any()
        && (!session.inTransaction() || spec.has(Flag.TX_CONTROL))) {
      String refusal = awaitValues(session, spec, args);
      if (refusal == HOLD) {
        return null;
      } else if (refusal != null) {
        return reject(session, spec, refusal);
      }
    }
    session.valuesWaitSinceNanos = 0;
    stats.commandsProcessed++;
    if (session.inTransaction() && !spec.has(Flag.TX_CONTROL)) {
      session.transaction.add(args);
      session.transactionBytes += argBytes(args);
      return Reply.now(Replies.QUEUED);
    }
    if (spec.has(Flag.WHOLE_KEYSPACE)) {
      keyspace.commitPass(); // it must see (or wait for) every write executed before it
    }
    int mark = keyspace.pendingWrites();
    session.currentArgBytes = argBytes(args);
    keyspace.beginCommand(readsAcknowledgedOnly(session, spec, args));
    RedisMessage message;
    try {
      message = call(session, spec, args, mark);
    } finally {
      keyspace.endCommand();
    }
    session.currentArgBytes = 0;
    if (message instanceof ErrorRedisMessage || message == Replies.NO_REPLY) {
      return Reply.now(message);
    }
    return finish(session, spec, args, message, mark);
  }

  private static final String HOLD = "hold";

  /**
   * A data command on a member of a shard that has no serving primary yet, or whose primary is
   * this member not serving yet: {@link #HOLD} (the cluster face wakes the held commands once
   * the shard settles, and the command runs again: here, or MOVED elsewhere), or the refusal
   * once it has waited {@link ClusterCommands#SETTLE_WAIT_NANOS}.
   */
  private String awaitSettled(Session session) {
    long now = System.nanoTime();
    if (session.settleWaitSinceNanos == 0) {
      session.settleWaitSinceNanos = now;
    } else if (now - session.settleWaitSinceNanos >= ClusterCommands.SETTLE_WAIT_NANOS) {
      session.settleWaitSinceNanos = 0;
      return cluster.unsettledRefusal();
    }
    cluster.wakeWhenSettled(this::wakeHeldSoon);
    return HOLD;
  }

  /** Asks the command thread to run {@link #resumeHeld} soon, once per wake; any thread. */
  private void wakeHeldSoon() {
    if (wakePending.compareAndSet(false, true)) {
      wakeHeld.run();
    }
  }
  /** Longest a command waits for values still on a backup before it is told TRYAGAIN. */
  static final long VALUES_WAIT_NANOS_MAX =
      io.respawn.node.recovery.ValueRecovery.COMMAND_WAIT_NANOS_MAX;

  /**
   * Online recovery: whether the command must wait for values still on a backup. Returns null to
   * run it now, {@link #HOLD} to hold it (a pull of its pending keys is on its way; the command
   * runs again once it is answered), or an error text once it has waited {@link
   * #VALUES_WAIT_NANOS_MAX}. A data command without key arguments that reads (DBSIZE, SCAN, KEYS,
   * RANDOMKEY) sees the whole keyspace, so it waits until every value is here.
   */
  private String awaitValues(Session session, CommandSpec spec, byte[][] args) {
    List<byte[]> pending = new ArrayList<>();
    boolean wholeKeyspace = pendingKeys(spec, args, pending);
    if (spec.name().equals("exec") && session.transaction != null) {
      for (byte[][] queued : session.transaction) {
        CommandSpec q = resolve(queued);
        if (q != null && q.arityOk(queued.length)) {
          wholeKeyspace |= pendingKeys(q, queued, pending);
        }
      }
    }
    if (pending.isEmpty() && !wholeKeyspace) {
      return null;
    }
    long now = System.nanoTime();
    if (session.valuesWaitSinceNanos == 0) {
      session.valuesWaitSinceNanos = now;
    } else if (now - session.valuesWaitSinceNanos >= VALUES_WAIT_NANOS_MAX) {
      session.valuesWaitSinceNanos = 0;
      return wholeKeyspace && pending.isEmpty()
          ? "TRYAGAIN the new primary is still pulling values from a backup; whole-keyspace "
              + "commands run once every value is here; retry"
          : "TRYAGAIN the value of a key this command needs is still being pulled from a "
              + "backup; retry";
    }
    if (!pending.isEmpty()) {
      pendingValues.pull(pending).whenComplete((v, e) -> wakeHeldSoon());
    }
    return HOLD; // a whole-keyspace read is looked at again by the next tick's resumeHeld
  }

  /**
   * Adds the keys of one command whose values are still pending to {@code out}; returns true when
   * the command reads the whole keyspace (a read with no key arguments) while any value is.
   */
  private boolean pendingKeys(CommandSpec spec, byte[][] args, List<byte[]> out) {
    boolean touchesData = spec.firstKey() > 0 || spec.has(Flag.WRITE) || spec.has(Flag.READONLY);
    if (!touchesData) {
      return false;
    }
    if (spec.firstKey() == 0) {
      return !spec.has(Flag.WRITE); // FLUSHALL / FLUSHDB need no value
    }
    if (blindOverwrite(spec, args)) {
      return false; // its reply and its effect do not depend on the old value
    }
    int last = spec.lastKey() < 0 ? args.length + spec.lastKey() : spec.lastKey();
    for (int i = spec.firstKey(); i <= last && i < args.length; i += Math.max(1, spec.step())) {
      if (pendingValues.pending(args[i])) {
        out.add(args[i]);
      }
    }
    return false;
  }

  /**
   * Whether a command replaces its keys' values whatever they were and answers the same whatever
   * they were: SET with no option but an expiry (no NX, XX, GET or KEEPTTL), SETEX, PSETEX,
   * MSET. Such a write of a key whose value is still on a backup runs at once, with no pull
   * (DESIGN.md §5.3: a write of a key not yet pulled needs none): its entry, once applied, makes
   * the key known with the new value, and a pulled value arriving later is not installed over it
   * (the key is no longer unknown); one arriving before is overwritten when the entry applies, and
   * meanwhile reads see the write in flight. DEL, EXPIRE, INCR and the like answer from the old
   * value and still wait for it.
   */
  static boolean blindOverwrite(CommandSpec spec, byte[][] args) {
    return switch (spec.name()) {
      case "set" -> {
        for (int i = 3; i < args.length; i++) {
          String opt = Args.lower(args[i]);
          if (opt.equals("ex") || opt.equals("px") || opt.equals("exat")
              || opt.equals("pxat")) {
            i++; // its time
          } else {
            yield false; // NX, XX, GET, KEEPTTL (or a syntax error, answered by SET itself)
          }
        }
        yield true;
      }
      case "setex", "psetex", "mset" -> true;
      default -> false;
    };
  }

  /**
   * Runs a command that passed every check: its handler, timed, with its writes rolled back if
   * it fails; then the bookkeeping Redis' call() does: INFO commandstats, the slow log, the
   * latency monitor and the MONITOR feed. Returns the reply, an error reply if it failed.
   */
  private RedisMessage call(Session session, CommandSpec spec, byte[][] args, int mark) {
    long startNanos = System.nanoTime();
    RedisMessage message;
    boolean failed = false;
    try {
      if (spec.has(Flag.WRITE)) {
        checkSizes(spec, args);
      }
      message = spec.handler().run(session, args);
      StorageException refusal;
      if (keyspace.pendingWrites() > mark && (refusal = keyspace.store().putRefusal()) != null
          && keyspace.storesValuesSince(mark)) {
        // The disk is full: a command that stores values is refused before its writes join a
        // batch, so the deletes of this pass (which free space) still go through.
        ReferenceCountUtil.release(message);
        throw refusal;
      }
      if (message instanceof ErrorRedisMessage e) {
        stats.countError(e.content());
        failed = true;
      }
    } catch (ReplyException e) {
      keyspace.rollbackTo(mark);
      // A read refused because this member stopped serving a moment ago is redirected.
      message = cluster == null || inExec ? null : cluster.redirectIfNotCarriedOut(e, spec, args);
      if (message == null) {
        message = countedError(e.getMessage());
        failed = true;
      }
    } catch (StorageException e) {
      keyspace.rollbackTo(mark);
      message = storageError(e);
      failed = true;
    } catch (RuntimeException e) {
      keyspace.rollbackTo(mark);
      log.error("command {} failed", spec.name(), e);
      message = countedError("ERR internal error in '" + spec.name() + "': " + e);
      failed = true;
    }
    long nanos = System.nanoTime() - startNanos;
    CommandStats st = spec.stats();
    st.calls++;
    st.nanos += nanos;
    if (failed) {
      st.failedCalls++;
    }
    long micros = nanos / 1000;
    long nowSeconds = keyspace.nowMillis() / 1000;
    if (spec.isSlowLogged() && slowLog.wants(micros)) {
      slowLog.add(Monitors.redacted(args), micros, nowSeconds,
          ClientCommands.address(session.connection.remoteAddress()), session.name);
    }
    latency.addIfNeeded(spec.isFast() ? "fast-command" : "command", micros / 1000, nowSeconds);
    if (!monitors.isEmpty() && spec.isShownToMonitors()) {
      java.time.Instant t = java.time.Instant.now();
      monitors.feed(session, args, t.getEpochSecond() * 1_000_000 + t.getNano() / 1000,
          ClientCommands.address(session.connection.remoteAddress()));
    }
    return message;
  }

  /** Answers a command refused before it ran (counted as rejected in commandstats). */
  private Reply reject(Session session, CommandSpec spec, String errorText) {
    stats.commandsProcessed++;
    if (spec != null) {
      spec.stats().rejectedCalls++;
    }
    flagTransaction(session);
    return Reply.now(countedError(errorText));
  }

  private RedisMessage countedError(String text) {
    stats.countError(text);
    return error(text);
  }

  /** Whether CLIENT PAUSE WRITE holds it: a write, or an EXEC whose queue holds one. */
  private boolean changesData(Session session, CommandSpec spec) {
    if (spec.has(Flag.WRITE)) {
      return true;
    }
    if (spec.name().equals("exec") && session.transaction != null) {
      for (byte[][] queued : session.transaction) {
        CommandSpec q = resolve(queued);
        if (q != null && q.has(Flag.WRITE)) {
          return true;
        }
      }
    }
    return false;
  }

  /** The command or subcommand a request names, or null. */
  private CommandSpec resolve(byte[][] args) {
    CommandSpec spec = table.lookup(args[0]);
    if (spec != null && spec.isContainer() && args.length > 1) {
      return spec.subcommand(args[1]);
    }
    return spec;
  }

  private static long argBytes(byte[][] args) {
    long n = 0;
    for (byte[] a : args) {
      n += a.length;
    }
    return n;
  }

  // ---- CLIENT PAUSE: held requests ----

  /** Keeps a request {@link #execute} held back, behind the client's earlier held ones. */
  public void hold(Session session, Request request) {
    if (session.postponed == null) {
      session.postponed = new ArrayDeque<>();
      pause.hold(session);
    } else if (session.valuesWaitSinceNanos != 0) {
      prefetchValues(request);
    }
    session.postponed.addLast(request);
  }

  /**
   * Online recovery: a request queued behind one that waits for values asks for its own pending
   * keys now, so that a client's pipeline of reads of keys not pulled yet costs about one pull
   * round trip rather than one per request. Nobody waits on this pull; the request checks again
   * when its turn comes.
   */
  private void prefetchValues(Request request) {
    if (pendingValues == null || !pendingValues.any() || request.isProtocolError()) {
      return;
    }
    CommandSpec spec = resolve(request.args());
    if (spec == null || !spec.arityOk(request.args().length)) {
      return;
    }
    List<byte[]> pending = new ArrayList<>();
    pendingKeys(spec, request.args(), pending);
    if (!pending.isEmpty()) {
      pendingValues.pull(pending);
    }
  }

  /**
   * Runs the held requests the pause now allows, client by client in the order they were held,
   * each client's in order until one is still held; hands each reply to {@code deliver}.
   */
  public void resumeHeld(BiConsumer<Session, Reply> deliver) {
    wakePending.set(false);
    if (pause.heldCount() == 0 || pause.mode(keyspace.tick()) == ClientPause.Mode.ALL) {
      return;
    }
    for (Session s : new ArrayList<>(pause.held())) {
      while (s.postponed != null && !s.postponed.isEmpty()) {
        Reply reply = execute(s, s.postponed.peekFirst());
        if (reply == null) {
          break;
        }
        s.postponed.pollFirst();
        deliver.accept(s, reply);
      }
      if (s.postponed != null && s.postponed.isEmpty()) {
        s.postponed = null;
        pause.forget(s);
      }
    }
  }

  /** Whether expiry must wait (CLIENT PAUSE holds writes). */
  public boolean expiryPaused() {
    return pause.writesPaused(keyspace.tick());
  }

  /** The MONITOR clients given output outside their own requests in this pass. */
  public List<Session> takeMonitorsFed() {
    return monitors.takeFed();
  }

  /** Records a latency event (durable-fsync, expire-cycle) for LATENCY. */
  public void recordLatency(String event, long millis) {
    latency.addIfNeeded(event, millis, keyspace.tick() / 1000);
  }

  /** Ends a pass of the command thread: hands the collected writes to the engine. */
  public void endPass() {
    keyspace.commitPass();
  }

  /** Some write executed in the current pass waits for DURABLE. */
  public boolean passWantsDurable() {
    return keyspace.passWantsDurable();
  }

  /**
   * Makes {@link #awaitDurableWrites} (called by the owning thread after every pass) complete
   * DURABLE replies instead of callbacks from the engine's flusher.
   */
  public void awaitDurableInline(boolean inline) {
    keyspace.awaitDurableInline(inline);
  }

  /**
   * After {@link #endPass}, in inline mode: waits until the pass's DURABLE writes are durable,
   * doing the fsync on the calling thread if none already running covers them (see {@link
   * Keyspace#helpDurable}).
   */
  public void awaitDurableWrites() {
    keyspace.helpDurable();
  }

  private Reply finish(Session session, CommandSpec spec, byte[][] args,
      RedisMessage handlerMessage, int mark) {
    if (handlerMessage instanceof Deferred deferred) {
      int resp = session.resp;
      return Reply.computed(deferred.result().thenApply(m -> forProtocol(resp, m)));
    }
    RedisMessage message = forProtocol(session.resp, handlerMessage);
    if (session.closeRequested) {
      return Reply.thenClose(message);
    }
    if (keyspace.pendingWrites() == mark) {
      // A read that returned a write not yet acknowledged answers only once it is: one the
      // store has in flight, or one of this pass still pending.
      CompletableFuture<Void> readGate = both(keyspace.store().takeReadGate(),
          keyspace.takePendingReadGate());
      if (readGate == null) {
        return Reply.now(message);
      }
      session.lastGate = readGate;
      return gated(spec, args, readGate, message);
    }
    session.wroteSinceDurable = true;
    CompletableFuture<Void> gate = keyspace.gate(session.durability);
    if (mirror != null) {
      gate = gate.thenCombine(keyspace.ticketGate(session.mirrorAck), (a, b) -> null);
    }
    if (keyspace.pendingBytes() >= PASS_BYTES_MAX) {
      keyspace.commitPass();
    }
    session.lastGate = gate;
    return gated(spec, args, gate, message);
  }

  /** Whether acknowledged-only reads are used where they may be ({@link #readsAcknowledgedOnly}). */
  static final boolean ACKNOWLEDGED_READS =
      Boolean.parseBoolean(System.getProperty("respawn.acknowledgedReads", "true"));

  /**
   * Whether this command may read the acknowledged state only ({@link KvStore#readAcknowledgedOnly}):
   * a read-only command of exactly one key, outside MULTI, by a client none of whose earlier
   * replies still waits for an acknowledgement (its own writes, or writes its reads returned).
   * Such a read needs none of the writes still in flight, so it is answered at once instead of
   * after their commit: on a replicated primary, a read of a hot key no longer waits for
   * another client's write to replicate. A client that does wait reads everything, in order, as
   * before (a GET pipelined after the same client's SET returns that SET's value).
   */
  private boolean readsAcknowledgedOnly(Session session, CommandSpec spec, byte[][] args) {
    return ACKNOWLEDGED_READS && spec.has(Flag.READONLY) && spec.keyCount(args.length) == 1
        && !session.inTransaction()
        && (session.lastGate == null || session.lastGate.isDone());
  }

  private static CompletableFuture<Void> both(CompletableFuture<Void> a,
      CompletableFuture<Void> b) {
    return a == null ? b : b == null ? a : a.thenCombine(b, (x, y) -> null);
  }

  /**
   * A reply sent once {@code gate} opens. On a shard member, if it fails because the command was
   * refused without taking effect (this member stopped leading before proposing it: a planned
   * hand-over), the client is redirected to the primary once the shard settles instead; EXEC is
   * not (a client would resend EXEC alone).
   */
  private Reply gated(CommandSpec spec, byte[][] args, CompletableFuture<Void> gate,
      RedisMessage message) {
    if (cluster == null || spec.name().equals("exec")
        || (gate.isDone() && !gate.isCompletedExceptionally())) {
      return Reply.after(gate, message);
    }
    return Reply.computed(cluster.redirectIfNotCarriedOut(gate, message, spec, args));
  }

  /**
   * A handler's reply as the client's protocol has it: wrapped for the RESP3 encoder, or with
   * the RESP3-only types turned into RESP2 ones (see {@link Resp3}). Errors need neither.
   */
  static RedisMessage forProtocol(int resp, RedisMessage message) {
    if (message instanceof ErrorRedisMessage) {
      return message;
    }
    return resp == 3 ? new Resp3.Frame(message) : Resp3.toResp2(message);
  }

  /**
   * Refuses a write whose key or value is over the engine's limit before it touches the batch, so
   * one oversized command fails alone instead of failing the batch it would share.
   */
  private void checkSizes(CommandSpec spec, byte[][] args) {
    for (int i = 1; i < args.length; i++) {
      if (args[i].length > settings.valueBytesMax()) {
        throw ReplyException.err("value of " + args[i].length + " bytes exceeds valueBytesMax "
            + settings.valueBytesMax());
      }
    }
    if (spec.firstKey() > 0) {
      int last = spec.lastKey() < 0 ? args.length + spec.lastKey() : spec.lastKey();
      for (int i = spec.firstKey(); i <= last && i < args.length; i += Math.max(1, spec.step())) {
        if (args[i].length > settings.keyBytesMax()) {
          throw ReplyException.err("key of " + args[i].length + " bytes exceeds keyBytesMax "
              + settings.keyBytesMax());
        }
      }
    }
  }

  /** Redis's reply to a command refused past maxmemory (shared.oomerr). */
  static final String OOM = "OOM command not allowed when used memory > 'maxmemory'.";

  /** The store uses more memory than --maxmemory allows. */
  private boolean overMemoryLimit() {
    long max = settings.memoryBytesMax();
    return max > 0 && keyspace.store().memoryUsedBytes() > max;
  }

  /**
   * Redis's rule (processCommand): past the limit a command that may grow memory (DENY_OOM) is
   * refused; inside MULTI every command but EXEC and DISCARD is (queuing costs memory too); EXEC
   * is refused if its transaction holds a DENY_OOM command.
   */
  private boolean refusedWhenOutOfMemory(Session session, CommandSpec spec) {
    if (spec.has(Flag.DENY_OOM)) {
      return true;
    }
    String name = spec.name();
    if (name.equals("exec")) {
      if (session.inTransaction()) {
        for (byte[][] queued : session.transaction) {
          CommandSpec q = table.lookup(queued[0]);
          if (q != null && q.has(Flag.DENY_OOM)) {
            return true;
          }
        }
      }
      return false;
    }
    return session.inTransaction() && !name.equals("discard") && !name.equals("quit");
  }

  private RedisMessage storageError(StorageException e) {
    stats.writeErrors++;
    stats.lastWriteError = String.valueOf(e.getMessage());
    return countedError(StorageErrors.text(e));
  }

  private static void flagTransaction(Session session) {
    if (session.inTransaction()) {
      session.transactionDirty = true;
    }
  }

  static String wrongArity(String fullName) {
    return "ERR wrong number of arguments for '" + fullName + "' command";
  }

  /** Redis' addReplySubcommandSyntaxError: a subcommand given the wrong arguments. */
  static ReplyException subcommandSyntaxError(byte[][] args) {
    return ReplyException.err("unknown subcommand or wrong number of arguments for '"
        + truncate(Args.text(args[1])) + "'. Try " + Args.text(args[0]).toUpperCase(Locale.ROOT)
        + " HELP.");
  }

  static String unknownCommand(byte[][] args) {
    StringBuilder sb = new StringBuilder("ERR unknown command '");
    sb.append(truncate(Args.text(args[0]))).append("', with args beginning with: ");
    int argsLength = 0;
    for (int i = 1; i < args.length && argsLength < 128; i++) {
      String a = truncate(Args.text(args[i]));
      sb.append('\'').append(a).append("' ");
      argsLength += a.length() + 3;
    }
    return sb.toString();
  }

  private static String truncate(String s) {
    return s.length() > 128 ? s.substring(0, 128) : s;
  }

  // ---- MULTI / EXEC / DISCARD ----

  private RedisMessage multi(Session session, byte[][] args) {
    if (session.inTransaction()) {
      throw ReplyException.err("MULTI calls can not be nested");
    }
    session.transaction = new ArrayList<>();
    session.transactionDirty = false;
    session.transactionBytes = 0;
    return Replies.OK;
  }

  private RedisMessage discard(Session session, byte[][] args) {
    if (!session.inTransaction()) {
      throw ReplyException.err("DISCARD without MULTI");
    }
    session.transaction = null;
    session.transactionDirty = false;
    session.transactionBytes = 0;
    watches.unwatchAll(session);
    return Replies.OK;
  }

  private RedisMessage watch(Session session, byte[][] args) {
    if (session.inTransaction()) {
      throw ReplyException.err("WATCH inside MULTI is not allowed");
    }
    watches.watch(session, args, 1, keyspace::isExpiredButPresent);
    return Replies.OK;
  }

  private RedisMessage unwatch(Session session, byte[][] args) {
    watches.unwatchAll(session);
    return Replies.OK;
  }

  /**
   * Runs the queued commands back to back (nothing else runs on the command thread meanwhile)
   * and leaves all their writes in the keyspace's batch: {@link #finish} commits them as one
   * atomic batch and the whole reply waits for its acknowledgement.
   */
  private RedisMessage exec(Session session, byte[][] args) {
    if (!session.inTransaction()) {
      throw ReplyException.err("EXEC without MULTI");
    }
    List<byte[][]> queued = session.transaction;
    boolean dirty = session.transactionDirty;
    boolean watchedKeyChanged = session.watchDirty
        || watches.anyExpiredSinceWatch(session, keyspace::isExpiredButPresent);
    session.transaction = null;
    session.transactionDirty = false;
    watches.unwatchAll(session); // EXEC ends the watch whatever happens (as in Redis)
    if (dirty) {
      throw new ReplyException("EXECABORT Transaction discarded because of previous errors.");
    }
    if (watchedKeyChanged) {
      return Replies.NIL_ARRAY;
    }
    session.transactionBytes = 0;
    List<RedisMessage> results = new ArrayList<>(queued.size());
    inExec = true;
    try {
      for (byte[][] command : queued) {
        CommandSpec spec = resolve(command);
        assert spec != null && spec.arityOk(command.length) : "queue-time checks passed";
        stats.commandsProcessed++;
        RedisMessage r = call(session, spec, command, keyspace.pendingWrites());
        // A command that answers nothing (CLIENT REPLY) still needs its slot in EXEC's array.
        results.add(r == Replies.NO_REPLY ? Replies.OK : r);
      }
    } finally {
      inExec = false;
    }
    return Replies.array(results);
  }
}
