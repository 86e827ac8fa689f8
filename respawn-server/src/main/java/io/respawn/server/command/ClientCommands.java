package io.respawn.server.command;

import static io.respawn.server.command.Args.is;
import static io.respawn.server.command.Replies.bulk;
import static io.respawn.server.command.Replies.integer;

import io.netty.handler.codec.redis.RedisMessage;
import io.respawn.server.command.CommandSpec.Flag;
import io.respawn.server.resp.ClientConnection;
import java.net.Inet6Address;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.Locale;

/**
 * The CLIENT container: ID, GETNAME, SETNAME, SETINFO, INFO, LIST, KILL, REPLY, NO-EVICT,
 * NO-TOUCH, PAUSE, UNPAUSE, HELP, with Redis 7's arities, replies and error texts. Tracking
 * (TRACKING, CACHING, GETREDIR, TRACKINGINFO) and UNBLOCK are not supported: they answer
 * Redis' unknown-subcommand error.
 */
final class ClientCommands {
  private final Dispatcher d;

  ClientCommands(Dispatcher dispatcher) {
    this.d = dispatcher;
  }

  void register(CommandTable t) {
    t.addContainer("client", -2, null);
    t.addSubcommand("client", "id", 2, (s, a) -> integer(s.id()));
    t.addSubcommand("client", "getname", 2,
        (s, a) -> s.name.isEmpty() ? Replies.NIL : bulk(s.name));
    t.addSubcommand("client", "setname", 3, (s, a) -> {
      s.name = validName(a[2]);
      return Replies.OK;
    });
    t.addSubcommand("client", "setinfo", 4, this::setInfo);
    t.addSubcommand("client", "info", 2,
        (s, a) -> Replies.verbatim(describe(s.connection) + "\n"));
    t.addSubcommand("client", "list", -2, this::list, Flag.ADMIN);
    t.addSubcommand("client", "kill", -3, this::kill, Flag.ADMIN);
    t.addSubcommand("client", "reply", 3, this::reply);
    t.addSubcommand("client", "no-evict", 3, (s, a) -> {
      s.noEvict = onOff(a[2]);
      return Replies.OK;
    }, Flag.ADMIN);
    t.addSubcommand("client", "no-touch", 3, (s, a) -> {
      onOff(a[2]); // accepted: Respawn keeps no access times for reads to leave untouched
      return Replies.OK;
    });
    t.addSubcommand("client", "pause", -3, this::pause, Flag.ADMIN);
    t.addSubcommand("client", "unpause", 2, (s, a) -> {
      d.pause.unpause();
      return Replies.OK;
    }, Flag.ADMIN);
    t.addSubcommand("client", "help", 2, (s, a) -> help());
  }

  private RedisMessage setInfo(Session s, byte[][] a) {
    if (is(a[2], "LIB-NAME")) {
      s.libName = validName(a[3]);
    } else if (is(a[2], "LIB-VER")) {
      s.libVersion = validName(a[3]);
    } else {
      throw ReplyException.err("Unrecognized option '" + Args.text(a[2]) + "'");
    }
    return Replies.OK;
  }

  /** CLIENT LIST [TYPE NORMAL|MASTER|REPLICA|PUBSUB] | [ID id [id ...]]. */
  private RedisMessage list(Session s, byte[][] a) {
    StringBuilder sb = new StringBuilder();
    if (a.length == 4 && is(a[2], "TYPE")) {
      if (clientTypeMatchesAll(a[3])) {
        for (ClientConnection c : d.registry.connections()) {
          sb.append(describe(c)).append('\n');
        }
      }
    } else if (a.length > 3 && is(a[2], "ID")) {
      for (int i = 3; i < a.length; i++) {
        Long id = Args.parseLongOrNull(a[i]);
        if (id == null) {
          throw ReplyException.err("Invalid client ID");
        }
        for (ClientConnection c : d.registry.connections()) {
          if (c.id() == id) {
            sb.append(describe(c)).append('\n');
          }
        }
      }
    } else if (a.length != 2) {
      throw ReplyException.err("syntax error");
    } else {
      for (ClientConnection c : d.registry.connections()) {
        sb.append(describe(c)).append('\n');
      }
    }
    return Replies.verbatim(sb.toString());
  }

  /**
   * Redis' client types: every Respawn client is "normal" (MONITOR clients included, as in
   * Redis); there are no replicas, masters or pub/sub clients. Unknown names are an error.
   */
  private static boolean clientTypeMatchesAll(byte[] type) {
    if (is(type, "NORMAL")) {
      return true;
    }
    if (is(type, "MASTER") || is(type, "REPLICA") || is(type, "SLAVE") || is(type, "PUBSUB")) {
      return false;
    }
    throw ReplyException.err("Unknown client type '" + Args.text(type) + "'");
  }

  /**
   * CLIENT KILL addr (old form: OK or "No such client", may kill the caller) or CLIENT KILL
   * [ID id] [ADDR ip:port] [LADDR ip:port] [USER name] [TYPE type] [SKIPME yes|no]: the number
   * of clients killed. A killed connection closes at once, its unsent replies dropped; the
   * caller, if killed, gets its reply first.
   */
  private RedisMessage kill(Session s, byte[][] a) {
    String addr = null;
    String laddr = null;
    long id = 0;
    boolean skipMe = true;
    boolean typeMatches = true;
    if (a.length == 3) {
      addr = Args.text(a[2]);
      skipMe = false;
    } else {
      for (int i = 2; i < a.length; i += 2) {
        if (i + 1 >= a.length) {
          throw ReplyException.err("syntax error");
        }
        byte[] value = a[i + 1];
        if (is(a[i], "ID")) {
          Long v = Args.parseLongOrNull(value);
          if (v == null || v < 1) {
            throw ReplyException.err("client-id should be greater than 0");
          }
          id = v;
        } else if (is(a[i], "TYPE")) {
          typeMatches = clientTypeMatchesAll(value);
        } else if (is(a[i], "ADDR")) {
          addr = Args.text(value);
        } else if (is(a[i], "LADDR")) {
          laddr = Args.text(value);
        } else if (is(a[i], "USER")) {
          if (!Args.text(value).equals("default")) {
            throw ReplyException.err("No such user '" + Args.text(value) + "'");
          }
        } else if (is(a[i], "SKIPME")) {
          if (is(value, "YES")) {
            skipMe = true;
          } else if (is(value, "NO")) {
            skipMe = false;
          } else {
            throw ReplyException.err("syntax error");
          }
        } else {
          throw ReplyException.err("syntax error");
        }
      }
    }
    int killed = 0;
    if (typeMatches) {
      for (ClientConnection c : d.registry.connections()) {
        if ((addr != null && !addr.equals(address(c.remoteAddress())))
            || (laddr != null && !laddr.equals(address(c.localAddress())))
            || (id != 0 && c.id() != id)
            || (c == s.connection && skipMe)) {
          continue;
        }
        if (c == s.connection) {
          s.closeRequested = true; // after this reply, like QUIT
        } else {
          c.close();
        }
        killed++;
      }
    }
    if (a.length == 3) {
      if (killed == 0) {
        throw ReplyException.err("No such client");
      }
      return Replies.OK;
    }
    return integer(killed);
  }

  /** CLIENT REPLY ON|OFF|SKIP: OFF and SKIP themselves answer nothing. */
  private RedisMessage reply(Session s, byte[][] a) {
    if (is(a[2], "ON")) {
      s.replyOff = false;
      s.replySkip = false;
      s.replySkipNext = false;
      return Replies.OK;
    } else if (is(a[2], "OFF")) {
      s.replyOff = true;
      return Replies.NO_REPLY;
    } else if (is(a[2], "SKIP")) {
      if (!s.replyOff) {
        s.replySkipNext = true;
      }
      return Replies.NO_REPLY;
    }
    throw ReplyException.err("syntax error");
  }

  /** CLIENT PAUSE timeout-ms [WRITE|ALL]. */
  private RedisMessage pause(Session s, byte[][] a) {
    if (a.length > 4) {
      throw ReplyException.err("syntax error");
    }
    ClientPause.Mode mode = ClientPause.Mode.ALL;
    if (a.length == 4) {
      if (is(a[3], "WRITE")) {
        mode = ClientPause.Mode.WRITE;
      } else if (is(a[3], "ALL")) {
        mode = ClientPause.Mode.ALL;
      } else {
        throw ReplyException.err("CLIENT PAUSE mode must be WRITE or ALL");
      }
    }
    Long timeout = Args.parseLongOrNull(a[2]);
    if (timeout == null) {
      throw ReplyException.err("timeout is not an integer or out of range");
    }
    if (timeout < 0) {
      throw ReplyException.err("timeout is negative");
    }
    long now = d.keyspace.nowMillis();
    long end = timeout == 0 ? 0 : (Long.MAX_VALUE - now < timeout ? Long.MAX_VALUE : now + timeout);
    d.pause.pause(mode, end);
    return Replies.OK;
  }

  private static boolean onOff(byte[] arg) {
    if (is(arg, "ON")) {
      return true;
    } else if (is(arg, "OFF")) {
      return false;
    }
    throw ReplyException.err("syntax error");
  }

  private static RedisMessage help() {
    return Replies.help("CLIENT",
        "GETNAME",
        "    Return the name of the current connection.",
        "ID",
        "    Return the ID of the current connection.",
        "INFO",
        "    Return information about the current client connection.",
        "KILL <ip:port>",
        "    Kill connection made from <ip:port>.",
        "KILL <option> <value> [<option> <value> [...]]",
        "    Kill connections. Options are:",
        "    * ADDR (<ip:port>|<unixsocket>:0)",
        "      Kill connections made from the specified address",
        "    * LADDR (<ip:port>|<unixsocket>:0)",
        "      Kill connections made to specified local address",
        "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
        "      Kill connections by type.",
        "    * USER <username>",
        "      Kill connections authenticated by <username>.",
        "    * SKIPME (YES|NO)",
        "      Skip killing current connection (default: yes).",
        "    * ID <client-id>",
        "      Kill connection by client id.",
        "LIST [options ...]",
        "    Return information about client connections. Options:",
        "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
        "      Return clients of specified type.",
        "    * ID <client-id> [<client-id> ...]",
        "      Return clients with the given ids.",
        "UNPAUSE",
        "    Stop the current client pause, resuming traffic.",
        "PAUSE <timeout> [WRITE|ALL]",
        "    Suspend all, or just write, clients for <timeout> milliseconds.",
        "REPLY (ON|OFF|SKIP)",
        "    Control the replies sent to the current connection.",
        "SETNAME <name>",
        "    Assign the name <name> to the current connection.",
        "SETINFO (LIB-NAME|LIB-VER) <value>",
        "    Record the name or version of the client library.",
        "NO-EVICT (ON|OFF)",
        "    Protect current client connection from eviction.",
        "NO-TOUCH (ON|OFF)",
        "    Accepted; reads never change access times in Respawn.");
  }

  static String validName(byte[] name) {
    for (byte b : name) {
      if (b < '!' || b > '~') {
        throw ReplyException.err(
            "Client names cannot contain spaces, newlines or special characters.");
      }
    }
    return Args.text(name);
  }

  /**
   * One CLIENT LIST line with Redis 7's fields, in Redis' order, then Respawn's {@code
   * durability}. Memory fields count what Respawn holds for the client: the bytes received but
   * not decoded (qbuf) and the receive buffer's spare room (qbuf-free), the arguments of the
   * command executing (argv-mem) and of the queued MULTI commands (multi-mem), the replies waiting
   * for their turn (oll) and the reply bytes not yet sent (omem); obl is always 0 (no fixed reply
   * buffer). Runs on the command thread, which owns every session.
   */
  String describe(ClientConnection c) {
    Session s = (Session) c.commandState();
    long now = d.keyspace.nowMillis();
    int qbuf = c.queryBufferBytes();
    int qbufFree = c.queryBufferFreeBytes();
    long argvMem = s == null ? 0 : s.currentArgBytes;
    long multiMem = s == null ? 0 : s.transactionBytes;
    long omem = c.outputBytesPending();
    StringBuilder sb = new StringBuilder(320);
    sb.append("id=").append(c.id());
    sb.append(" addr=").append(address(c.remoteAddress()));
    sb.append(" laddr=").append(address(c.localAddress()));
    sb.append(" fd=").append(c.fd());
    sb.append(" name=").append(s == null ? "" : s.name);
    sb.append(" age=").append(Math.max(0, now - c.createdAtMillis()) / 1000);
    sb.append(" idle=").append(Math.max(0, now - (s == null ? c.createdAtMillis()
        : s.lastCommandAtMillis)) / 1000);
    sb.append(" flags=").append(flags(s));
    sb.append(" db=0 sub=0 psub=0 ssub=0");
    sb.append(" multi=").append(s == null || s.transaction == null ? -1 : s.transaction.size());
    sb.append(" qbuf=").append(qbuf);
    sb.append(" qbuf-free=").append(qbufFree);
    sb.append(" argv-mem=").append(argvMem);
    sb.append(" multi-mem=").append(multiMem);
    sb.append(" obl=0");
    sb.append(" oll=").append(c.repliesPending());
    sb.append(" omem=").append(omem);
    sb.append(" tot-mem=").append(qbuf + qbufFree + argvMem + multiMem + omem);
    sb.append(" events=").append(c.isReading() ? "r" : "").append(omem > 0 ? "w" : "");
    sb.append(" cmd=").append(s == null ? "NULL" : s.lastCommand);
    sb.append(" user=default redir=-1");
    sb.append(" resp=").append(s == null ? 2 : s.resp);
    sb.append(" lib-name=").append(s == null ? "" : s.libName);
    sb.append(" lib-ver=").append(s == null ? "" : s.libVersion);
    sb.append(" durability=").append(
        (s == null ? d.settings.defaultDurability() : s.durability).name().toLowerCase(Locale.ROOT));
    return sb.toString();
  }

  /** Redis' flag letters, in Redis' order; N when none applies. */
  private static String flags(Session s) {
    if (s == null) {
      return "N";
    }
    StringBuilder f = new StringBuilder();
    if (s.monitor) {
      f.append('O');
    }
    if (s.transaction != null) {
      f.append('x');
    }
    if (s.postponed != null) {
      f.append('b');
    }
    if (s.watchDirty) {
      f.append('d');
    }
    if (s.closeRequested) {
      f.append('c');
    }
    if (s.noEvict) {
      f.append('e');
    }
    return f.isEmpty() ? "N" : f.toString();
  }

  /** {@code ip:port} as Redis prints a peer ({@code [ip]:port} for IPv6). */
  static String address(SocketAddress a) {
    if (a instanceof InetSocketAddress inet && inet.getAddress() != null) {
      String host = inet.getAddress().getHostAddress();
      if (inet.getAddress() instanceof Inet6Address) {
        int zone = host.indexOf('%');
        host = "[" + (zone < 0 ? host : host.substring(0, zone)) + "]";
      }
      return host + ":" + inet.getPort();
    }
    return a == null ? "" : String.valueOf(a);
  }
}
