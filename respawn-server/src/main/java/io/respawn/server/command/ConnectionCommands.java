package io.respawn.server.command;

import static io.respawn.server.command.Args.is;
import static io.respawn.server.command.Replies.bulk;

import io.netty.handler.codec.redis.RedisMessage;
import io.respawn.server.command.CommandSpec.Flag;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.List;

/** Connection commands: PING, ECHO, HELLO, AUTH, SELECT, QUIT, RESET; CLIENT is {@link ClientCommands}. */
final class ConnectionCommands {
  private final Dispatcher d;

  ConnectionCommands(Dispatcher dispatcher) {
    this.d = dispatcher;
  }

  void register(CommandTable t) {
    t.add("ping", -1, (s, a) -> ping(a));
    t.add("echo", 2, (s, a) -> bulk(a[1]));
    t.add("hello", -1, this::hello, Flag.NO_AUTH);
    t.add("auth", -2, this::auth, Flag.NO_AUTH);
    t.add("select", 2, (s, a) -> select(a));
    t.add("quit", -1, this::quit, Flag.NO_AUTH, Flag.TX_CONTROL);
    t.add("reset", 1, this::reset, Flag.NO_AUTH, Flag.TX_CONTROL);
  }

  private RedisMessage ping(byte[][] a) {
    if (a.length > 2) {
      throw new ReplyException(Dispatcher.wrongArity("ping"));
    }
    return a.length == 2 ? bulk(a[1]) : Replies.PONG;
  }

  private RedisMessage quit(Session s, byte[][] a) {
    s.closeRequested = true;
    return Replies.OK;
  }

  private RedisMessage select(byte[][] a) {
    long index = Args.parseLong(a[1]);
    if (index != 0) {
      throw ReplyException.err("DB index is out of range");
    }
    return Replies.OK;
  }

  /**
   * HELLO [protover [AUTH username password] [SETNAME clientname]]: switches the connection to
   * RESP2 or RESP3 (this reply already in the new protocol) and describes the server as a map.
   */
  private RedisMessage hello(Session s, byte[][] a) {
    long version = 0;
    if (a.length >= 2) {
      Long v = Args.parseLongOrNull(a[1]);
      if (v == null) {
        throw ReplyException.err("Protocol version is not an integer or out of range");
      }
      if (v < 2 || v > 3) {
        throw new ReplyException("NOPROTO unsupported protocol version");
      }
      version = v;
    }
    for (int i = 2; i < a.length; i++) {
      int more = a.length - 1 - i;
      if (is(a[i], "AUTH") && more >= 2) {
        checkPassword(s, a[i + 1], a[i + 2]);
        i += 2;
      } else if (is(a[i], "SETNAME") && more >= 1) {
        s.name = ClientCommands.validName(a[++i]);
      } else {
        throw ReplyException.err("Syntax error in HELLO option '" + Args.text(a[i]) + "'");
      }
    }
    if (!s.authenticated) {
      throw new ReplyException(
          "NOAUTH HELLO must be called with the client already authenticated, otherwise the "
              + "HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client "
              + "and select the RESP protocol version at the same time");
    }
    if (version != 0) {
      s.resp = (int) version;
    }
    return Replies.map(
        "server", "redis",
        "version", CommandSettings.REDIS_COMPAT_VERSION,
        "proto", (long) s.resp,
        "id", s.id(),
        "mode", "standalone",
        "role", "master",
        "modules", List.of());
  }

  /**
   * RESET: the connection as if new: no transaction, watches, MONITOR, name or CLIENT REPLY mode,
   * RESP2, the server's default durability, and unauthenticated again if a password is set.
   */
  private RedisMessage reset(Session s, byte[][] a) {
    s.transaction = null;
    s.transactionDirty = false;
    s.transactionBytes = 0;
    d.watches.unwatchAll(s);
    d.monitors.remove(s);
    s.resp = 2;
    s.name = "";
    s.replyOff = false;
    s.replySkip = false;
    s.replySkipNext = false;
    s.noEvict = false;
    s.durability = d.settings.defaultDurability();
    s.authenticated = d.settings.requirePass() == null;
    return Replies.status("RESET");
  }

  /** AUTH [username] password. */
  private RedisMessage auth(Session s, byte[][] a) {
    if (a.length > 3) {
      throw ReplyException.err("syntax error");
    }
    if (d.settings.requirePass() == null && a.length == 2) {
      throw ReplyException.err(
          "AUTH <password> called without any password configured for the default user. "
              + "Are you sure your configuration is correct?");
    }
    byte[] user = a.length == 3 ? a[1] : Args.bytes("default");
    checkPassword(s, user, a[a.length - 1]);
    return Replies.OK;
  }

  private void checkPassword(Session s, byte[] user, byte[] password) {
    String required = d.settings.requirePass();
    boolean userOk = Args.text(user).equals("default");
    boolean passOk = required == null
        || MessageDigest.isEqual(required.getBytes(StandardCharsets.UTF_8), password);
    if (!userOk || !passOk) {
      throw new ReplyException(
          "WRONGPASS invalid username-password pair or user is disabled.");
    }
    s.authenticated = true;
  }
}
