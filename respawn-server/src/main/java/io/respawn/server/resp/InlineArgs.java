package io.respawn.server.resp;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Splits an inline command line ({@code SET "a b" 'c'}) into arguments the way Redis'
 * {@code sdssplitargs} does: blanks separate arguments; double quotes allow {@code \n \r \t \b \a
 * \\ \" \xHH} escapes; single quotes allow only {@code \'}; a closing quote must be followed by a
 * blank or the end of the line.
 */
public final class InlineArgs {
  private InlineArgs() {}

  /** The arguments, or throws {@link RespProtocolException} on unbalanced quotes. */
  public static byte[][] split(String line) {
    List<byte[]> out = new ArrayList<>();
    int i = 0;
    int n = line.length();
    while (true) {
      while (i < n && isBlank(line.charAt(i))) {
        i++;
      }
      if (i >= n) {
        return out.toArray(new byte[0][]);
      }
      StringBuilder current = new StringBuilder();
      boolean inDouble = false;
      boolean inSingle = false;
      boolean done = false;
      while (!done) {
        if (inDouble) {
          if (i >= n) {
            throw new RespProtocolException("unbalanced quotes in request");
          }
          char c = line.charAt(i);
          if (c == '\\' && i + 3 < n && line.charAt(i + 1) == 'x'
              && isHex(line.charAt(i + 2)) && isHex(line.charAt(i + 3))) {
            current.append((char) Integer.parseInt(line.substring(i + 2, i + 4), 16));
            i += 3;
          } else if (c == '\\' && i + 1 < n) {
            i++;
            char e = line.charAt(i);
            switch (e) {
              case 'n' -> current.append('\n');
              case 'r' -> current.append('\r');
              case 't' -> current.append('\t');
              case 'b' -> current.append('\b');
              case 'a' -> current.append((char) 7);
              default -> current.append(e);
            }
          } else if (c == '"') {
            if (i + 1 < n && !isBlank(line.charAt(i + 1))) {
              throw new RespProtocolException("unbalanced quotes in request");
            }
            done = true;
          } else {
            current.append(c);
          }
        } else if (inSingle) {
          if (i >= n) {
            throw new RespProtocolException("unbalanced quotes in request");
          }
          char c = line.charAt(i);
          if (c == '\\' && i + 1 < n && line.charAt(i + 1) == '\'') {
            i++;
            current.append('\'');
          } else if (c == '\'') {
            if (i + 1 < n && !isBlank(line.charAt(i + 1))) {
              throw new RespProtocolException("unbalanced quotes in request");
            }
            done = true;
          } else {
            current.append(c);
          }
        } else {
          if (i >= n) {
            done = true;
            break;
          }
          char c = line.charAt(i);
          if (isBlank(c)) {
            done = true;
          } else if (c == '"') {
            inDouble = true;
          } else if (c == '\'') {
            inSingle = true;
          } else {
            current.append(c);
          }
        }
        if (i < n) {
          i++;
        }
      }
      out.add(toBytes(current));
    }
  }

  /** Escaped chars \xHH are bytes; everything else is the line's UTF-8 text. */
  private static byte[] toBytes(StringBuilder s) {
    boolean latin = true;
    for (int k = 0; k < s.length(); k++) {
      if (s.charAt(k) > 0x7f) {
        latin = false;
        break;
      }
    }
    return s.toString().getBytes(latin ? StandardCharsets.ISO_8859_1 : StandardCharsets.UTF_8);
  }

  private static boolean isBlank(char c) {
    return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f' || c == 0x0b || c == 0;
  }

  private static boolean isHex(char c) {
    return Character.digit(c, 16) >= 0;
  }
}
