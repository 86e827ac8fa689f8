package io.respawn.core;

/** What a log entry carries. The wire code of each constant is stable. */
public enum EntryKind {
  /** A state-machine {@link Command} (possibly with its value elided on witnesses). */
  NORMAL(1),
  /** Appended by a new leader in its term so that the adopted prefix commits. */
  NOOP(2),
  /** A new {@link Membership}; takes effect as soon as it is in the log, committed or not. */
  CONFIG(3);

  public final int code;

  EntryKind(int code) {
    this.code = code;
  }

  public static EntryKind fromCode(int code) {
    for (EntryKind k : values()) {
      if (k.code == code) {
        return k;
      }
    }
    throw new IllegalArgumentException("unknown entry kind code " + code);
  }
}
