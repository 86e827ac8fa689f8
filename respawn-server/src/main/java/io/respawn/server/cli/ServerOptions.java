package io.respawn.server.cli;

import io.respawn.server.ServerConfig;
import io.respawn.server.resp.ClientBufferLimits;
import io.respawn.server.resp.RespLimits;
import io.respawn.storage.Durability;
import io.respawn.storage.LogFormat;
import io.respawn.storage.StorageConfig;
import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

/** The flags of {@code respawn up} and {@code respawn server}, and their validation. */
final class ServerOptions {
  /**
   * Largest {@code --request-bytes-max}: the writes of one command, with the rest of the command
   * thread's pass, must fit the engine's batch limit (1.5 GiB by default).
   */
  static final long REQUEST_BYTES_CEILING = 1L << 30;

  @Option(names = "--port", defaultValue = "7379", description = "TCP port for RESP (default: ${DEFAULT-VALUE}).")
  int port;

  @Option(names = "--bind", defaultValue = "127.0.0.1", description = "Address to listen on (default: ${DEFAULT-VALUE}).")
  String bind;

  @Option(names = "--data", defaultValue = "./data", description = "Data directory, created if absent (default: ${DEFAULT-VALUE}).")
  String data;

  @Option(names = "--durability", defaultValue = "ORDERED",
      description = "When writes are acknowledged by default: ORDERED (in the log, in order) or DURABLE (fsynced). Default: ${DEFAULT-VALUE}.")
  Durability durability;

  @Option(names = "--disk-reserve-bytes", converter = SizeConverter.class, defaultValue = "64m",
      description = "Space kept back on the data directory's disk so that DEL, UNLINK, FLUSHALL, expiry and compaction still work when it is full; 0 keeps nothing back; at most 16g (default: ${DEFAULT-VALUE}).")
  long diskReserveBytes;

  /** What to do when recovery finds corruption that is not a torn write. */
  enum OnCorruption {
    /** Refuse to start, naming the segment and offset (the default). */
    REFUSE,
    /** Cut the log at the corruption and delete later segments, losing what they held. */
    TRUNCATE
  }

  @Option(names = "--on-corruption", defaultValue = "REFUSE",
      description = "When the log is corrupt (damaged flushed data, not a write torn by a crash): REFUSE to start, naming the segment and offset, or TRUNCATE the log there and drop everything after it (loses those writes). Default: ${DEFAULT-VALUE}.")
  OnCorruption onCorruption;

  @Option(names = "--requirepass", description = "Password clients must AUTH with.")
  String requirePass;

  @Option(names = "--flush-interval-ms", defaultValue = "100",
      description = "Longest time an ORDERED write stays volatile, in ms (default: ${DEFAULT-VALUE}).")
  long flushIntervalMillis;

  @Option(names = "--compaction-interval-ms", defaultValue = "10000",
      description = "How often the background compactor checks whether rewriting the sealed log segments is worth it, in ms; 0 turns background compaction off, like Redis's auto-aof-rewrite-percentage 0 (default: ${DEFAULT-VALUE}).")
  long compactionIntervalMillis;

  @Option(names = "--compaction-garbage-ratio", defaultValue = "0.5",
      description = "Compact once at least this fraction of the sealed segments' bytes is overwritten or deleted data, between 0 and 1 exclusive (default: ${DEFAULT-VALUE}).")
  double compactionGarbageRatio;

  @Option(names = "--bulk-length-max", converter = SizeConverter.class, defaultValue = "512m",
      description = "Largest argument in bytes, like Redis's proto-max-bulk-len; k/m/g suffixes allowed, at most 512m (default: ${DEFAULT-VALUE}).")
  long bulkLengthMax;

  @Option(names = "--value-bytes-max", converter = SizeConverter.class, defaultValue = "512m",
      description = "Largest stored value in bytes (SET, APPEND...); at most 1g (default: ${DEFAULT-VALUE}). A value larger than a log segment gets a segment of its own.")
  long valueBytesMax;

  @Option(names = "--arg-count-max", defaultValue = "1048576", description = "Most arguments in one command (default: ${DEFAULT-VALUE}).")
  int argCountMax;

  @Option(names = "--inline-length-max", converter = SizeConverter.class, defaultValue = "64k",
      description = "Longest inline command line (default: ${DEFAULT-VALUE}).")
  long inlineLengthMax;

  @Option(names = "--request-bytes-max", converter = SizeConverter.class, defaultValue = "1g",
      description = "Most argument bytes in one command, like Redis's client-query-buffer-limit; at least --bulk-length-max, at most 1g (default: ${DEFAULT-VALUE}).")
  long requestBytesMax;

  @Option(names = "--pipeline-depth-max", defaultValue = "1024",
      description = "Unanswered commands per connection before its reads pause (default: ${DEFAULT-VALUE}).")
  int pipelineDepthMax;

  @Option(names = {"--output-pause-bytes", "--output-bytes-max"}, converter = SizeConverter.class,
      defaultValue = "1m",
      description = "Reply bytes pending for one client (not yet taken by its socket) at which its further commands wait and its reads pause until it reads them: back-pressure, nothing is dropped; --output-bytes-max is the old name (default: ${DEFAULT-VALUE}).")
  long outputPauseBytes;

  @Option(names = "--output-hard-bytes-max", converter = SizeConverter.class, defaultValue = "1g",
      description = "A client whose pending reply bytes exceed this is disconnected (and logged); 0 = no limit. Like the first figure of Redis's client-output-buffer-limit (default: ${DEFAULT-VALUE}).")
  long outputHardBytesMax;

  @Option(names = "--output-soft-bytes-max", converter = SizeConverter.class, defaultValue = "256m",
      description = "A client whose pending reply bytes stay above this for --output-soft-seconds is disconnected (and logged); 0 = no limit (default: ${DEFAULT-VALUE}).")
  long outputSoftBytesMax;

  @Option(names = "--output-soft-seconds", defaultValue = "60",
      description = "How long a client may stay above --output-soft-bytes-max (default: ${DEFAULT-VALUE}).")
  long outputSoftSeconds;

  @Option(names = "--clients-buffer-bytes-max", converter = SizeConverter.class, defaultValue = "2g",
      description = "Pending input and output of all clients together; past it the client holding the most is disconnected (and logged), then the next; 0 = no limit. Like Redis's maxmemory-clients (default: ${DEFAULT-VALUE}).")
  long clientsBufferBytesMax;

  @Option(names = {"--maxclients", "--clients-max"}, defaultValue = "10000",
      description = "Connections served at once (default: ${DEFAULT-VALUE}).")
  int clientsMax;

  @Option(names = "--io-threads", defaultValue = "1",
      description = "Netty I/O threads; commands run on one thread regardless (default: ${DEFAULT-VALUE}).")
  int ioThreads;

  @Option(names = "--maxmemory", converter = SizeConverter.class,
      description = "Memory limit in bytes for the stored keys, values and their index (k/m/g suffixes): past it, commands that may grow memory (SET, INCR, APPEND, MSET, ...) get Redis's -OOM error; reads, DEL and FLUSHALL still work. 0 = no limit. Default: half of this machine's (or container's) memory.")
  Long memoryBytesMax;

  @Option(names = "--log-level", defaultValue = "INFO",
      description = "TRACE, DEBUG, INFO, WARN or ERROR (default: ${DEFAULT-VALUE}).")
  String logLevel;

  /** Validates every flag; a bad one becomes a ParameterException (usage error, exit code 2). */
  ServerConfig toConfig(CommandSpec spec) {
    if (port < 1 || port > 65535) {
      throw bad(spec, "--port must be between 1 and 65535, got " + port);
    }
    try {
      InetAddress.getByName(bind);
    } catch (UnknownHostException e) {
      throw bad(spec, "--bind " + bind + " is not a known address");
    }
    if (!java.util.Set.of("TRACE", "DEBUG", "INFO", "WARN", "ERROR")
        .contains(logLevel.toUpperCase(java.util.Locale.ROOT))) {
      throw bad(spec, "--log-level must be TRACE, DEBUG, INFO, WARN or ERROR, got " + logLevel);
    }
    if (flushIntervalMillis < 1 || flushIntervalMillis > 60_000) {
      throw bad(spec, "--flush-interval-ms must be between 1 and 60000, got " + flushIntervalMillis);
    }
    if (compactionIntervalMillis < 0 || compactionIntervalMillis > 86_400_000L) {
      throw bad(spec, "--compaction-interval-ms must be between 0 (off) and 86400000, got "
          + compactionIntervalMillis);
    }
    if (!(compactionGarbageRatio > 0.0 && compactionGarbageRatio < 1.0)) {
      throw bad(spec, "--compaction-garbage-ratio must be above 0 and below 1, got "
          + compactionGarbageRatio);
    }
    Path dir = Path.of(data);
    try {
      Files.createDirectories(dir);
    } catch (IOException | SecurityException e) {
      throw bad(spec, "--data " + data + " cannot be created: " + e.getMessage());
    }
    if (!Files.isDirectory(dir) || !Files.isWritable(dir)) {
      throw bad(spec, "--data " + data + " is not a writable directory");
    }
    if (valueBytesMax > LogFormat.VALUE_BYTES_LIMIT) {
      throw bad(spec, "--value-bytes-max " + valueBytesMax + " is above the log format's limit "
          + LogFormat.VALUE_BYTES_LIMIT + " (1g)");
    }
    if (requestBytesMax > REQUEST_BYTES_CEILING) {
      throw bad(spec, "--request-bytes-max " + requestBytesMax + " is above " + REQUEST_BYTES_CEILING
          + " (1g): one command's writes must fit one log batch");
    }
    if (bulkLengthMax > requestBytesMax) {
      throw bad(spec, "--bulk-length-max " + bulkLengthMax + " is above --request-bytes-max "
          + requestBytesMax + ": an argument that long could never arrive");
    }
    RespLimits limits;
    try {
      limits = new RespLimits(intSize("--bulk-length-max", bulkLengthMax, spec), argCountMax,
          intSize("--inline-length-max", inlineLengthMax, spec), requestBytesMax,
          pipelineDepthMax, intSize("--output-pause-bytes", outputPauseBytes, spec), clientsMax);
      ClientBufferLimits clientBuffers = clientBufferLimits(spec);
      StorageConfig defaults = StorageConfig.defaults();
      StorageConfig storage = defaults.withSizes(defaults.segmentBytesMax(),
              defaults.batchBytesMax(), defaults.keyBytesMax(), (int) valueBytesMax)
          .withFlushIntervalMillis(flushIntervalMillis)
          .withTruncateCorruptLog(onCorruption == OnCorruption.TRUNCATE)
          .withDiskReserveBytes(diskReserveBytes)
          .withCompaction(compactionIntervalMillis, compactionGarbageRatio,
              defaults.compactionBytesMin());
      return new ServerConfig(bind, port, dir, durability, requirePass, limits, clientBuffers,
          ioThreads, storage, memoryBytesMax != null ? memoryBytesMax : defaultMemoryBytesMax());
    } catch (IllegalArgumentException e) {
      throw bad(spec, e.getMessage());
    }
  }

  /**
   * The default {@code --maxmemory}: half of the physical memory (the container's limit where there
   * is one), leaving the other half to the JVM's heap, the log's page cache and the rest of the
   * machine.
   */
  static long defaultMemoryBytesMax() {
    var os = java.lang.management.ManagementFactory.getOperatingSystemMXBean();
    if (os instanceof com.sun.management.OperatingSystemMXBean hotspot) {
      long total = hotspot.getTotalMemorySize();
      if (total > 0) {
        return total / 2;
      }
    }
    return 0; // unknown: no limit, as Redis
  }

  /** The output and all-clients limits; each must leave room for back-pressure to act first. */
  private ClientBufferLimits clientBufferLimits(CommandSpec spec) {
    if (outputSoftBytesMax > 0 && outputHardBytesMax > 0 && outputSoftBytesMax > outputHardBytesMax) {
      throw bad(spec, "--output-soft-bytes-max " + outputSoftBytesMax
          + " must not exceed --output-hard-bytes-max " + outputHardBytesMax);
    }
    requireAbovePause(spec, "--output-hard-bytes-max", outputHardBytesMax);
    requireAbovePause(spec, "--output-soft-bytes-max", outputSoftBytesMax);
    requireAbovePause(spec, "--clients-buffer-bytes-max", clientsBufferBytesMax);
    if (outputSoftSeconds < 0 || outputSoftSeconds > 86_400) {
      throw bad(spec, "--output-soft-seconds must be between 0 and 86400, got " + outputSoftSeconds);
    }
    return new ClientBufferLimits(
        outputHardBytesMax, outputSoftBytesMax, outputSoftSeconds, clientsBufferBytesMax);
  }

  private void requireAbovePause(CommandSpec spec, String flag, long value) {
    if (value != 0 && value < 2 * outputPauseBytes) {
      throw bad(spec, flag + " " + value + " must be 0 (no limit) or at least twice"
          + " --output-pause-bytes (" + 2 * outputPauseBytes + ")");
    }
  }

  private static int intSize(String flag, long value, CommandSpec spec) {
    if (value > Integer.MAX_VALUE) {
      throw bad(spec, flag + " " + value + " is too large");
    }
    return (int) value;
  }

  private static ParameterException bad(CommandSpec spec, String message) {
    return new ParameterException(spec.commandLine(), message);
  }
}
