package io.respawn.server.command;

import java.nio.charset.StandardCharsets;

/** Parsing helpers for command arguments, with Redis' error texts. */
final class Args {
  private Args() {}

  static final String NOT_INTEGER = "ERR value is not an integer or out of range";

  /** Redis' string2ll: optional '-', digits, no '+', no spaces, no leading zeros, fits a long. */
  static boolean isLong(byte[] b) {
    return parseLongOrNull(b) != null;
  }

  static long parseLong(byte[] b) {
    Long v = parseLongOrNull(b);
    if (v == null) {
      throw new ReplyException(NOT_INTEGER);
    }
    return v;
  }

  static Long parseLongOrNull(byte[] b) {
    int n = b.length;
    if (n == 0 || n > 20) {
      return null;
    }
    if (n == 1 && b[0] == '0') {
      return 0L;
    }
    int i = 0;
    boolean negative = false;
    if (b[0] == '-') {
      negative = true;
      i = 1;
      if (n == 1) {
        return null;
      }
    }
    if (b[i] < '1' || b[i] > '9') {
      return null;
    }
    long v = 0; // accumulated negatively so Long.MIN_VALUE fits
    for (; i < n; i++) {
      int d = b[i] - '0';
      if (d < 0 || d > 9) {
        return null;
      }
      if (v < (Long.MIN_VALUE + d) / 10) {
        return null;
      }
      v = v * 10 - d;
    }
    if (!negative) {
      if (v == Long.MIN_VALUE) {
        return null;
      }
      return -v;
    }
    return v;
  }

  static boolean is(byte[] arg, String upperName) {
    if (arg.length != upperName.length()) {
      return false;
    }
    for (int i = 0; i < arg.length; i++) {
      int c = arg[i];
      if (c >= 'a' && c <= 'z') {
        c -= 32;
      }
      if (c != upperName.charAt(i)) {
        return false;
      }
    }
    return true;
  }

  static String text(byte[] b) {
    return new String(b, StandardCharsets.UTF_8);
  }

  static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  static byte[] bytes(long v) {
    return Long.toString(v).getBytes(StandardCharsets.US_ASCII);
  }

  static String lower(byte[] b) {
    char[] c = new char[b.length];
    for (int i = 0; i < b.length; i++) {
      int ch = b[i] & 0xff;
      c[i] = (ch >= 'A' && ch <= 'Z') ? (char) (ch + 32) : (char) ch;
    }
    return new String(c);
  }
}
