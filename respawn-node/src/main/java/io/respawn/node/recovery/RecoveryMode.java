package io.respawn.node.recovery;

import java.util.Locale;

/**
 * How a member that takes over as primary (a witness, holding most keys only as timestamps)
 * gets the values it lacks from a backup (DESIGN §5.3 step 4 and §5.4); config key {@code
 * recovery}, {@code respawn up --recovery}.
 */
public enum RecoveryMode {
  /**
   * Serves at once: a command whose key's value is not here yet waits for a point pull of that
   * key (PriorityPull) while a background pull copies the rest. The default.
   */
  ONLINE("online"),
  /**
   * Copies every value before it serves anything (the baseline of DESIGN §5.4, as Redis loads its
   * RDB before it serves): until then data commands wait, then get {@code TRYAGAIN}.
   */
  OFFLINE("offline");

  private final String spelling;

  RecoveryMode(String spelling) {
    this.spelling = spelling;
  }

  /** As written in a config file and on the command line. */
  public String spelling() {
    return spelling;
  }

  /** Parses {@code online} or {@code offline} (any case, trimmed). */
  public static RecoveryMode parse(String text) {
    String t = text.trim().toLowerCase(Locale.ROOT);
    for (RecoveryMode m : values()) {
      if (m.spelling.equals(t)) {
        return m;
      }
    }
    throw new IllegalArgumentException("recovery: '" + text.trim()
        + "' is not online or offline");
  }
}
