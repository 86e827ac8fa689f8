package io.respawn.server.command;

/** Counters for INFO. Written and read by the command thread only. */
final class ServerStats {
  final long startedAtMillis = System.currentTimeMillis();
  long commandsProcessed;
  long keyspaceHits;
  long keyspaceMisses;
  long expiredKeys;
  long writeBatches;
  long writeErrors;
  long protocolErrors;
  /** Commands refused with -OOM past --maxmemory. */
  long oomRefusals;
  String lastWriteError = "";

  void reset() {
    commandsProcessed = 0;
    keyspaceHits = 0;
    keyspaceMisses = 0;
    expiredKeys = 0;
    writeBatches = 0;
    writeErrors = 0;
    protocolErrors = 0;
    oomRefusals = 0;
  }
}
