/**
 * Experiment E1 ({@code respawn bench e1}): the Respawn shard side by side with Redis (single
 * node with {@code appendfsync everysec}; primary + replica with {@code WAIT 1 0}) and a
 * three-member etcd, under YCSB workloads B and C and a write-only mix, plus {@code
 * redis-benchmark}. Every system runs as real processes on loopback, started and stopped here.
 */
package io.respawn.bench.e1;
