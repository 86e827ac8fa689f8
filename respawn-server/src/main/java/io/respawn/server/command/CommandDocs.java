package io.respawn.server.command;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What COMMAND, COMMAND DOCS and COMMAND LIST FILTERBY ACLCAT report about each command: its
 * documentation group, the Redis version that introduced it, the flags Redis shows (only those
 * Redis' COMMAND reply lists, in Redis' order), its ACL categories and a one-line summary.
 *
 * <p>The table is keyed by the full name ({@code get}, {@code client|kill}), so a command gets its
 * entry whichever class registers it; a command without an entry is reported from its behaviour
 * flags alone (group {@code generic}, no summary). Behaviour (what a command may do) is decided
 * by {@link CommandSpec.Flag}, never by this table; {@code CommandDocsTest} keeps the two in step.
 *
 * <p>ACL categories are computed as Redis does: the explicit ones from the table, plus {@code
 * @write} for write, {@code @read} for readonly, {@code @admin @dangerous} for admin, {@code
 * @fast} for fast and {@code @slow} for every command that is not fast.
 */
final class CommandDocs {
  private CommandDocs() {}

  /** The flags COMMAND shows, in the order Redis prints them. */
  static final List<String> FLAG_ORDER = List.of(
      "write", "readonly", "denyoom", "module", "admin", "pubsub", "noscript", "blocking",
      "loading", "stale", "skip_monitor", "skip_slowlog", "asking", "fast", "no_auth",
      "no_mandatory_keys", "no_async_loading", "no_multi", "movablekeys", "allow_busy");

  /** ACL categories in the order Redis prints them (acl.c). */
  static final List<String> CATEGORY_ORDER = List.of(
      "keyspace", "read", "write", "set", "sortedset", "list", "hash", "string", "bitmap",
      "hyperloglog", "geo", "stream", "pubsub", "admin", "fast", "slow", "blocking", "dangerous",
      "connection", "transaction", "scripting");

  /**
   * One command's documentation.
   *
   * @param group Redis' documentation group ({@code string}, {@code generic}, {@code server}...)
   * @param since the Redis version that introduced it, or "" if unknown
   * @param flags shown flags, a subset of {@link #FLAG_ORDER}
   * @param categories explicit ACL categories (without the implicit ones)
   * @param summary one line, or "" if none
   */
  record Doc(String group, String since, Set<String> flags, Set<String> categories,
      String summary) {
    static final Doc UNKNOWN = new Doc("generic", "", Set.of(), Set.of(), "");
  }

  // name | group | since | flags | explicit ACL categories | summary
  private static final String TABLE = """
      append|string|2.0.0|write denyoom fast|string|Appends a string to the value of a key (creates the key if missing).
      asking|cluster|3.0.0|fast|connection|Lets the next command reach a slot that is being imported.
      auth|connection|1.0.0|noscript loading stale fast no_auth allow_busy|connection|Authenticates the connection.
      bitcount|bitmap|2.6.0|readonly|bitmap|Counts the set bits of a string, optionally in a range.
      bitpos|bitmap|2.8.7|readonly|bitmap|Finds the first set or clear bit of a string.
      client|connection|2.4.0|||Container for client connection commands.
      client|getname|connection|2.6.9|noscript loading stale|connection|Returns the name of this connection.
      client|help|connection|5.0.0|loading stale|connection|Lists the CLIENT subcommands.
      client|id|connection|5.0.0|noscript loading stale|connection|Returns the id of this connection.
      client|info|connection|6.2.0|noscript loading stale|connection|Describes this connection.
      client|kill|connection|2.4.0|admin noscript loading stale|connection|Closes client connections by id, address, user or type.
      client|list|connection|2.4.0|admin noscript loading stale|connection|Describes the open client connections.
      client|no-evict|connection|7.0.0|admin noscript loading stale|connection|Sets the client eviction mode of this connection.
      client|no-touch|connection|7.2.0|noscript loading stale|connection|Sets whether this connection's reads update key access times.
      client|pause|connection|2.9.50|admin noscript loading stale|connection|Suspends the commands of all clients, or only writes, for a time.
      client|reply|connection|3.2.0|noscript loading stale|connection|Turns replies to this connection on, off or off for one command.
      client|setinfo|connection|7.2.0|noscript loading stale|connection|Records the client library's name or version.
      client|setname|connection|2.6.9|noscript loading stale|connection|Names this connection.
      client|unpause|connection|6.2.0|admin noscript loading stale|connection|Ends a client pause.
      cluster|cluster|3.0.0|||Describes the shard (slots, nodes) this node belongs to.
      command|server|2.8.13|loading stale|connection|Describes every command.
      command|count|server|2.8.13|loading stale|connection|Returns the number of commands.
      command|docs|server|7.0.0|loading stale|connection|Returns the documentation of commands.
      command|getkeys|server|2.8.13|loading stale|connection|Extracts the key names from a full command.
      command|help|server|5.0.0|loading stale|connection|Lists the COMMAND subcommands.
      command|info|server|2.8.13|loading stale|connection|Describes the given commands, or all.
      command|list|server|7.0.0|loading stale|connection|Lists command names, optionally filtered.
      config|server|2.0.0|||Container for configuration commands.
      config|get|server|2.0.0|admin noscript loading stale||Returns the settings whose names match the patterns.
      config|help|server|5.0.0|loading stale||Lists the CONFIG subcommands.
      config|resetstat|server|2.0.0|admin noscript loading stale||Resets the statistics INFO reports.
      config|rewrite|server|2.8.0|admin noscript loading stale||Rewrites the configuration file (there is none).
      config|set|server|2.0.0|admin noscript loading stale||Changes settings at run time.
      copy|generic|6.2.0|write denyoom|keyspace|Copies the value of a key to another key.
      dbsize|server|1.0.0|readonly fast|keyspace|Returns the number of keys.
      decr|string|1.0.0|write denyoom fast|string|Decrements the integer value of a key by one.
      decrby|string|1.0.0|write denyoom fast|string|Decrements the integer value of a key by a number.
      del|generic|1.0.0|write|keyspace|Deletes keys.
      discard|transactions|2.0.0|noscript loading stale fast allow_busy|transaction|Drops the commands queued since MULTI.
      echo|connection|1.0.0|loading stale fast|connection|Returns its argument.
      exec|transactions|1.2.0|noscript loading stale skip_slowlog|transaction|Runs the commands queued since MULTI as one atomic step.
      exists|generic|1.0.0|readonly fast|keyspace|Counts how many of the keys exist.
      expire|generic|1.0.0|write fast|keyspace|Sets a key's time to live in seconds.
      expireat|generic|1.2.0|write fast|keyspace|Sets a key's expiry as a Unix time in seconds.
      expiretime|generic|7.0.0|readonly fast|keyspace|Returns a key's expiry as a Unix time in seconds.
      flushall|server|1.0.0|write|keyspace dangerous|Deletes every key.
      flushdb|server|1.0.0|write|keyspace dangerous|Deletes every key of the database.
      get|string|1.0.0|readonly fast|string|Returns the value of a key.
      getbit|bitmap|2.2.0|readonly fast|bitmap|Returns one bit of a string.
      getdel|string|6.2.0|write fast|string|Returns the value of a key and deletes the key.
      getex|string|6.2.0|write fast|string|Returns the value of a key and changes its expiry.
      getrange|string|2.4.0|readonly|string|Returns a substring of a key's value.
      getset|string|1.0.0|write denyoom fast|string|Sets a key and returns its old value.
      hello|connection|6.0.0|noscript loading stale fast no_auth allow_busy|connection|Chooses the protocol version and describes the server.
      incr|string|1.0.0|write denyoom fast|string|Increments the integer value of a key by one.
      incrby|string|1.0.0|write denyoom fast|string|Increments the integer value of a key by a number.
      incrbyfloat|string|2.6.0|write denyoom fast|string|Increments the numeric value of a key by a floating point number.
      info|server|1.0.0|loading stale|dangerous|Returns server information and statistics.
      keys|generic|1.0.0|readonly|keyspace dangerous|Returns every key matching a pattern.
      latency|server|2.8.13|||Container for latency monitor commands.
      latency|doctor|server|2.8.13|admin noscript loading stale||Describes the latency events in words.
      latency|help|server|2.8.13|loading stale||Lists the LATENCY subcommands.
      latency|history|server|2.8.13|admin noscript loading stale||Returns the samples of one latency event.
      latency|latest|server|2.8.13|admin noscript loading stale||Returns the latest sample of every latency event.
      latency|reset|server|2.8.13|admin noscript loading stale||Forgets latency events.
      lcs|string|7.0.0|readonly|string|Finds the longest common subsequence of two values.
      memory|server|4.0.0|readonly||Memory introspection (USAGE, HELP).
      memory|doctor|server|4.0.0|||Describes memory problems in words.
      memory|help|server|4.0.0|loading stale||Lists the MEMORY subcommands.
      memory|stats|server|4.0.0|||Returns memory usage details.
      memory|usage|server|4.0.0|readonly||Estimates the memory a key takes.
      mget|string|1.0.0|readonly fast|string|Returns the values of several keys.
      monitor|server|1.0.0|admin noscript loading stale||Streams every command the server executes to this connection.
      mset|string|1.0.1|write denyoom|string|Sets several keys in one atomic step.
      msetnx|string|1.0.1|write denyoom|string|Sets several keys only if none of them exists.
      multi|transactions|1.2.0|noscript loading stale fast allow_busy|transaction|Starts a transaction.
      object|generic|2.2.3|readonly|keyspace|Object introspection (ENCODING, FREQ, IDLETIME, REFCOUNT, HELP).
      object|encoding|generic|2.2.3|readonly|keyspace|Returns the internal encoding of a key's value.
      object|freq|generic|4.0.0|readonly|keyspace|Returns the access frequency counter of a key.
      object|help|generic|6.2.0|loading stale|keyspace|Lists the OBJECT subcommands.
      object|idletime|generic|2.2.3|readonly|keyspace|Returns the seconds since a key was last accessed.
      object|refcount|generic|2.2.3|readonly|keyspace|Returns the reference count of a key's value.
      persist|generic|2.2.0|write fast|keyspace|Removes a key's expiry.
      pexpire|generic|2.6.0|write fast|keyspace|Sets a key's time to live in milliseconds.
      pexpireat|generic|2.6.0|write fast|keyspace|Sets a key's expiry as a Unix time in milliseconds.
      pexpiretime|generic|7.0.0|readonly fast|keyspace|Returns a key's expiry as a Unix time in milliseconds.
      ping|connection|1.0.0|fast|connection|Returns PONG, or its argument.
      psetex|string|2.6.0|write denyoom|string|Sets a key with a time to live in milliseconds.
      pttl|generic|2.6.0|readonly fast|keyspace|Returns a key's time to live in milliseconds.
      quit|connection|1.0.0|noscript loading stale fast no_auth allow_busy|connection|Closes the connection.
      randomkey|generic|1.0.0|readonly|keyspace|Returns a random key.
      rename|generic|1.0.0|write|keyspace|Renames a key, replacing the target.
      renamenx|generic|1.0.0|write fast|keyspace|Renames a key only if the target does not exist.
      readonly|cluster|3.0.0|loading stale fast|connection|Allows reads from replicas on this connection.
      readwrite|cluster|3.0.0|loading stale fast|connection|Ends reads from replicas on this connection.
      reset|connection|6.2.0|noscript loading stale fast no_auth allow_busy|connection|Returns the connection to its initial state.
      respawn|server|0.1.0|||Container for Respawn's own commands.
      respawn|durability|server|0.1.0|noscript loading stale fast|connection|Returns or sets when this connection's writes are acknowledged.
      respawn|handover|server|0.1.0|admin noscript loading stale no_multi||Hands a shard's leadership to a caught-up member and answers once it leads.
      respawn|help|server|0.1.0|loading stale||Lists the RESPAWN subcommands.
      respawn|member|server|0.1.0|admin noscript loading stale no_multi||Lists the shard's members, or adds, promotes or removes one online, answering once committed.
      respawn|mirror|server|0.1.0|loading stale|connection|Returns or sets this connection's mirror acknowledgement; mirror status and promotion.
      respawn|status|server|0.1.0|loading stale||Describes the node: role, engine, keys, write counters.
      role|server|2.8.12|noscript loading stale fast|admin dangerous|Returns the replication role.
      scan|generic|2.8.0|readonly|keyspace|Iterates over the keys.
      select|connection|1.0.0|loading stale fast|connection|Selects the database (only 0 exists).
      set|string|1.0.0|write denyoom|string|Sets the value of a key, with options for expiry and conditions.
      setbit|bitmap|2.2.0|write denyoom|bitmap|Sets or clears one bit of a string.
      setex|string|2.0.0|write denyoom|string|Sets a key with a time to live in seconds.
      setnx|string|1.0.0|write denyoom fast|string|Sets a key only if it does not exist.
      setrange|string|2.2.0|write denyoom|string|Overwrites part of a key's value at an offset.
      shutdown|server|1.0.0|admin noscript loading stale no_multi allow_busy||Makes every write durable and stops the server.
      slowlog|server|2.2.12|||Container for slow log commands.
      slowlog|get|server|2.2.12|admin loading stale||Returns the slow log's newest entries.
      slowlog|help|server|6.2.0|loading stale||Lists the SLOWLOG subcommands.
      slowlog|len|server|2.2.12|admin loading stale||Returns the number of slow log entries.
      slowlog|reset|server|2.2.12|admin loading stale||Empties the slow log.
      strlen|string|2.2.0|readonly fast|string|Returns the length of a key's value.
      substr|string|1.0.0|readonly|string|Returns a substring of a key's value (old name of GETRANGE).
      time|server|2.6.0|loading stale fast||Returns the server's time.
      touch|generic|3.2.1|readonly fast|keyspace|Counts the given keys that exist and updates their access time.
      ttl|generic|1.0.0|readonly fast|keyspace|Returns a key's time to live in seconds.
      type|generic|1.0.0|readonly fast|keyspace|Returns the type of a key's value.
      unlink|generic|4.0.0|write fast|keyspace|Deletes keys.
      unwatch|transactions|2.2.0|noscript loading stale fast allow_busy|transaction|Forgets the watched keys.
      wait|generic|3.0.0|noscript|connection|Waits for replicas to acknowledge this connection's writes.
      waitaof|generic|7.2.0|blocking|connection|Waits until this connection's writes are durable.
      watch|transactions|2.2.0|noscript loading stale fast allow_busy|transaction|Watches keys: EXEC runs only if none of them changed.
      """;

  private static final Map<String, Doc> DOCS = parse(TABLE);

  private static Map<String, Doc> parse(String table) {
    Map<String, Doc> docs = new HashMap<>();
    for (String line : table.strip().split("\n")) {
      String[] f = line.strip().split("\\|", -1);
      // A subcommand's name has one '|' of its own: rejoin it.
      if (f.length == 7) {
        f = new String[] {f[0] + "|" + f[1], f[2], f[3], f[4], f[5], f[6]};
      }
      if (f.length != 6) {
        throw new IllegalStateException("bad command docs line: " + line);
      }
      Set<String> flags = words(f[3]);
      if (!FLAG_ORDER.containsAll(flags)) {
        throw new IllegalStateException("unknown flag in command docs line: " + line);
      }
      Set<String> categories = words(f[4]);
      if (!CATEGORY_ORDER.containsAll(categories)) {
        throw new IllegalStateException("unknown ACL category in command docs line: " + line);
      }
      Doc previous = docs.put(f[0], new Doc(f[1], f[2], flags, categories, f[5]));
      assert previous == null : "command documented twice: " + f[0];
    }
    return Collections.unmodifiableMap(docs);
  }

  private static Set<String> words(String s) {
    Set<String> out = new LinkedHashSet<>();
    for (String w : s.trim().split(" +")) {
      if (!w.isEmpty()) {
        out.add(w);
      }
    }
    return Collections.unmodifiableSet(out);
  }

  /** The documentation of {@code fullName}, or {@link Doc#UNKNOWN}. */
  static Doc of(String fullName) {
    return DOCS.getOrDefault(fullName, Doc.UNKNOWN);
  }

  /** The flags COMMAND shows for {@code spec}: documented ones plus its behaviour flags. */
  static List<String> flags(CommandSpec spec) {
    Set<String> all = new LinkedHashSet<>(spec.doc().flags());
    if (spec.has(CommandSpec.Flag.WRITE)) {
      all.add("write");
    }
    if (spec.has(CommandSpec.Flag.READONLY)) {
      all.add("readonly");
    }
    if (spec.has(CommandSpec.Flag.ADMIN)) {
      all.add("admin");
    }
    if (spec.has(CommandSpec.Flag.NO_AUTH)) {
      all.add("no_auth");
    }
    if (spec.has(CommandSpec.Flag.DENY_OOM)) {
      all.add("denyoom");
    }
    if (spec.has(CommandSpec.Flag.NO_MULTI)) {
      all.add("no_multi");
    }
    List<String> ordered = new ArrayList<>();
    for (String f : FLAG_ORDER) {
      if (all.contains(f)) {
        ordered.add(f);
      }
    }
    return ordered;
  }

  /** The ACL categories of {@code spec}, explicit and implicit, in Redis' order, without '@'. */
  static List<String> categories(CommandSpec spec) {
    List<String> flags = flags(spec);
    Set<String> all = new LinkedHashSet<>(spec.doc().categories());
    if (flags.contains("write")) {
      all.add("write");
    }
    if (flags.contains("readonly")) {
      all.add("read");
    }
    if (flags.contains("admin")) {
      all.add("admin");
      all.add("dangerous");
    }
    if (flags.contains("pubsub")) {
      all.add("pubsub");
    }
    if (flags.contains("blocking")) {
      all.add("blocking");
    }
    all.add(flags.contains("fast") ? "fast" : "slow");
    List<String> ordered = new ArrayList<>();
    for (String c : CATEGORY_ORDER) {
      if (all.contains(c)) {
        ordered.add(c);
      }
    }
    return ordered;
  }
}
