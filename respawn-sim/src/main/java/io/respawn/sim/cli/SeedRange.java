package io.respawn.sim.cli;

/** Parses "FIRST..LAST" or a single seed. */
public final class SeedRange {

  private SeedRange() {}

  /** Returns {first, last}; throws IllegalArgumentException with the expected form. */
  public static long[] parse(String text) {
    String t = text.trim();
    int dots = t.indexOf("..");
    long first;
    long last;
    try {
      if (dots < 0) {
        first = Long.parseLong(t);
        last = first;
      } else {
        first = Long.parseLong(t.substring(0, dots));
        last = Long.parseLong(t.substring(dots + 2));
      }
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("seeds must be FIRST..LAST or one seed, got '" + text
          + "'");
    }
    if (last < first) {
      throw new IllegalArgumentException("seeds: LAST " + last + " is below FIRST " + first);
    }
    return new long[] {first, last};
  }
}
