package io.respawn.server.command;

import static io.respawn.server.command.Args.is;
import static io.respawn.server.command.Replies.bulk;
import static io.respawn.server.command.Replies.integer;

import io.netty.handler.codec.redis.RedisMessage;
import io.respawn.server.command.CommandSpec.Flag;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Server administration: MONITOR, SHUTDOWN, SLOWLOG (GET, LEN, RESET, HELP) and LATENCY (LATEST,
 * HISTORY, RESET, DOCTOR, HELP), with Redis 7's replies and errors. LATENCY GRAPH and HISTOGRAM
 * are not supported and answer Redis' unknown-subcommand error.
 */
final class AdminCommands {
  private static final Logger log = LoggerFactory.getLogger(AdminCommands.class);

  private final Dispatcher d;

  AdminCommands(Dispatcher dispatcher) {
    this.d = dispatcher;
  }

  void register(CommandTable t) {
    t.add("monitor", 1, this::monitor, Flag.ADMIN);
    t.add("shutdown", -1, this::shutdown, Flag.ADMIN, Flag.NO_MULTI, Flag.WHOLE_KEYSPACE);
    t.addContainer("slowlog", -2, null);
    t.addSubcommand("slowlog", "get", -2, (s, a) -> slowlogGet(a), Flag.ADMIN);
    t.addSubcommand("slowlog", "len", 2, (s, a) -> integer(d.slowLog.length()), Flag.ADMIN);
    t.addSubcommand("slowlog", "reset", 2, (s, a) -> {
      d.slowLog.reset();
      return Replies.OK;
    }, Flag.ADMIN);
    t.addSubcommand("slowlog", "help", 2, (s, a) -> Replies.help("SLOWLOG",
        "GET [<count>]",
        "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
        "    Entries are made of:",
        "    id, timestamp, time in microseconds, arguments array, client IP and port,",
        "    client name",
        "LEN",
        "    Return the length of the slowlog.",
        "RESET",
        "    Reset the slowlog."));
    t.addContainer("latency", -2, null);
    t.addSubcommand("latency", "latest", 2, (s, a) -> latencyLatest(), Flag.ADMIN);
    t.addSubcommand("latency", "history", 3, (s, a) -> latencyHistory(a), Flag.ADMIN);
    t.addSubcommand("latency", "reset", -2, (s, a) -> latencyReset(a), Flag.ADMIN);
    t.addSubcommand("latency", "doctor", 2,
        (s, a) -> Replies.verbatim(d.latency.doctor(d.keyspace.nowMillis() / 1000)), Flag.ADMIN);
    t.addSubcommand("latency", "help", 2, (s, a) -> Replies.help("LATENCY",
        "DOCTOR",
        "    Return a human readable latency analysis report.",
        "HISTORY <event>",
        "    Return time-latency samples for the <event> class.",
        "LATEST",
        "    Return the latest latency samples for all events.",
        "RESET [<event> ...]",
        "    Reset latency data of one or more <event> classes.",
        "    (default: reset all data for all event classes)"));
  }

  /**
   * MONITOR: from now on this client receives a line per executed command (see {@link Monitors})
   * and may not read or write keys; RESET or disconnecting ends it. A second MONITOR answers
   * nothing, as in Redis; inside a transaction it is refused at EXEC.
   */
  private RedisMessage monitor(Session s, byte[][] a) {
    if (d.inExec) {
      throw ReplyException.err("MONITOR isn't allowed for DENY BLOCKING client");
    }
    if (s.monitor) {
      return Replies.NO_REPLY;
    }
    d.monitors.add(s);
    return Replies.OK;
  }

  /**
   * SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT]: makes every acknowledged write durable (one
   * fsync of the log), then stops the process as SIGTERM does; the client gets no reply, its
   * connection closes. The log is the data, so SAVE and NOSAVE differ only when that fsync
   * fails: then plain SHUTDOWN and SAVE answer {@code ERR Errors trying to SHUTDOWN. Check logs.}
   * and the server keeps running, while NOSAVE or FORCE stop anyway (DURABLE-acknowledged writes
   * were fsynced before their acknowledgement, so none is lost). NOW is accepted (there are no
   * replicas to wait for); ABORT answers that no shutdown is in progress.
   */
  private RedisMessage shutdown(Session s, byte[][] a) {
    boolean noSave = false;
    boolean save = false;
    boolean force = false;
    boolean abort = false;
    boolean now = false;
    for (int i = 1; i < a.length; i++) {
      if (is(a[i], "NOSAVE")) {
        noSave = true;
      } else if (is(a[i], "SAVE")) {
        save = true;
      } else if (is(a[i], "NOW")) {
        now = true;
      } else if (is(a[i], "FORCE")) {
        force = true;
      } else if (is(a[i], "ABORT")) {
        abort = true;
      } else {
        throw ReplyException.err("syntax error");
      }
    }
    if ((abort && (noSave || save || now || force)) || (noSave && save)) {
      throw ReplyException.err("syntax error");
    }
    if (abort) {
      throw ReplyException.err("No shutdown in progress.");
    }
    Runnable hook = d.shutdownHook();
    if (hook == null) {
      log.error("SHUTDOWN refused: this server has no way to stop its process");
      throw ReplyException.err("Errors trying to SHUTDOWN. Check logs.");
    }
    boolean stopEvenIfFlushFails = noSave || force;
    String how = noSave ? "NOSAVE" : "FORCE";
    log.info("SHUTDOWN requested by client {} ({}): making every write durable",
        s.id(), ClientCommands.address(s.connection.remoteAddress()));
    CompletableFuture<RedisMessage> answer = new CompletableFuture<>();
    d.keyspace.store().flushAll().whenComplete((v, e) -> {
      if (e == null || stopEvenIfFlushFails) {
        if (e != null) {
          log.error("SHUTDOWN {}: the final fsync failed ({}); stopping anyway", how,
              e.toString());
        }
        hook.run(); // the server closes this connection without a reply, as Redis exits
      } else {
        log.error("SHUTDOWN refused: the final fsync failed: {}", e.toString());
        answer.complete(Replies.error("ERR Errors trying to SHUTDOWN. Check logs."));
      }
    });
    return new Deferred(answer);
  }

  /** SLOWLOG GET [count]: newest first; count -1 = all. */
  private RedisMessage slowlogGet(byte[][] a) {
    if (a.length > 3) {
      throw Dispatcher.subcommandSyntaxError(a);
    }
    long count = 10;
    if (a.length == 3) {
      Long c = Args.parseLongOrNull(a[2]);
      if (c == null || c < -1) {
        throw ReplyException.err("count should be greater than or equal to -1");
      }
      count = c == -1 ? Long.MAX_VALUE : c;
    }
    List<RedisMessage> out = new ArrayList<>();
    for (SlowLog.Entry e : d.slowLog.newest(count)) {
      List<RedisMessage> args = new ArrayList<>(e.args().length);
      for (byte[] arg : e.args()) {
        args.add(bulk(arg));
      }
      out.add(Replies.array(List.of(integer(e.id()), integer(e.unixSeconds()),
          integer(e.micros()), Replies.array(args), bulk(e.clientAddress()),
          bulk(e.clientName()))));
    }
    return Replies.array(out);
  }

  /** LATENCY LATEST: [event, unix time of the latest sample, its ms, all-time max ms] each. */
  private RedisMessage latencyLatest() {
    List<RedisMessage> out = new ArrayList<>();
    d.latency.events().forEach((event, series) -> {
      LatencyMonitor.Sample last = series.latest();
      out.add(Replies.array(List.of(bulk(event), integer(last.unixSeconds()),
          integer(last.millis()), integer(series.maxMillis()))));
    });
    return Replies.array(out);
  }

  /** LATENCY HISTORY event: [unix time, ms] per sample, oldest first; empty if unknown. */
  private RedisMessage latencyHistory(byte[][] a) {
    LatencyMonitor.Series series = d.latency.events().get(Args.text(a[2]));
    List<RedisMessage> out = new ArrayList<>();
    if (series != null) {
      for (LatencyMonitor.Sample sample : series.history()) {
        out.add(Replies.array(List.of(integer(sample.unixSeconds()), integer(sample.millis()))));
      }
    }
    return Replies.array(out);
  }

  /** LATENCY RESET [event ...]: how many event classes were forgotten. */
  private RedisMessage latencyReset(byte[][] a) {
    List<String> names = new ArrayList<>();
    for (int i = 2; i < a.length; i++) {
      names.add(Args.text(a[i]));
    }
    return integer(d.latency.reset(names));
  }
}
