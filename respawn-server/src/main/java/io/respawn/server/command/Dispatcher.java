package io.respawn.server.command;

import static io.respawn.server.command.Replies.error;

import io.netty.handler.codec.redis.RedisMessage;
import io.netty.util.ReferenceCountUtil;
import io.respawn.server.command.CommandSpec.Flag;
import io.respawn.server.resp.ClientConnection;
import io.respawn.server.resp.ClientRegistry;
import io.respawn.server.resp.Reply;
import io.respawn.server.resp.Request;
import io.respawn.storage.KvStore;
import io.respawn.storage.StorageException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
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
  /** Set when this node mirrors to, or is the mirror of, another site; else null. */
  io.respawn.server.mirror.MirrorControl mirror;

  public Dispatcher(
      KvStore store, LongSupplier clockMillis, CommandSettings settings, ClientRegistry registry) {
    this.keyspace = new Keyspace(store, clockMillis, stats, watches);
    this.settings = settings;
    this.registry = registry;
    new ConnectionCommands(this).register(table);
    new StringCommands(this).register(table);
    new KeyCommands(this).register(table);
    new StringRangeCommands(this).register(table);
    new BitCommands(this).register(table);
    new ObjectCommands(this).register(table);
    new ServerCommands(this).register(table);
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
    cluster = new ClusterCommands(view);
    cluster.register(table);
    extraInfo = info;
  }

  /**
   * Makes this node a mirroring site: new connections take the mirror's default acknowledgement,
   * {@code RESPAWN MIRROR} works, and a mirror refuses client writes until promoted. Call before
   * serving.
   */
  public void enableMirror(io.respawn.server.mirror.MirrorControl control) {
    mirror = control;
  }

  /** A client disconnected: forget what it watched. Command thread only. */
  public void connectionClosed(ClientConnection connection) {
    if (connection.commandState() instanceof Session session) {
      watches.unwatchAll(session);
    }
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

  /** Answers one request; never throws for anything the client sent. */
  public Reply execute(Session session, Request request) {
    if (request.isProtocolError()) {
      stats.protocolErrors++;
      return Reply.thenClose(error("ERR Protocol error: " + request.protocolError()));
    }
    byte[][] args = request.args();
    stats.commandsProcessed++;
    session.lastCommandAtMillis = keyspace.tick();
    CommandSpec spec = table.lookup(args[0]);
    if (spec == null) {
      session.lastCommand = Args.lower(args[0]);
      flagTransaction(session);
      return Reply.now(error(unknownCommand(args)));
    }
    session.lastCommand = spec.name();
    if (!spec.arityOk(args.length)) {
      flagTransaction(session);
      return Reply.now(error(wrongArity(spec.name())));
    }
    if (!session.authenticated && !spec.has(Flag.NO_AUTH)) {
      flagTransaction(session);
      return Reply.now(error("NOAUTH Authentication required."));
    }
    if (cluster != null) {
      RedisMessage redirect = cluster.redirect(spec, args);
      if (redirect instanceof Deferred wait) {
        if (session.inTransaction()) {
          flagTransaction(session);
          return Reply.now(error("TRYAGAIN the shard is changing primary; retry"));
        }
        return Reply.computed(wait.result());
      } else if (redirect != null) {
        flagTransaction(session);
        return Reply.now(redirect);
      }
    }
    if (mirror != null && spec.has(Flag.WRITE) && mirror.refusesWrites()) {
      flagTransaction(session);
      return Reply.now(error("READONLY You can't write against a mirror site; promote it first"
          + " (RESPAWN MIRROR PROMOTE)"));
    }
    if (overMemoryLimit() && refusedWhenOutOfMemory(session, spec)) {
      stats.oomRefusals++;
      flagTransaction(session);
      return Reply.now(error(OOM));
    }
    if (session.inTransaction() && !spec.has(Flag.TX_CONTROL)) {
      if (spec.has(Flag.NO_MULTI)) {
        flagTransaction(session);
        return Reply.now(error("ERR Command not allowed inside a transaction"));
      }
      session.transaction.add(args);
      return Reply.now(Replies.QUEUED);
    }
    if (spec.has(Flag.WHOLE_KEYSPACE)) {
      keyspace.commitPass(); // it must see (or wait for) every write executed before it
    }
    int mark = keyspace.pendingWrites();
    RedisMessage message;
    try {
      if (spec.has(Flag.WRITE)) {
        checkSizes(spec, args);
      }
      message = spec.handler().run(session, args);
    } catch (ReplyException e) {
      keyspace.rollbackTo(mark);
      return Reply.now(error(e.getMessage()));
    } catch (StorageException e) {
      keyspace.rollbackTo(mark);
      return Reply.now(storageError(e));
    } catch (RuntimeException e) {
      keyspace.rollbackTo(mark);
      log.error("command {} failed", spec.name(), e);
      return Reply.now(error("ERR internal error in '" + spec.name() + "': " + e));
    }
    return finish(session, message, mark);
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

  private Reply finish(Session session, RedisMessage message, int mark) {
    if (message instanceof Deferred deferred) {
      return Reply.computed(deferred.result());
    }
    if (session.closeRequested) {
      return Reply.thenClose(message);
    }
    if (keyspace.pendingWrites() == mark) {
      // A read that returned a write not yet acknowledged answers only once it is.
      CompletableFuture<Void> readGate = keyspace.store().takeReadGate();
      return readGate == null ? Reply.now(message) : Reply.after(readGate, message);
    }
    session.wroteSinceDurable = true;
    CompletableFuture<Void> gate = keyspace.gate(session.durability);
    if (mirror != null) {
      gate = gate.thenCombine(keyspace.ticketGate(session.mirrorAck), (a, b) -> null);
    }
    if (keyspace.pendingBytes() >= PASS_BYTES_MAX) {
      keyspace.commitPass();
    }
    return Reply.after(gate, message);
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
    return error("ERR " + e.getMessage());
  }

  private static void flagTransaction(Session session) {
    if (session.inTransaction()) {
      session.transactionDirty = true;
    }
  }

  static String wrongArity(String fullName) {
    return "ERR wrong number of arguments for '" + fullName + "' command";
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
    return Replies.OK;
  }

  private RedisMessage discard(Session session, byte[][] args) {
    if (!session.inTransaction()) {
      throw ReplyException.err("DISCARD without MULTI");
    }
    session.transaction = null;
    session.transactionDirty = false;
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
    List<RedisMessage> results = new ArrayList<>(queued.size());
    for (byte[][] command : queued) {
      CommandSpec spec = table.lookup(command[0]);
      assert spec != null && spec.arityOk(command.length) : "queue-time checks passed";
      stats.commandsProcessed++;
      int mark = keyspace.pendingWrites();
      try {
        if (spec.has(Flag.WRITE)) {
          checkSizes(spec, command);
        }
        results.add(spec.handler().run(session, command));
      } catch (ReplyException e) {
        keyspace.rollbackTo(mark);
        results.add(error(e.getMessage()));
      }
    }
    return Replies.array(results);
  }
}
