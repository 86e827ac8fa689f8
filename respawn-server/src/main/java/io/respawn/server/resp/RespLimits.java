package io.respawn.server.resp;

/**
 * Limits on what one client may send or leave pending. Each is checked where the data arrives,
 * so a client over a limit gets a Redis-style error and no other client notices.
 *
 * @param bulkLengthMax largest bulk string (one argument) in bytes, like Redis'
 *     {@code proto-max-bulk-len}; matches the storage engine's value limit so an oversized value
 *     is refused before it is buffered
 * @param argCountMax most arguments in one command (the multibulk length)
 * @param inlineLengthMax longest inline command line in bytes (64 KiB in Redis)
 * @param requestBytesMax most bytes of arguments in one command
 * @param pipelineDepthMax commands of one connection handed to the command thread but not yet
 *     answered; above it the connection's reads pause until half of them are answered
 * @param outputPauseBytes reply bytes pending for one client (produced, not yet taken by its
 *     socket) above which the server executes none of its further requests and stops reading from
 *     it until its socket has taken them (back-pressure, see {@link ClientConnection}); the
 *     socket's own write buffer stays under half of it. Limits that disconnect are in {@link
 *     ClientBufferLimits}
 * @param clientsMax connections served at once; the next one gets an error and is closed
 */
public record RespLimits(
    int bulkLengthMax,
    int argCountMax,
    int inlineLengthMax,
    long requestBytesMax,
    int pipelineDepthMax,
    int outputPauseBytes,
    int clientsMax) {

  /** Redis' hard ceiling for one bulk string; netty-codec-redis refuses anything larger. */
  public static final int BULK_LENGTH_CEILING = 512 * 1024 * 1024;

  public static final RespLimits DEFAULTS =
      new RespLimits(
          64 * 1024 * 1024, 1024 * 1024, 64 * 1024, 128L * 1024 * 1024, 1024, 1024 * 1024,
          10_000);

  public RespLimits {
    requireRange("bulkLengthMax", bulkLengthMax, 1, BULK_LENGTH_CEILING);
    requireRange("argCountMax", argCountMax, 1, Integer.MAX_VALUE - 8);
    requireRange("inlineLengthMax", inlineLengthMax, 16, BULK_LENGTH_CEILING);
    requireRange("requestBytesMax", requestBytesMax, 1, Long.MAX_VALUE);
    requireRange("pipelineDepthMax", pipelineDepthMax, 1, 1 << 20);
    requireRange("outputPauseBytes", outputPauseBytes, 64 * 1024, Integer.MAX_VALUE);
    requireRange("clientsMax", clientsMax, 1, 1_000_000);
  }

  /** Largest write-buffer high-water mark of a client socket, whatever {@code outputPauseBytes}. */
  static final int SOCKET_BUFFER_HIGH_BYTES_MAX = 128 * 1024;

  /**
   * Bytes a client's socket write buffer (Netty's outbound buffer) may hold before the channel
   * turns unwritable and no more replies are encoded for it: at most half the pause threshold, so
   * a client whose encoded replies have all been taken is always below that threshold.
   */
  public int socketBufferHighBytes() {
    return Math.min(SOCKET_BUFFER_HIGH_BYTES_MAX, outputPauseBytes / 2);
  }

  /** The channel turns writable again once its write buffer is below this. */
  public int socketBufferLowBytes() {
    return socketBufferHighBytes() / 2;
  }

  public RespLimits withBulkLengthMax(int value) {
    return new RespLimits(
        value, argCountMax, inlineLengthMax, requestBytesMax, pipelineDepthMax, outputPauseBytes,
        clientsMax);
  }

  private static void requireRange(String name, long value, long min, long max) {
    if (value < min || value > max) {
      throw new IllegalArgumentException(
          name + " must be between " + min + " and " + max + ", got " + value);
    }
  }
}
