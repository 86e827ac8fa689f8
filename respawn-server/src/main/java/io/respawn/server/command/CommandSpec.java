package io.respawn.server.command;

import io.netty.handler.codec.redis.RedisMessage;
import java.util.List;
import java.util.Set;

/**
 * One entry of the command table: a command, or a subcommand of a container command such as
 * CLIENT or CONFIG (then its name is the full name, {@code client|kill}, as Redis 7 reports it in
 * errors, COMMAND, CLIENT LIST and INFO commandstats).
 *
 * <p>Immutable after start-up except {@link #stats} and a container's subcommand list, which only
 * grows while the table is built.
 */
final class CommandSpec {
  /** Command semantics: returns the reply or throws {@link ReplyException}. */
  @FunctionalInterface
  interface Handler {
    RedisMessage run(Session session, byte[][] args);
  }

  enum Flag {
    /** Changes data. */
    WRITE,
    /** Only reads data. */
    READONLY,
    /** Allowed before AUTH when a password is set. */
    NO_AUTH,
    /** MULTI, EXEC, DISCARD, QUIT, RESET: run at once even inside MULTI. */
    TX_CONTROL,
    /** Refused inside MULTI (it would block or wait). */
    NO_MULTI,
    /** Reads the whole keyspace or waits for writes: pending writes are committed first. */
    WHOLE_KEYSPACE,
    /** Administrative: never shown to MONITOR. */
    ADMIN,
    /**
     * May grow memory (Redis's denyoom): refused with -OOM while the store uses more than the
     * memory limit. Every write command that can store new bytes carries it.
     */
    DENY_OOM
  }

  private final String name;
  private final int arity;
  private final Set<Flag> flags;
  private final int firstKey;
  private final int lastKey;
  private final int step;
  private final Handler handler;
  private final CommandDocs.Doc doc;
  private final List<CommandSpec> subcommands;
  private final CommandStats stats = new CommandStats();
  private final boolean fast;
  private final boolean shownToMonitors;
  private final boolean slowLogged;

  /**
   * @param name lower-case full name, as COMMAND and error messages show it
   * @param arity Redis convention: N = exactly N arguments including the name (and, for a
   *     subcommand, the subcommand), -N = at least N
   * @param flags behaviour flags
   * @param firstKey position of the first key argument (0 = none), for COMMAND
   * @param lastKey position of the last key (-1 = last argument)
   * @param step distance between keys
   * @param handler the semantics, run on the command thread; null for a container that does
   *     nothing without a subcommand
   * @param doc what COMMAND and COMMAND DOCS report
   * @param subcommands a container's subcommands, filled while the table is built
   */
  CommandSpec(String name, int arity, Set<Flag> flags, int firstKey, int lastKey, int step,
      Handler handler, CommandDocs.Doc doc, List<CommandSpec> subcommands) {
    this.name = name;
    this.arity = arity;
    this.flags = flags;
    this.firstKey = firstKey;
    this.lastKey = lastKey;
    this.step = step;
    this.handler = handler;
    this.doc = doc;
    this.subcommands = subcommands;
    this.fast = doc.flags().contains("fast");
    this.shownToMonitors = !flags.contains(Flag.ADMIN) && !doc.flags().contains("admin")
        && !doc.flags().contains("skip_monitor");
    this.slowLogged = !doc.flags().contains("skip_slowlog");
  }

  String name() {
    return name;
  }

  int arity() {
    return arity;
  }

  Set<Flag> flags() {
    return flags;
  }

  int firstKey() {
    return firstKey;
  }

  int lastKey() {
    return lastKey;
  }

  int step() {
    return step;
  }

  /**
   * The argument index of the last key of a call with {@code argCount} arguments (the command's
   * name included), capped to the last argument; below {@link #firstKey} when it has none.
   */
  int lastKeyIndex(int argCount) {
    int last = lastKey < 0 ? argCount + lastKey : lastKey;
    return Math.min(last, argCount - 1);
  }

  /** How many keys a call with {@code argCount} arguments (the name included) names. */
  int keyCount(int argCount) {
    if (firstKey <= 0) {
      return 0;
    }
    int last = lastKeyIndex(argCount);
    return last < firstKey ? 0 : (last - firstKey) / Math.max(1, step) + 1;
  }

  Handler handler() {
    return handler;
  }

  CommandDocs.Doc doc() {
    return doc;
  }

  /** A container's subcommands in registration order (empty for other commands). */
  List<CommandSpec> subcommands() {
    return subcommands;
  }

  CommandStats stats() {
    return stats;
  }

  /** Redis' "fast" flag: its latency events are {@code fast-command}. */
  boolean isFast() {
    return fast;
  }

  /** Whether MONITOR shows it (Redis hides admin commands). */
  boolean isShownToMonitors() {
    return shownToMonitors;
  }

  /** Whether the slow log may record it (not EXEC: its commands are logged one by one). */
  boolean isSlowLogged() {
    return slowLogged;
  }

  boolean arityOk(int argc) {
    return arity >= 0 ? argc == arity : argc >= -arity;
  }

  boolean has(Flag flag) {
    return flags.contains(flag);
  }

  boolean isContainer() {
    return !subcommands.isEmpty();
  }

  /** Whether it reads or writes keys (a MONITOR client may not run it). */
  boolean touchesKeys() {
    return flags.contains(Flag.WRITE) || flags.contains(Flag.READONLY);
  }

  /** The subcommand named {@code name} (any ASCII case), or null. */
  CommandSpec subcommand(byte[] subName) {
    int bar = name.length() + 1;
    for (int i = 0; i < subcommands.size(); i++) {
      CommandSpec sub = subcommands.get(i);
      if (equalsIgnoreCase(subName, sub.name, bar)) {
        return sub;
      }
    }
    return null;
  }

  /** {@code arg} equals {@code name} from {@code offset} on, ignoring ASCII case. */
  private static boolean equalsIgnoreCase(byte[] arg, String name, int offset) {
    if (arg.length != name.length() - offset) {
      return false;
    }
    for (int i = 0; i < arg.length; i++) {
      int c = arg[i];
      if (c >= 'A' && c <= 'Z') {
        c += 32;
      }
      if (c != name.charAt(offset + i)) {
        return false;
      }
    }
    return true;
  }

  @Override
  public String toString() {
    return name;
  }
}
