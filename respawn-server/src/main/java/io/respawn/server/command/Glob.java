package io.respawn.server.command;

/**
 * Redis' glob matching (stringmatchlen) for SCAN MATCH, KEYS and CONFIG GET: {@code *}, {@code ?},
 * {@code [abc]}, {@code [^a]}, {@code [a-z]}, and {@code \} to escape.
 */
final class Glob {
  private Glob() {}

  static boolean matches(byte[] pattern, byte[] text) {
    return match(pattern, 0, text, 0, false, 0);
  }

  private static boolean match(byte[] p, int pi, byte[] s, int si, boolean nocase, int depth) {
    if (depth > 1000) {
      return false; // pathological pattern: refuse rather than recurse without bound
    }
    while (pi < p.length && si <= s.length) {
      byte c = p[pi];
      switch (c) {
        case '*' -> {
          while (pi + 1 < p.length && p[pi + 1] == '*') {
            pi++;
          }
          if (pi + 1 == p.length) {
            return true;
          }
          for (int k = si; k <= s.length; k++) {
            if (match(p, pi + 1, s, k, nocase, depth + 1)) {
              return true;
            }
          }
          return false;
        }
        case '?' -> {
          if (si >= s.length) {
            return false;
          }
          si++;
        }
        case '[' -> {
          if (si >= s.length) {
            return false;
          }
          pi++;
          boolean not = pi < p.length && p[pi] == '^';
          if (not) {
            pi++;
          }
          boolean matched = false;
          while (true) {
            if (pi >= p.length) {
              pi--; // unterminated class: treat like Redis (end of pattern)
              break;
            }
            if (p[pi] == '\\' && pi + 1 < p.length) {
              pi++;
              if (p[pi] == s[si]) {
                matched = true;
              }
            } else if (p[pi] == ']') {
              break;
            } else if (pi + 2 < p.length && p[pi + 1] == '-') {
              int start = p[pi] & 0xff;
              int end = p[pi + 2] & 0xff;
              if (start > end) {
                int t = start;
                start = end;
                end = t;
              }
              int ch = s[si] & 0xff;
              if (ch >= start && ch <= end) {
                matched = true;
              }
              pi += 2;
            } else if (p[pi] == s[si]) {
              matched = true;
            }
            pi++;
          }
          if (not) {
            matched = !matched;
          }
          if (!matched) {
            return false;
          }
          si++;
        }
        case '\\' -> {
          if (pi + 1 < p.length) {
            pi++;
          }
          if (si >= s.length || p[pi] != s[si]) {
            return false;
          }
          si++;
        }
        default -> {
          if (si >= s.length || !eq(c, s[si], nocase)) {
            return false;
          }
          si++;
        }
      }
      pi++;
    }
    return pi == p.length && si == s.length;
  }

  private static boolean eq(byte a, byte b, boolean nocase) {
    return a == b || (nocase && Character.toLowerCase(a) == Character.toLowerCase(b));
  }
}
