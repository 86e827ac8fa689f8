package io.respawn.server.command;

import io.netty.handler.codec.redis.SimpleStringRedisMessage;
import io.respawn.server.resp.Reply;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The clients in MONITOR mode and the feed they receive: after every executed command (not the
 * rejected ones, not admin commands, not the commands queued in MULTI until EXEC runs them) each
 * monitor gets one line as a status reply, exactly Redis' format:
 *
 * <pre>
 *   +1700000000.123456 [0 127.0.0.1:50312] "SET" "k" "v\r\n"
 * </pre>
 *
 * (Unix time with microseconds, database 0 and the client's address, then every argument quoted
 * with {@code \" \\ \n \r \t \a \b} and {@code \xHH} escapes for other unprintable bytes). AUTH and
 * HELLO passwords are shown as {@code (redacted)}.
 *
 * <p>Bound: a monitor that does not read its feed is disconnected once its unsent output passes
 * {@code outputBytesMax} (logged), like Redis' client-output-buffer-limit (the server passes
 * {@code --output-hard-bytes-max}; the connection itself also applies that and the soft limit).
 *
 * <p>Owned by the command thread.
 */
final class Monitors {
  private static final Logger log = LoggerFactory.getLogger(Monitors.class);

  private final List<Session> monitors = new ArrayList<>();
  /** Monitors whose outbox this class created during the current pass (see CommandLoop). */
  private final List<Session> fed = new ArrayList<>();
  private final long outputBytesMax;

  Monitors(long outputBytesMax) {
    this.outputBytesMax = outputBytesMax;
  }

  boolean isEmpty() {
    return monitors.isEmpty();
  }

  int size() {
    return monitors.size();
  }

  void add(Session s) {
    assert !s.monitor : "already a monitor";
    s.monitor = true;
    monitors.add(s);
  }

  void remove(Session s) {
    if (s.monitor) {
      s.monitor = false;
      monitors.remove(s);
    }
  }

  /** Sends the line for {@code args}, executed by {@code source}, to every monitor. */
  void feed(Session source, byte[][] args, long nowMicros, String sourceAddress) {
    String line = line(args, nowMicros, sourceAddress);
    for (int i = 0; i < monitors.size(); i++) {
      Session m = monitors.get(i);
      long pending = m.connection.outputBytesPending();
      if (pending > outputBytesMax) {
        log.warn("client {} closed: its MONITOR feed left {} bytes unsent (outputBytesMax {})",
            m.id(), pending, outputBytesMax);
        m.connection.close();
        monitors.remove(i--);
        m.monitor = false;
        continue;
      }
      Reply reply = Reply.unsolicited(new SimpleStringRedisMessage(line));
      if (m == source) {
        // Redis sends a monitor's own command after that command's reply, which is not queued
        // yet: it goes out with it (Session#addReply).
        if (m.ownFeed == null) {
          m.ownFeed = new ArrayList<>(1);
        }
        m.ownFeed.add(reply);
        continue;
      }
      if (m.outbox == null) {
        fed.add(m);
      }
      m.addReply(reply);
    }
  }

  /** The monitors fed in this pass whose outbox was empty before; clears the list. */
  List<Session> takeFed() {
    if (fed.isEmpty()) {
      return List.of();
    }
    List<Session> out = new ArrayList<>(fed);
    fed.clear();
    return out;
  }

  static String line(byte[][] args, long nowMicros, String sourceAddress) {
    StringBuilder sb = new StringBuilder(64);
    sb.append(nowMicros / 1_000_000).append('.');
    String micros = Long.toString(nowMicros % 1_000_000);
    sb.append("000000", 0, 6 - micros.length()).append(micros);
    sb.append(" [0 ").append(sourceAddress).append("]");
    byte[][] shown = redacted(args);
    for (byte[] arg : shown) {
      sb.append(' ');
      quote(arg, sb);
    }
    return sb.toString();
  }

  /** Redis' sdscatrepr: the argument in double quotes with C escapes. */
  static void quote(byte[] arg, StringBuilder sb) {
    sb.append('"');
    for (byte b : arg) {
      int c = b & 0xff;
      switch (c) {
        case '\\' -> sb.append("\\\\");
        case '"' -> sb.append("\\\"");
        case '\n' -> sb.append("\\n");
        case '\r' -> sb.append("\\r");
        case '\t' -> sb.append("\\t");
        case 7 -> sb.append("\\a");
        case '\b' -> sb.append("\\b");
        default -> {
          if (c >= 0x20 && c < 0x7f) {
            sb.append((char) c);
          } else {
            sb.append("\\x").append(Character.forDigit(c >> 4, 16))
                .append(Character.forDigit(c & 0xf, 16));
          }
        }
      }
    }
    sb.append('"');
  }

  private static final byte[] REDACTED = Args.bytes("(redacted)");

  /**
   * The arguments with secrets replaced, as Redis does for MONITOR and SLOWLOG: every argument
   * of AUTH, and the user and password after HELLO's AUTH.
   */
  static byte[][] redacted(byte[][] args) {
    if (Args.is(args[0], "AUTH")) {
      byte[][] out = args.clone();
      for (int i = 1; i < out.length; i++) {
        out[i] = REDACTED;
      }
      return out;
    }
    if (Args.is(args[0], "HELLO")) {
      byte[][] out = null;
      for (int i = 2; i + 2 < args.length; i++) {
        if (Args.is(args[i], "AUTH")) {
          out = out == null ? args.clone() : out;
          out[i + 1] = REDACTED;
          out[i + 2] = REDACTED;
          i += 2;
        }
      }
      return out == null ? args : out;
    }
    return args;
  }
}
