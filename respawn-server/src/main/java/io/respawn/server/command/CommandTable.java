package io.respawn.server.command;

import io.respawn.server.command.CommandSpec.Flag;
import java.util.Collection;
import java.util.Collections;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;

/** Name → command. Built once at start-up, then only read (by the command thread). */
final class CommandTable {
  private final Map<String, CommandSpec> byName = new HashMap<>();
  private final Map<String, CommandSpec> sorted = new TreeMap<>();

  void add(String name, int arity, int firstKey, int lastKey, int step,
      CommandSpec.Handler handler, Flag... flags) {
    EnumSet<Flag> set = EnumSet.noneOf(Flag.class);
    Collections.addAll(set, flags);
    CommandSpec spec = new CommandSpec(name, arity, set, firstKey, lastKey, step, handler);
    CommandSpec previous = byName.put(name, spec);
    assert previous == null : "command registered twice: " + name;
    sorted.put(name, spec);
  }

  void add(String name, int arity, CommandSpec.Handler handler, Flag... flags) {
    add(name, arity, 0, 0, 0, handler, flags);
  }

  /** Case-insensitive lookup; null if unknown. */
  CommandSpec lookup(byte[] name) {
    if (name.length > 32) {
      return null;
    }
    return byName.get(Args.lower(name));
  }

  CommandSpec lookup(String name) {
    return byName.get(name.toLowerCase(java.util.Locale.ROOT));
  }

  Collection<CommandSpec> all() {
    return sorted.values();
  }

  int size() {
    return byName.size();
  }
}
