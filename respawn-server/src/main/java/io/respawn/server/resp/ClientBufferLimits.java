package io.respawn.server.resp;

/**
 * How much memory clients' pending input and output may hold, like Redis' {@code
 * client-output-buffer-limit normal} and {@code maxmemory-clients}. A client's <em>output</em> is
 * the encoded size of the replies produced for it and not yet taken by its socket; its
 * <em>input</em> is the bytes it sent that are buffered or decoded but not yet executed. Below
 * these limits a client is slowed down, never cut off: its further requests wait while its output
 * is above {@link RespLimits#outputPauseBytes()} (back-pressure). The limits here end connections.
 *
 * @param outputHardBytesMax a client whose output exceeds this is disconnected at once (0: no
 *     limit); must admit the largest single reply expected, such as a GET of the largest value
 * @param outputSoftBytesMax a client whose output stays above this for {@code outputSoftSeconds}
 *     is disconnected (0: no limit)
 * @param outputSoftSeconds how long a client may stay above {@code outputSoftBytesMax}
 * @param clientsBufferBytesMax all clients' input and output together; past it the client holding
 *     the most is disconnected, then the next, until the total is back under it (0: no limit)
 */
public record ClientBufferLimits(
    long outputHardBytesMax,
    long outputSoftBytesMax,
    long outputSoftSeconds,
    long clientsBufferBytesMax) {

  /**
   * Hard 1 GiB: one reply as large as the largest value Redis accepts (512 MB) fits twice. Soft 256
   * MiB for 60 s: such a reply must be read at about 13 MB/s or faster. All clients together 2 GiB.
   */
  public static final ClientBufferLimits DEFAULTS =
      new ClientBufferLimits(1L << 30, 256L << 20, 60, 2L << 30);

  public ClientBufferLimits {
    requireRange("outputHardBytesMax", outputHardBytesMax, 0, Long.MAX_VALUE);
    requireRange("outputSoftBytesMax", outputSoftBytesMax, 0, Long.MAX_VALUE);
    requireRange("outputSoftSeconds", outputSoftSeconds, 0, 86_400);
    requireRange("clientsBufferBytesMax", clientsBufferBytesMax, 0, Long.MAX_VALUE);
    if (outputHardBytesMax > 0 && outputSoftBytesMax > outputHardBytesMax) {
      throw new IllegalArgumentException("outputSoftBytesMax " + outputSoftBytesMax
          + " must not exceed outputHardBytesMax " + outputHardBytesMax);
    }
  }

  /** No limit at all (embedded tests). */
  public static final ClientBufferLimits NONE = new ClientBufferLimits(0, 0, 0, 0);

  /** Whether {@code outputBytes} is over the hard limit. */
  boolean overHard(long outputBytes) {
    return outputHardBytesMax > 0 && outputBytes > outputHardBytesMax;
  }

  /** Whether {@code outputBytes} is over the soft limit. */
  boolean overSoft(long outputBytes) {
    return outputSoftBytesMax > 0 && outputBytes > outputSoftBytesMax;
  }

  /**
   * The value of Redis' {@code client-output-buffer-limit} (class, hard bytes, soft bytes, soft
   * seconds): every Respawn client is a normal client, so the three classes read the same.
   */
  public String redisConfigValue() {
    String limits = outputHardBytesMax + " " + outputSoftBytesMax + " " + outputSoftSeconds;
    return "normal " + limits + " slave " + limits + " pubsub " + limits;
  }

  private static void requireRange(String name, long value, long min, long max) {
    if (value < min || value > max) {
      throw new IllegalArgumentException(
          name + " must be between " + min + " and " + max + ", got " + value);
    }
  }
}
