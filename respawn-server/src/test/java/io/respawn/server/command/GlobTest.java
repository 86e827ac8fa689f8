package io.respawn.server.command;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@link Glob} against a line-by-line model of Redis 7.0's recursive {@code stringmatchlen}
 * (seeded random patterns and texts over the bytes that matter), plus the work bound that keeps a
 * hostile pattern from stalling the command thread.
 */
class GlobTest {
  private static byte[] b(String s) {
    return s.getBytes(StandardCharsets.ISO_8859_1);
  }

  @Test
  void pathologicalPatternTakesWorkBoundedByPatternTimesText() {
    // Exponential for a naive backtracking matcher (seconds to minutes for 40 bytes).
    byte[] pattern = b("a*a*a*a*a*a*a*a*a*a*b");
    for (int length : new int[] {40, 400, 4000}) {
      byte[] text = b("a".repeat(length));
      assertThat(Glob.matches(pattern, text)).isFalse();
      long bound = (long) (text.length + 1) * (pattern.length + 1);
      assertThat(Glob.steps(pattern, text)).as("steps for %d bytes", length).isLessThanOrEqualTo(bound);
    }
    byte[] stars = b("*a".repeat(5000) + "b");
    byte[] text = b("a".repeat(65_536)); // the largest key
    assertThat(Glob.matches(stars, text)).isFalse();
    assertThat(Glob.steps(stars, text))
        .isLessThanOrEqualTo((long) (text.length + 1) * (stars.length + 1));
  }

  @Test
  void redisSyntax() {
    assertThat(m("*", "")).isTrue(); // KEYS * and SCAN MATCH * list an empty key
    assertThat(m("**", "")).isFalse(); // but Redis's matcher never matches an empty text
    assertThat(m("", "")).isTrue();
    assertThat(m("", "a")).isFalse();
    assertThat(m("*", "anything")).isTrue();
    assertThat(m("a*", "a")).isTrue();
    assertThat(m("a*b", "a")).isFalse();
    assertThat(m("[a-]", "]")).isTrue(); // a range from 'a' to ']', as in Redis
    assertThat(m("[a", "a")).isTrue(); // unterminated class ends with the pattern
    assertThat(m("[^", "x")).isTrue();
    assertThat(m("[", "x")).isFalse();
    assertThat(m("[]a]", "a")).isFalse(); // an empty class matches nothing
    assertThat(m("[z-a]", "q")).isTrue(); // reversed range
    assertThat(m("[\\]]", "]")).isTrue();
    assertThat(m("a\\", "a\\")).isTrue(); // a trailing backslash is itself
    assertThat(m("\\?", "?")).isTrue();
    assertThat(m("\\?", "x")).isFalse();
    assertThat(m("*\\*", "ab*")).isTrue();
    assertThat(Glob.matchesIgnoreCase(b("H[A-C]LLO"), b("hbllo"))).isTrue();
    assertThat(Glob.matchesIgnoreCase(b("[\\A]"), b("a"))).isFalse(); // escaped: with case
    byte[] high = {(byte) 0xc3, (byte) 0xbf};
    assertThat(Glob.matches(new byte[] {'[', (byte) 0x80, '-', (byte) 0xff, ']', '?'}, high))
        .as("bytes compare unsigned in ranges").isTrue();
  }

  @ParameterizedTest
  @ValueSource(longs = {1, 2, 3, 4, 5, 6, 7, 8})
  void agreesWithRedisRecursiveMatcher(long seed) {
    Random random = new Random(seed);
    String patternBytes = "ab*?[]^-\\";
    String textBytes = "ab]-^\\*A";
    for (int i = 0; i < 20_000; i++) {
      byte[] p = randomBytes(random, patternBytes, random.nextInt(9));
      byte[] s = randomBytes(random, textBytes, random.nextInt(9));
      boolean nocase = random.nextInt(4) == 0;
      boolean all = p.length == 1 && p[0] == '*'; // KEYS and SCAN skip the matcher for "*"
      boolean expected = all || RedisModel.stringmatchlen(p, s, nocase);
      boolean actual = nocase ? Glob.matchesIgnoreCase(p, s) : Glob.matches(p, s);
      assertThat(actual).as("seed %d: pattern '%s' text '%s' nocase %s", seed,
          new String(p, StandardCharsets.ISO_8859_1), new String(s, StandardCharsets.ISO_8859_1),
          nocase).isEqualTo(expected);
    }
  }

  private static byte[] randomBytes(Random random, String alphabet, int length) {
    byte[] out = new byte[length];
    for (int i = 0; i < length; i++) {
      out[i] = (byte) alphabet.charAt(random.nextInt(alphabet.length()));
    }
    return out;
  }

  private static boolean m(String pattern, String text) {
    return Glob.matches(b(pattern), b(text));
  }

  /**
   * Redis 7.0's {@code stringmatchlen_impl}, statement by statement, over arrays: reading past the
   * end yields 0 as C reads the string's terminator. Recursive and exponential without the
   * skip flag; fine for the short inputs above.
   */
  private static final class RedisModel {
    private final byte[] pattern;
    private final byte[] string;
    private final boolean nocase;
    private boolean skipLongerMatches;

    private RedisModel(byte[] pattern, byte[] string, boolean nocase) {
      this.pattern = pattern;
      this.string = string;
      this.nocase = nocase;
    }

    static boolean stringmatchlen(byte[] pattern, byte[] string, boolean nocase) {
      RedisModel m = new RedisModel(pattern, string, nocase);
      return m.impl(0, pattern.length, 0, string.length);
    }

    private int p(int i) {
      return i < pattern.length ? pattern[i] & 0xff : 0;
    }

    private int s(int i) {
      return i < string.length ? string[i] & 0xff : 0;
    }

    private static int lower(int c) {
      return c >= 'A' && c <= 'Z' ? c + 32 : c;
    }

    private boolean impl(int pat, int patternLen, int str, int stringLen) {
      while (patternLen > 0 && stringLen > 0) {
        switch (p(pat)) {
          case '*' -> {
            while (patternLen > 0 && p(pat + 1) == '*') {
              pat++;
              patternLen--;
            }
            if (patternLen == 1) {
              return true;
            }
            while (stringLen > 0) {
              if (impl(pat + 1, patternLen - 1, str, stringLen)) {
                return true;
              }
              if (skipLongerMatches) {
                return false;
              }
              str++;
              stringLen--;
            }
            skipLongerMatches = true;
            return false;
          }
          case '?' -> {
            str++;
            stringLen--;
          }
          case '[' -> {
            pat++;
            patternLen--;
            boolean not = p(pat) == '^';
            if (not) {
              pat++;
              patternLen--;
            }
            boolean match = false;
            while (true) {
              if (p(pat) == '\\' && patternLen >= 2) {
                pat++;
                patternLen--;
                if (p(pat) == s(str)) {
                  match = true;
                }
              } else if (p(pat) == ']') {
                break;
              } else if (patternLen == 0) {
                pat--;
                patternLen++;
                break;
              } else if (patternLen >= 3 && p(pat + 1) == '-') {
                int start = p(pat);
                int end = p(pat + 2);
                int c = s(str);
                if (start > end) {
                  int t = start;
                  start = end;
                  end = t;
                }
                if (nocase) {
                  start = lower(start);
                  end = lower(end);
                  c = lower(c);
                }
                pat += 2;
                patternLen -= 2;
                if (c >= start && c <= end) {
                  match = true;
                }
              } else if (!nocase ? p(pat) == s(str) : lower(p(pat)) == lower(s(str))) {
                match = true;
              }
              pat++;
              patternLen--;
            }
            if (not) {
              match = !match;
            }
            if (!match) {
              return false;
            }
            str++;
            stringLen--;
          }
          default -> {
            if (p(pat) == '\\' && patternLen >= 2) {
              pat++;
              patternLen--;
            }
            if (!nocase ? p(pat) != s(str) : lower(p(pat)) != lower(s(str))) {
              return false;
            }
            str++;
            stringLen--;
          }
        }
        pat++;
        patternLen--;
        if (stringLen == 0) {
          while (p(pat) == '*') {
            pat++;
            patternLen--;
          }
          break;
        }
      }
      return patternLen == 0 && stringLen == 0;
    }
  }
}
