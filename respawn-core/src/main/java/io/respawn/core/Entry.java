package io.respawn.core;

import java.util.Objects;

/**
 * One log entry. Identity is (term, index): by the log matching property two entries with the
 * same (term, index) are the same entry, although one copy may be elided (a witness's).
 *
 * <ul>
 *   <li>{@link EntryKind#NORMAL}: {@code command} non-null, {@code membership} null.
 *   <li>{@link EntryKind#NOOP}: both null.
 *   <li>{@link EntryKind#CONFIG}: {@code membership} non-null, {@code command} null.
 * </ul>
 *
 * @param term the leader's term when it was created, {@code >= 1}
 * @param index position in the log, {@code >= 1}
 */
public record Entry(long term, long index, EntryKind kind, Command command, Membership membership) {
  public Entry {
    Objects.requireNonNull(kind, "kind");
    if (term < 1 || index < 1) {
      throw new IllegalArgumentException("term and index must be >= 1: " + term + "/" + index);
    }
    switch (kind) {
      case NORMAL -> {
        if (command == null || membership != null) {
          throw new IllegalArgumentException("NORMAL entry needs a command and no membership");
        }
      }
      case NOOP -> {
        if (command != null || membership != null) {
          throw new IllegalArgumentException("NOOP entry carries nothing");
        }
      }
      case CONFIG -> {
        if (command != null || membership == null) {
          throw new IllegalArgumentException("CONFIG entry needs a membership and no command");
        }
      }
      default -> throw new AssertionError(kind);
    }
  }

  public static Entry normal(long term, long index, Command command) {
    return new Entry(term, index, EntryKind.NORMAL, command, null);
  }

  public static Entry noop(long term, long index) {
    return new Entry(term, index, EntryKind.NOOP, null, null);
  }

  public static Entry config(long term, long index, Membership membership) {
    return new Entry(term, index, EntryKind.CONFIG, null, membership);
  }

  /** True for a NORMAL entry whose value was dropped (witness form). */
  public boolean isElided() {
    return command != null && command.isElided();
  }

  /** The witness form of this entry (identical unless NORMAL with data). */
  public Entry elide() {
    return isElided() || command == null ? this : new Entry(term, index, kind, command.elide(), null);
  }

  /** Same (term, index) and kind, ignoring elision. */
  public boolean sameId(Entry o) {
    return term == o.term && index == o.index && kind == o.kind;
  }

  @Override
  public String toString() {
    return "Entry[" + term + "/" + index + " " + kind
        + (command != null ? " " + command : "") + (membership != null ? " " + membership : "") + "]";
  }
}
