package io.respawn.server.command;

import io.respawn.server.resp.RespLimits;
import io.respawn.storage.Durability;

/**
 * What the command layer needs to know about the server it runs in.
 *
 * @param requirePass password clients must AUTH with, or null for none
 * @param defaultDurability acknowledgement level of a new connection
 * @param limits protocol limits (reported by CONFIG GET and used by APPEND's size check)
 * @param bindHost address the server listens on (INFO, CONFIG GET bind)
 * @param port TCP port (INFO, CONFIG GET port)
 * @param dataDir data directory as given on the command line
 * @param storageDescription one line describing the engine, for INFO/RESPAWN STATUS
 * @param keyBytesMax the engine's key size limit
 * @param valueBytesMax the engine's value size limit
 * @param memoryBytesMax once the store's memory ({@link io.respawn.storage.KvStore#memoryUsedBytes})
 *     is above this, commands flagged DENY_OOM are refused with -OOM; 0 = no limit
 */
public record CommandSettings(
    String requirePass,
    Durability defaultDurability,
    RespLimits limits,
    String bindHost,
    int port,
    String dataDir,
    String storageDescription,
    int keyBytesMax,
    int valueBytesMax,
    long memoryBytesMax) {

  /** Redis version we answer with, so clients enable the RESP2 features we support. */
  public static final String REDIS_COMPAT_VERSION = "7.2.0";

  public static final String RESPAWN_VERSION = "0.1.0";
}
