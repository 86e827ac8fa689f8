package io.respawn.server.command;

import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.List;

/**
 * Redis' slow log: the commands that took at least {@code slowerThanMicros} to execute, newest
 * first, at most {@code maxLength} of them. Each entry keeps at most {@value #ARGS_MAX} arguments
 * (the last one then says how many more there were) and at most {@value #ARG_BYTES_MAX} bytes of
 * each (followed by how many more there were), so one entry takes at most about 4.5 KiB.
 *
 * <p>Owned by the command thread.
 */
final class SlowLog {
  /** Arguments kept per entry, as Redis' SLOWLOG_ENTRY_MAX_ARGC. */
  static final int ARGS_MAX = 32;
  /** Bytes kept per argument, as Redis' SLOWLOG_ENTRY_MAX_STRING. */
  static final int ARG_BYTES_MAX = 128;
  /**
   * Most entries slowlog-max-len may ask for: bounds the log's memory to about 450 MiB even in
   * the worst case (Redis allows any long; 128 is the default).
   */
  static final long LENGTH_LIMIT = 100_000;

  /**
   * One logged command.
   *
   * @param id increasing from 0 since start (not reset by SLOWLOG RESET, as in Redis)
   * @param unixSeconds when it ran
   * @param micros how long it ran
   * @param args the trimmed arguments
   * @param clientAddress ip:port of the client
   * @param clientName the client's name, or ""
   */
  record Entry(long id, long unixSeconds, long micros, byte[][] args, String clientAddress,
      String clientName) {}

  private final ArrayDeque<Entry> entries = new ArrayDeque<>();
  private long nextId;
  /** Negative: off; 0: every command. Redis' slowlog-log-slower-than. */
  private long slowerThanMicros = 10_000;
  /** Redis' slowlog-max-len. */
  private long maxLength = 128;

  long slowerThanMicros() {
    return slowerThanMicros;
  }

  void slowerThanMicros(long micros) {
    slowerThanMicros = micros;
  }

  long maxLength() {
    return maxLength;
  }

  void maxLength(long length) {
    assert length >= 0 && length <= LENGTH_LIMIT : "slowlog-max-len out of range: " + length;
    maxLength = length;
    trim();
  }

  /** Whether a command that ran {@code micros} is logged: cheap, checked for every command. */
  boolean wants(long micros) {
    return slowerThanMicros >= 0 && micros >= slowerThanMicros;
  }

  void add(byte[][] args, long micros, long unixSeconds, String clientAddress, String clientName) {
    entries.addFirst(new Entry(nextId++, unixSeconds, micros, trimArgs(args), clientAddress,
        clientName));
    trim();
  }

  private void trim() {
    while (entries.size() > maxLength) {
      entries.removeLast();
    }
  }

  static byte[][] trimArgs(byte[][] args) {
    int kept = Math.min(args.length, ARGS_MAX);
    byte[][] out = new byte[kept][];
    for (int i = 0; i < kept; i++) {
      if (kept != args.length && i == kept - 1) {
        out[i] = Args.bytes("... (" + (args.length - kept + 1) + " more arguments)");
      } else if (args[i].length > ARG_BYTES_MAX) {
        byte[] head = Arrays.copyOf(args[i], ARG_BYTES_MAX);
        byte[] tail = Args.bytes("... (" + (args[i].length - ARG_BYTES_MAX) + " more bytes)");
        out[i] = Arrays.copyOf(head, head.length + tail.length);
        System.arraycopy(tail, 0, out[i], head.length, tail.length);
      } else {
        out[i] = args[i];
      }
    }
    return out;
  }

  /** The newest {@code count} entries, newest first. */
  List<Entry> newest(long count) {
    return entries.stream().limit(count).toList();
  }

  int length() {
    return entries.size();
  }

  void reset() {
    entries.clear();
  }
}
