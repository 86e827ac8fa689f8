package io.respawn.server;

import io.respawn.server.resp.ClientBufferLimits;
import io.respawn.server.resp.RespLimits;
import io.respawn.storage.Durability;
import io.respawn.storage.StorageConfig;
import java.nio.file.Path;
import java.util.Objects;

/**
 * Everything one single-node server needs, validated by its constructor (the CLI turns a
 * violation into a usage error and exit code 2).
 *
 * @param bindHost address to listen on
 * @param port TCP port (0 = any free port, for tests)
 * @param dataDir the storage engine's directory
 * @param defaultDurability acknowledgement level of new connections
 * @param requirePass password clients must AUTH with, or null
 * @param limits protocol and connection limits
 * @param clientBuffers limits on clients' pending input and output that close connections
 * @param ioThreads Netty I/O threads (they only decode and encode)
 * @param storage the storage engine's configuration (its key and value limits also bound
 *     commands)
 * @param memoryBytesMax the memory limit ({@code --maxmemory}): once the store's keys, values and
 *     index use more, commands that may grow memory are refused with Redis's -OOM error; 0 = none
 */
public record ServerConfig(
    String bindHost,
    int port,
    Path dataDir,
    Durability defaultDurability,
    String requirePass,
    RespLimits limits,
    ClientBufferLimits clientBuffers,
    int ioThreads,
    StorageConfig storage,
    long memoryBytesMax) {

  /** With the default client buffer limits ({@link ClientBufferLimits#DEFAULTS}). */
  public ServerConfig(String bindHost, int port, Path dataDir, Durability defaultDurability,
      String requirePass, RespLimits limits, int ioThreads, StorageConfig storage,
      long memoryBytesMax) {
    this(bindHost, port, dataDir, defaultDurability, requirePass, limits,
        ClientBufferLimits.DEFAULTS, ioThreads, storage, memoryBytesMax);
  }

  public ServerConfig {
    Objects.requireNonNull(bindHost, "bindHost");
    Objects.requireNonNull(dataDir, "dataDir");
    Objects.requireNonNull(defaultDurability, "defaultDurability");
    Objects.requireNonNull(limits, "limits");
    Objects.requireNonNull(clientBuffers, "clientBuffers");
    Objects.requireNonNull(storage, "storage");
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException("port must be between 0 and 65535, got " + port);
    }
    if (ioThreads < 1 || ioThreads > 64) {
      throw new IllegalArgumentException("ioThreads must be between 1 and 64, got " + ioThreads);
    }
    if (memoryBytesMax < 0) {
      throw new IllegalArgumentException("maxmemory must be >= 0 (0 = no limit), got " + memoryBytesMax);
    }
    if (requirePass != null && requirePass.isEmpty()) {
      throw new IllegalArgumentException("requirepass must not be empty");
    }
  }

  /** A configuration without a memory limit. */
  public ServerConfig(String bindHost, int port, Path dataDir, Durability defaultDurability,
      String requirePass, RespLimits limits, int ioThreads, StorageConfig storage) {
    this(bindHost, port, dataDir, defaultDurability, requirePass, limits, ioThreads, storage, 0);
  }
}
