package io.respawn.server.command;

import io.respawn.server.resp.ClientConnection;
import io.respawn.server.resp.Reply;
import io.respawn.storage.Durability;
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

  /** QUIT: close the connection after this command's reply. */
  boolean closeRequested;

  /** Replies produced in the current command-thread pass, not yet handed to the connection. */
  List<Reply> outbox;

  Session(ClientConnection connection, Durability durability, boolean authenticated) {
    this.connection = connection;
    this.durability = durability;
    this.authenticated = authenticated;
    this.lastCommandAtMillis = connection.createdAtMillis();
  }

  public long id() {
    return connection.id();
  }

  void addReply(Reply reply) {
    if (outbox == null) {
      outbox = new ArrayList<>(4);
    }
    outbox.add(reply);
  }

  boolean inTransaction() {
    return transaction != null;
  }
}
