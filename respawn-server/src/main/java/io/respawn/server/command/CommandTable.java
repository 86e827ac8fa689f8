package io.respawn.server.command;

import io.respawn.server.command.CommandSpec.Flag;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Name → command. Built once at start-up, then only read (by the command thread).
 *
 * <p>Lookups by the request's name bytes go through a small open-addressing table hashed on the
 * ASCII-lower-cased bytes, so finding the command of a request allocates nothing.
 */
final class CommandTable {
  /** Slots of the byte-keyed table; at most half are filled. */
  private static final int SLOTS = 512;

  private final Map<String, CommandSpec> sorted = new TreeMap<>();
  private final CommandSpec[] slots = new CommandSpec[SLOTS];
  private final byte[][] slotNames = new byte[SLOTS][];
  private final java.util.Set<String> containers = new java.util.HashSet<>();

  void add(String name, int arity, int firstKey, int lastKey, int step,
      CommandSpec.Handler handler, Flag... flags) {
    CommandSpec spec = newSpec(name, arity, firstKey, lastKey, step, handler, flags);
    CommandSpec previous = sorted.put(name, spec);
    assert previous == null : "command registered twice: " + name;
    if (sorted.size() > SLOTS / 2) {
      throw new IllegalStateException("more than " + SLOTS / 2 + " commands: enlarge SLOTS");
    }
    byte[] folded = name.toLowerCase(java.util.Locale.ROOT).getBytes(StandardCharsets.US_ASCII);
    int i = foldedHash(folded) & (SLOTS - 1);
    while (slots[i] != null) {
      i = (i + 1) & (SLOTS - 1);
    }
    slots[i] = spec;
    slotNames[i] = folded;
  }

  private static int fold(byte b) {
    return b >= 'A' && b <= 'Z' ? b + ('a' - 'A') : b;
  }

  private static int foldedHash(byte[] name) {
    int h = 0;
    for (byte b : name) {
      h = 31 * h + fold(b);
    }
    return h ^ (h >>> 9);
  }

  /** {@code name} equals {@code folded} (lower case) ignoring ASCII case. */
  private static boolean equalsFolded(byte[] folded, byte[] name) {
    if (folded.length != name.length) {
      return false;
    }
    for (int i = 0; i < name.length; i++) {
      if (fold(name[i]) != folded[i]) {
        return false;
      }
    }
    return true;
  }

  void add(String name, int arity, CommandSpec.Handler handler, Flag... flags) {
    add(name, arity, 0, 0, 0, handler, flags);
  }

  private static CommandSpec newSpec(String name, int arity, int firstKey, int lastKey, int step,
      CommandSpec.Handler handler, Flag... flags) {
    EnumSet<Flag> set = EnumSet.noneOf(Flag.class);
    Collections.addAll(set, flags);
    return new CommandSpec(name, arity, set, firstKey, lastKey, step, handler,
        CommandDocs.of(name), new ArrayList<>());
  }

  /**
   * Registers a container command (CLIENT, CONFIG...): the dispatcher finds its subcommand by the
   * second argument. Called with no argument it runs {@code handler} (COMMAND), or, when that is
   * null, answers the arity error (Redis gives such containers arity -2).
   */
  void addContainer(String name, int arity, CommandSpec.Handler handler, Flag... flags) {
    add(name, arity, handler, flags);
    containers.add(name);
  }

  /**
   * Registers {@code sub} under the container {@code parent} (added before) with the full name
   * {@code parent|sub}; {@code arity} counts the container and subcommand names, as in Redis.
   */
  void addSubcommand(String parent, String sub, int arity, int firstKey, int lastKey, int step,
      CommandSpec.Handler handler, Flag... flags) {
    CommandSpec container = lookup(parent);
    if (container == null || !containers.contains(parent)) {
      throw new IllegalStateException(parent + " is not a registered container command");
    }
    String fullName = parent + "|" + sub;
    assert container.subcommand(sub.getBytes(StandardCharsets.US_ASCII)) == null
        : "subcommand registered twice: " + fullName;
    container.subcommands().add(newSpec(fullName, arity, firstKey, lastKey, step, handler, flags));
  }

  void addSubcommand(String parent, String sub, int arity, CommandSpec.Handler handler,
      Flag... flags) {
    addSubcommand(parent, sub, arity, 0, 0, 0, handler, flags);
  }

  /** Case-insensitive lookup; null if unknown. */
  CommandSpec lookup(byte[] name) {
    if (name.length > 32) {
      return null;
    }
    int i = foldedHash(name) & (SLOTS - 1);
    for (int probes = 0; probes < SLOTS && slots[i] != null; probes++, i = (i + 1) & (SLOTS - 1)) {
      if (equalsFolded(slotNames[i], name)) {
        return slots[i];
      }
    }
    return null;
  }

  CommandSpec lookup(String name) {
    return lookup(name.getBytes(StandardCharsets.ISO_8859_1));
  }

  /** The top-level commands (containers included, subcommands not), sorted by name. */
  Collection<CommandSpec> all() {
    return sorted.values();
  }

  /** Every command and every subcommand, sorted by full name. */
  List<CommandSpec> allWithSubcommands() {
    List<CommandSpec> out = new ArrayList<>();
    for (CommandSpec spec : sorted.values()) {
      out.add(spec);
      List<CommandSpec> subs = new ArrayList<>(spec.subcommands());
      subs.sort(Comparator.comparing(CommandSpec::name));
      out.addAll(subs);
    }
    return out;
  }

  /**
   * A command by name as COMMAND INFO and COMMAND DOCS take it: {@code get}, or a subcommand's
   * full name {@code client|kill}; null if unknown.
   */
  CommandSpec lookupFullName(String fullName) {
    int bar = fullName.indexOf('|');
    if (bar < 0) {
      return lookup(fullName);
    }
    CommandSpec container = lookup(fullName.substring(0, bar));
    if (container == null) {
      return null;
    }
    return container.subcommand(fullName.substring(bar + 1).getBytes(StandardCharsets.ISO_8859_1));
  }

  int size() {
    return sorted.size();
  }
}
