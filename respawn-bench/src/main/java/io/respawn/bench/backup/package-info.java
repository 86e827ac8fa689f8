/**
 * Benchmarks of the backup role's storage: {@code respawn bench storage blocks} (the write
 * throughput against block size curve that the writeback block size is chosen from) and {@code
 * respawn bench storage backup} (buffer ack rate, writeback MB/s, GC cost, DRAM per key against
 * the engine and Redis, keep-up under the write-only E1 load).
 */
package io.respawn.bench.backup;
