package io.respawn.server.command;

import static io.respawn.server.command.Args.is;
import static io.respawn.server.command.Replies.bulk;
import static io.respawn.server.command.Replies.integer;

import io.netty.handler.codec.redis.RedisMessage;
import io.respawn.server.command.CommandSpec.Flag;
import io.respawn.server.resp.ClientConnection;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;

/** Connection commands: PING, ECHO, HELLO, AUTH, SELECT, CLIENT, QUIT. */
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
    t.add("client", -2, this::client);
    t.add("quit", -1, this::quit, Flag.NO_AUTH, Flag.TX_CONTROL);
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

  /** HELLO [protover [AUTH username password] [SETNAME clientname]]: RESP2 only. */
  private RedisMessage hello(Session s, byte[][] a) {
    if (a.length >= 2) {
      Long version = Args.parseLongOrNull(a[1]);
      if (version == null) {
        throw ReplyException.err("Protocol version is not an integer or out of range");
      }
      if (version != 2) {
        // RESP3-first clients (Lettuce, redis-py 5) retry with RESP2 on NOPROTO.
        throw new ReplyException("NOPROTO unsupported protocol version");
      }
    }
    String setName = null;
    for (int i = 2; i < a.length; i++) {
      if (is(a[i], "AUTH") && i + 2 < a.length) {
        checkPassword(s, a[i + 1], a[i + 2]);
        i += 2;
      } else if (is(a[i], "SETNAME") && i + 1 < a.length) {
        setName = validName(a[++i]);
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
    if (setName != null) {
      s.name = setName;
    }
    return Replies.pairs(
        "server", "redis",
        "version", CommandSettings.REDIS_COMPAT_VERSION,
        "proto", 2L,
        "id", s.id(),
        "mode", "standalone",
        "role", "master",
        "modules", List.of());
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

  private RedisMessage client(Session s, byte[][] a) {
    String sub = Args.lower(a[1]);
    switch (sub) {
      case "id" -> {
        arity(a, 2, "client|id");
        return integer(s.id());
      }
      case "setname" -> {
        arity(a, 3, "client|setname");
        s.name = validName(a[2]);
        return Replies.OK;
      }
      case "getname" -> {
        arity(a, 2, "client|getname");
        return s.name.isEmpty() ? Replies.NIL : bulk(s.name);
      }
      case "setinfo" -> {
        arity(a, 4, "client|setinfo");
        if (is(a[2], "LIB-NAME")) {
          s.libName = validName(a[3]);
        } else if (is(a[2], "LIB-VER")) {
          s.libVersion = validName(a[3]);
        } else {
          throw ReplyException.err("Unrecognized option '" + Args.text(a[2]) + "'");
        }
        return Replies.OK;
      }
      case "info" -> {
        arity(a, 2, "client|info");
        return bulk(describe(s.connection) + "\n");
      }
      case "list" -> {
        StringBuilder sb = new StringBuilder();
        for (ClientConnection c : d.registry.connections()) {
          sb.append(describe(c)).append('\n');
        }
        return bulk(sb.toString());
      }
      case "no-evict", "no-touch" -> {
        arity(a, 3, "client|" + sub);
        return Replies.OK;
      }
      case "help" -> {
        List<RedisMessage> lines = new ArrayList<>();
        for (String line : new String[] {
            "CLIENT <subcommand> [<arg> ...]. Subcommands are:",
            "ID", "GETNAME", "SETNAME <name>", "SETINFO LIB-NAME|LIB-VER <value>", "INFO",
            "LIST", "HELP"}) {
          lines.add(new io.netty.handler.codec.redis.SimpleStringRedisMessage(line));
        }
        return Replies.array(lines);
      }
      default -> throw ReplyException.err(
          "unknown subcommand '" + Args.text(a[1]) + "'. Try CLIENT HELP.");
    }
  }

  private static void arity(byte[][] a, int n, String fullName) {
    if (a.length != n) {
      throw new ReplyException(Dispatcher.wrongArity(fullName));
    }
  }

  private static String validName(byte[] name) {
    for (byte b : name) {
      if (b < '!' || b > '~') {
        throw ReplyException.err(
            "Client names cannot contain spaces, newlines or special characters.");
      }
    }
    return Args.text(name);
  }

  /** One CLIENT LIST line; reads the session only on the command thread (we are on it). */
  private String describe(ClientConnection c) {
    Session s = (Session) c.commandState();
    long now = System.currentTimeMillis();
    StringBuilder sb = new StringBuilder();
    sb.append("id=").append(c.id());
    sb.append(" addr=").append(address(c.remoteAddress()));
    sb.append(" laddr=").append(address(c.localAddress()));
    sb.append(" name=").append(s == null ? "" : s.name);
    sb.append(" age=").append((now - c.createdAtMillis()) / 1000);
    sb.append(" idle=").append(s == null ? (now - c.createdAtMillis()) / 1000
        : Math.max(0, now - s.lastCommandAtMillis) / 1000);
    sb.append(" flags=N db=0 sub=0 psub=0 ssub=0");
    sb.append(" multi=").append(s == null || s.transaction == null ? -1 : s.transaction.size());
    sb.append(" cmd=").append(s == null ? "NULL" : s.lastCommand);
    sb.append(" user=default");
    sb.append(" lib-name=").append(s == null ? "" : s.libName);
    sb.append(" lib-ver=").append(s == null ? "" : s.libVersion);
    sb.append(" resp=2");
    sb.append(" durability=").append(
        (s == null ? d.settings.defaultDurability() : s.durability).name().toLowerCase());
    return sb.toString();
  }

  private static String address(SocketAddress a) {
    if (a instanceof InetSocketAddress inet) {
      return inet.getAddress().getHostAddress() + ":" + inet.getPort();
    }
    return String.valueOf(a);
  }
}
