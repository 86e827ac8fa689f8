/**
 * Crash-state tooling shared by the engine's tests and the deterministic simulator:
 * {@link io.respawn.storage.crash.RecordingDisk} records writes and flushes and produces the
 * crash states the {@link io.respawn.storage.Disk} contract allows, from a seeded
 * {@link java.util.Random}.
 */
package io.respawn.storage.crash;
