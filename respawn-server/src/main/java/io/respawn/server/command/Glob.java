package io.respawn.server.command;

/**
 * Redis's glob matching (its {@code stringmatchlen}) for KEYS, SCAN MATCH and CONFIG GET, in
 * time bounded by O(pattern × text) whatever the pattern: a hostile pattern such as
 * {@code a*a*a*a*a*a*a*a*a*a*b} cannot stall the command thread.
 *
 * <p>Syntax, as in Redis: {@code *} any run of bytes, {@code ?} one byte, {@code [abc]} one of
 * the listed bytes, {@code [^abc]} any other byte, {@code [a-z]} a range (ends in either order),
 * {@code \x} the byte {@code x} literally (also inside brackets). An unterminated bracket ends
 * with the pattern ({@code [a} is {@code [a]}); a {@code -} whose range end is missing is read
 * as in Redis ({@code [a-]} is the range from {@code a} to {@code ]}). A trailing lone
 * {@code \} matches a backslash. Every element other than {@code *} consumes exactly one byte.
 * One quirk is kept on purpose: as in Redis's KEYS and SCAN, an <b>empty text matches only the
 * patterns {@code ""} and {@code *}</b> ({@code **} or {@code a*} do not match the empty key):
 * Redis's matcher never matches an empty text, and its commands answer the pattern {@code *}
 * without calling it.
 *
 * <p>Algorithm: the classic single-backtrack-point wildcard matcher. On {@code *} it remembers
 * where the star is and lets it match nothing; when a later element fails it goes back to the
 * last star only, which now swallows one more byte. Only the last star ever needs to move: any
 * match that a longer earlier star would allow is also reachable by moving the last one. Each
 * backtrack advances the star's text position, so the work is at most (text length + 1) passes
 * over the pattern. Redis's recursive matcher gets the same bound from its "skip longer
 * matches" flag; both accept the same language.
 */
public final class Glob {
  private Glob() {}

  /** The whole text matches the pattern (case-sensitive). */
  public static boolean matches(byte[] pattern, byte[] text) {
    return (run(pattern, text, false) & 1) == 1;
  }

  /** The whole text matches the pattern, ASCII letters compared without case. */
  static boolean matchesIgnoreCase(byte[] pattern, byte[] text) {
    return (run(pattern, text, true) & 1) == 1;
  }

  /**
   * Pattern elements examined to decide {@link #matches}: the work bound the class comment
   * promises, exposed so a test can check it without timing anything.
   */
  static long steps(byte[] pattern, byte[] text) {
    return run(pattern, text, false) >>> 1;
  }

  /** Returns {@code steps << 1 | matched}. */
  private static long run(byte[] p, byte[] s, boolean nocase) {
    if (s.length == 0) {
      // Redis's matcher never enters its loop for an empty text; KEYS and SCAN answer the
      // pattern "*" without calling it.
      return p.length == 0 || (p.length == 1 && p[0] == '*') ? 1 : 0;
    }
    long steps = 0;
    int pi = 0;
    int si = 0;
    int starPi = -1; // pattern index just after the last star seen
    int starSi = 0; // text index the last star's match currently ends at
    while (si < s.length) {
      steps++;
      if (pi < p.length && p[pi] == '*') {
        while (pi < p.length && p[pi] == '*') {
          pi++;
        }
        if (pi == p.length) {
          return steps << 1 | 1; // a trailing star swallows the rest
        }
        starPi = pi;
        starSi = si;
        continue;
      }
      int next = pi < p.length ? matchOne(p, pi, s[si], nocase) : -1;
      if (next >= 0) {
        pi = next;
        si++;
        continue;
      }
      if (starPi < 0) {
        return steps << 1;
      }
      pi = starPi; // let the last star swallow one more byte
      si = ++starSi;
    }
    while (pi < p.length && p[pi] == '*') {
      pi++;
    }
    return steps << 1 | (pi == p.length ? 1 : 0);
  }

  /**
   * Matches the single element starting at {@code p[pi]} (not a star) against {@code c}. Returns
   * the index after the element, or -1 if {@code c} does not match it.
   */
  private static int matchOne(byte[] p, int pi, byte c, boolean nocase) {
    switch (p[pi]) {
      case '?' -> {
        return pi + 1;
      }
      case '[' -> {
        return matchClass(p, pi + 1, c, nocase);
      }
      case '\\' -> {
        int at = pi + 1 < p.length ? pi + 1 : pi; // a trailing '\' is itself
        return eq(p[at], c, nocase) ? at + 1 : -1;
      }
      default -> {
        return eq(p[pi], c, nocase) ? pi + 1 : -1;
      }
    }
  }

  /** A bracket class whose body starts at {@code pi}; returns the index after {@code ]}. */
  private static int matchClass(byte[] p, int pi, byte c, boolean nocase) {
    boolean not = pi < p.length && p[pi] == '^';
    if (not) {
      pi++;
    }
    boolean match = false;
    while (pi < p.length && p[pi] != ']') {
      if (p[pi] == '\\' && pi + 1 < p.length) {
        pi++;
        if (p[pi] == c) { // Redis compares escaped class bytes with case
          match = true;
        }
      } else if (pi + 2 < p.length && p[pi + 1] == '-') {
        int start = p[pi] & 0xff;
        int end = p[pi + 2] & 0xff;
        int ch = c & 0xff;
        if (start > end) {
          int t = start;
          start = end;
          end = t;
        }
        if (nocase) {
          start = lower(start);
          end = lower(end);
          ch = lower(ch);
        }
        if (ch >= start && ch <= end) {
          match = true;
        }
        pi += 2;
      } else if (eq(p[pi], c, nocase)) {
        match = true;
      }
      pi++;
    }
    // pi is at ']' or at the end (an unterminated class ends with the pattern)
    return match != not ? Math.min(pi + 1, p.length) : -1;
  }

  private static boolean eq(byte a, byte b, boolean nocase) {
    return a == b || (nocase && lower(a & 0xff) == lower(b & 0xff));
  }

  /** C's tolower in the "C" locale: ASCII letters only. */
  private static int lower(int c) {
    return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
  }
}
