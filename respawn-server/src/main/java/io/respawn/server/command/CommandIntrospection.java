package io.respawn.server.command;

import static io.respawn.server.command.Replies.bulk;
import static io.respawn.server.command.Replies.integer;

import io.netty.handler.codec.redis.RedisMessage;
import io.netty.handler.codec.redis.SimpleStringRedisMessage;
import java.util.ArrayList;
import java.util.List;

/**
 * The COMMAND container, as in Redis 7: COMMAND (every command), COUNT, LIST [FILTERBY MODULE
 * name|ACLCAT category|PATTERN glob], INFO [name ...], DOCS [name ...], GETKEYS command args...,
 * HELP. Names may be a subcommand's full name ({@code client|kill}). GETKEYSANDFLAGS is not
 * supported (key specs carry no access flags here).
 *
 * <p>A command's entry has Redis 7's ten fields: name, arity, flags (a set), first key, last key,
 * key step, ACL categories (a set), tips (empty), key specs (one range spec built from the key
 * positions) and subcommands (each an entry itself).
 */
final class CommandIntrospection {
  private final Dispatcher d;

  CommandIntrospection(Dispatcher dispatcher) {
    this.d = dispatcher;
  }

  void register(CommandTable t) {
    t.addContainer("command", -1, (s, a) -> all());
    t.addSubcommand("command", "count", 2, (s, a) -> integer(d.table.size()));
    t.addSubcommand("command", "list", -2, (s, a) -> list(a));
    t.addSubcommand("command", "info", -2, (s, a) -> info(a));
    t.addSubcommand("command", "docs", -2, (s, a) -> docs(a));
    t.addSubcommand("command", "getkeys", -4, (s, a) -> getKeys(a));
    t.addSubcommand("command", "help", 2, (s, a) -> Replies.help("COMMAND",
        "(no subcommand)",
        "    Return details about all Redis commands.",
        "COUNT",
        "    Return the total number of commands in this Redis server.",
        "LIST",
        "    Return a list of all commands in this Redis server.",
        "INFO [<command-name> ...]",
        "    Return details about multiple Redis commands.",
        "    If no command names are given, documentation details for all",
        "    commands are returned.",
        "DOCS [<command-name> ...]",
        "    Return documentation details about multiple Redis commands.",
        "    If no command names are given, documentation details for all",
        "    commands are returned.",
        "GETKEYS <full-command>",
        "    Return the keys from a full Redis command."));
  }

  private RedisMessage all() {
    List<RedisMessage> out = new ArrayList<>();
    for (CommandSpec spec : d.table.all()) {
      out.add(describe(spec));
    }
    return Replies.array(out);
  }

  /** COMMAND LIST [FILTERBY MODULE name|ACLCAT category|PATTERN glob]: subcommands included. */
  private RedisMessage list(byte[][] a) {
    String filter = null;
    byte[] value = null;
    for (int i = 2; i < a.length; i++) {
      int more = a.length - 1 - i;
      if (Args.is(a[i], "FILTERBY") && more == 2) {
        if (Args.is(a[i + 1], "MODULE")) {
          filter = "module";
        } else if (Args.is(a[i + 1], "ACLCAT")) {
          filter = "aclcat";
        } else if (Args.is(a[i + 1], "PATTERN")) {
          filter = "pattern";
        } else {
          throw ReplyException.err("syntax error");
        }
        value = a[i + 2];
        i += 2;
      } else {
        throw ReplyException.err("syntax error");
      }
    }
    List<RedisMessage> out = new ArrayList<>();
    for (CommandSpec spec : d.table.allWithSubcommands()) {
      if (filter == null || passes(spec, filter, value)) {
        out.add(bulk(spec.name()));
      }
    }
    return Replies.array(out);
  }

  private static boolean passes(CommandSpec spec, String filter, byte[] value) {
    return switch (filter) {
      case "module" -> false; // Respawn loads no modules
      case "aclcat" -> CommandDocs.categories(spec).contains(Args.lower(value));
      case "pattern" -> Glob.matches(Args.bytes(Args.lower(value)), Args.bytes(spec.name()));
      default -> throw new IllegalArgumentException(filter);
    };
  }

  /** COMMAND INFO [name ...]: all commands without names; a nil entry for an unknown name. */
  private RedisMessage info(byte[][] a) {
    if (a.length == 2) {
      return all();
    }
    List<RedisMessage> out = new ArrayList<>();
    for (int i = 2; i < a.length; i++) {
      CommandSpec spec = d.table.lookupFullName(Args.text(a[i]));
      out.add(spec == null ? Replies.NIL : describe(spec));
    }
    return Replies.array(out);
  }

  /** COMMAND DOCS [name ...]: a map of name to documentation; unknown names are left out. */
  private RedisMessage docs(byte[][] a) {
    List<RedisMessage> out = new ArrayList<>();
    if (a.length == 2) {
      for (CommandSpec spec : d.table.all()) {
        out.add(bulk(spec.name()));
        out.add(docOf(spec));
      }
    } else {
      for (int i = 2; i < a.length; i++) {
        CommandSpec spec = d.table.lookupFullName(Args.text(a[i]));
        if (spec != null) {
          out.add(bulk(spec.name()));
          out.add(docOf(spec));
        }
      }
    }
    return Replies.map(out);
  }

  /** COMMAND GETKEYS command arg...: the key arguments, found from the key positions. */
  private RedisMessage getKeys(byte[][] a) {
    byte[][] command = java.util.Arrays.copyOfRange(a, 2, a.length);
    CommandSpec spec = d.table.lookup(command[0]);
    if (spec != null && spec.isContainer() && command.length > 1) {
      spec = spec.subcommand(command[1]);
    }
    if (spec == null) {
      throw ReplyException.err("Invalid command specified");
    }
    if (spec.firstKey() == 0) {
      throw ReplyException.err("The command has no key arguments");
    }
    if (!spec.arityOk(command.length)) {
      throw ReplyException.err("Invalid number of arguments specified for command");
    }
    int last = spec.lastKeyIndex(command.length);
    List<RedisMessage> keys = new ArrayList<>();
    for (int i = spec.firstKey(); i <= last; i += Math.max(1, spec.step())) {
      keys.add(bulk(command[i]));
    }
    return Replies.array(keys);
  }

  /** Redis 7's ten-field command entry. */
  static RedisMessage describe(CommandSpec spec) {
    List<RedisMessage> flags = new ArrayList<>();
    for (String f : CommandDocs.flags(spec)) {
      flags.add(new SimpleStringRedisMessage(f));
    }
    List<RedisMessage> categories = new ArrayList<>();
    for (String c : CommandDocs.categories(spec)) {
      categories.add(new SimpleStringRedisMessage("@" + c));
    }
    List<RedisMessage> subcommands = new ArrayList<>();
    for (CommandSpec sub : spec.subcommands()) {
      subcommands.add(describe(sub));
    }
    List<RedisMessage> info = new ArrayList<>(10);
    info.add(bulk(spec.name()));
    info.add(integer(spec.arity()));
    info.add(Replies.set(flags));
    info.add(integer(spec.firstKey()));
    info.add(integer(spec.lastKey()));
    info.add(integer(spec.step()));
    info.add(Replies.set(categories));
    info.add(Replies.set(List.of()));
    info.add(Replies.set(keySpecs(spec)));
    info.add(spec.isContainer() ? Replies.array(subcommands) : Replies.set(List.of()));
    return Replies.array(info);
  }

  /**
   * The key positions as one Redis 7 key spec: begin at an index, find a range. Access flags
   * (RO/RW...) are not tracked per key, so the flags set is empty.
   */
  private static List<RedisMessage> keySpecs(CommandSpec spec) {
    if (spec.firstKey() == 0) {
      return List.of();
    }
    int lastKey = spec.lastKey() < 0 ? spec.lastKey() : spec.lastKey() - spec.firstKey();
    RedisMessage beginSearch = Replies.map("type", "index", "spec",
        Replies.map("index", (long) spec.firstKey()));
    RedisMessage findKeys = Replies.map("type", "range", "spec",
        Replies.map("lastkey", (long) lastKey, "keystep", (long) spec.step(), "limit", 0L));
    return List.of(Replies.map("flags", Replies.set(List.of()), "begin_search", beginSearch,
        "find_keys", findKeys));
  }

  /** One command's COMMAND DOCS map: summary, since, group, and subcommands for a container. */
  private static RedisMessage docOf(CommandSpec spec) {
    CommandDocs.Doc doc = spec.doc();
    List<RedisMessage> fields = new ArrayList<>();
    if (!doc.summary().isEmpty()) {
      fields.add(bulk("summary"));
      fields.add(bulk(doc.summary()));
    }
    if (!doc.since().isEmpty()) {
      fields.add(bulk("since"));
      fields.add(bulk(doc.since()));
    }
    fields.add(bulk("group"));
    fields.add(bulk(doc.group()));
    if (spec.isContainer()) {
      List<RedisMessage> subs = new ArrayList<>();
      for (CommandSpec sub : spec.subcommands()) {
        subs.add(bulk(sub.name()));
        subs.add(docOf(sub));
      }
      fields.add(bulk("subcommands"));
      fields.add(Replies.map(subs));
    }
    return Replies.map(fields);
  }
}
