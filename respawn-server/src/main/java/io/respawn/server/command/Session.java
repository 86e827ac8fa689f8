package io.respawn.server.command;

import io.respawn.server.resp.ClientConnection;
import io.respawn.server.resp.Reply;
import io.respawn.server.resp.Request;
import io.respawn.storage.Durability;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * Command-side state of one client: authentication, name, durability default, the open
 * transaction. Owned by the command thread; created on the client's first request.
 */
public final class Session {
  final ClientConnection connection;
  boolean authenticated;
  String name = "";
  String libName = "";
  String libVersion = "";
  Durability durability;
  /** When writes are acknowledged with respect to the mirror site (only used when mirroring). */
  io.respawn.server.mirror.MirrorAck mirrorAck = io.respawn.server.mirror.MirrorAck.LOCAL;
  String lastCommand = "NULL";
  long lastCommandAtMillis;

  /** Non-null between MULTI and EXEC/DISCARD: the queued commands. */
  List<byte[][]> transaction;
  /** A queue-time error happened since MULTI: EXEC must abort. */
  boolean transactionDirty;
  /** Keys this client WATCHes (null: none); see {@link Watches}. */
  java.util.Map<ByteKey, Watches.Watch> watched;
  /** A watched key changed since WATCH: the next EXEC answers a null array. */
  boolean watchDirty;
  /** This client wrote since its last WAITAOF found everything durable. */
  boolean wroteSinceDurable;
  /**
   * The acknowledgement the newest gated reply of this client waits (or waited) for; while it is
   * not done, the client's reads see writes in flight (its own, or ones it already read).
   */
  java.util.concurrent.CompletableFuture<Void> lastGate;

  /** QUIT: close the connection after this command's reply. */
  boolean closeRequested;

  /** Protocol version chosen with HELLO: 2 or 3. */
  int resp = 2;
  /** CLIENT REPLY OFF: no reply is sent until CLIENT REPLY ON. */
  boolean replyOff;
  /** CLIENT REPLY SKIP was the previous command: this command's reply is not sent. */
  boolean replySkip;
  /** CLIENT REPLY SKIP is the current command: the next command's reply is not sent. */
  boolean replySkipNext;
  /** MONITOR: receives every executed command; may not read or write keys. */
  boolean monitor;
  /** CLIENT NO-EVICT ON (reported only: Respawn never evicts clients). */
  boolean noEvict;
  /** Argument bytes of the command executing now (CLIENT LIST's argv-mem). */
  long currentArgBytes;
  /** Argument bytes of the commands queued since MULTI (CLIENT LIST's multi-mem). */
  long transactionBytes;
  /**
   * Requests held back by CLIENT PAUSE, oldest first (null when none): the first one is
   * executed again once the pause allows it, and the later ones wait behind it.
   */
  java.util.ArrayDeque<io.respawn.server.resp.Request> postponed;
  /**
   * When the first of {@link #postponed} started waiting for values still on a backup (online
   * recovery, {@link PendingValues}), in {@code System.nanoTime()}; 0 when it does not wait.
   */
  long valuesWaitSinceNanos;
  /** When the first of {@link #postponed} started waiting for the shard to settle, or 0. */
  long settleWaitSinceNanos;

  /** Replies produced in the current command-thread pass, not yet handed to the connection. */
  List<Reply> outbox;
  /** Encoded bytes of {@code outbox} (counted against the client's output pause threshold). */
  long outboxBytes;
  /**
   * Requests not executed yet because the client's output was full, in arrival order (null:
   * none); executed when the connection resumes (see CommandLoop).
   */
  ArrayDeque<Request> held;

  Session(ClientConnection connection, Durability durability, boolean authenticated) {
    this.connection = connection;
    this.durability = durability;
    this.authenticated = authenticated;
    this.lastCommandAtMillis = connection.createdAtMillis();
  }

  public long id() {
    return connection.id();
  }

  /** MONITOR lines about this monitor's own commands: they follow the command's reply. */
  List<Reply> ownFeed;

  void addReply(Reply reply) {
    if (outbox == null) {
      outbox = new ArrayList<>(4);
    }
    outbox.add(reply);
    outboxBytes += reply.bytes();
    if (ownFeed != null && reply.kind() != Reply.Kind.UNSOLICITED) {
      outbox.addAll(ownFeed);
      for (Reply fed : ownFeed) {
        outboxBytes += fed.bytes();
      }
      ownFeed = null;
    }
  }

  boolean inTransaction() {
    return transaction != null;
  }
}
