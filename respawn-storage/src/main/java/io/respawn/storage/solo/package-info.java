/**
 * Solo mode on a durable volume (DESIGN.md §4 clone, §7): one serving process, a monitor and warm
 * standbys sharing one volume directory. {@link io.respawn.storage.solo.SoloVolume} holds the
 * primitives — super (a child view: sealed segments hard-linked, only the active one copied, so
 * the serving process never pays copy-on-write), the dirty bit (read from the parent's files
 * against the super record, without the parent's help), collapse, promote (with an epoch fence
 * the engine checks around every write batch) and abort — and draws the volume's layout; {@link
 * io.respawn.storage.solo.VolumeFormat} draws its records; {@link
 * io.respawn.storage.solo.VolumeDisk} is the port (with {@code crash.RecordingVolume} for crash
 * states). docs/solo.md describes the whole mode.
 */
package io.respawn.storage.solo;
