package io.respawn.server.command;

/** Counters for INFO. Written and read by the command thread only. */
final class ServerStats {
  final long startedAtMillis = System.currentTimeMillis();
  long commandsProcessed;
  long keyspaceHits;
  long keyspaceMisses;
  long expiredKeys;
  long writeBatches;
  /** Passes with DURABLE writes held open for the group-commit delay (CommandLoop). */
  long groupCommitsDelayed;
  /** Of those, passes that ended before the delay: the previous group's clients were all back. */
  long groupCommitsClosedEarly;
  long writeErrors;
  long protocolErrors;
  /** Commands refused with -OOM past --maxmemory. */
  long oomRefusals;
  String lastWriteError = "";
  /** Error replies sent, rejected commands included (INFO's total_error_replies). */
  long errorReplies;
  /** Error replies by their first word ({@code ERR}, {@code WRONGPASS}...), for errorstats. */
  final java.util.TreeMap<String, long[]> errorsByCode = new java.util.TreeMap<>();

  /** Distinct error codes counted; later new codes count only in {@link #errorReplies}. */
  static final int ERROR_CODES_MAX = 128;

  /** Counts one error reply with the full text {@code text} ("ERR syntax error"). */
  void countError(String text) {
    errorReplies++;
    int space = text.indexOf(' ');
    String code = space < 0 ? text : text.substring(0, space);
    long[] count = errorsByCode.get(code);
    if (count == null) {
      if (errorsByCode.size() >= ERROR_CODES_MAX) {
        return;
      }
      count = new long[1];
      errorsByCode.put(code, count);
    }
    count[0]++;
  }

  void reset() {
    commandsProcessed = 0;
    keyspaceHits = 0;
    keyspaceMisses = 0;
    expiredKeys = 0;
    writeBatches = 0;
    groupCommitsDelayed = 0;
    groupCommitsClosedEarly = 0;
    writeErrors = 0;
    protocolErrors = 0;
    oomRefusals = 0;
    errorReplies = 0;
    errorsByCode.clear();
  }
}
