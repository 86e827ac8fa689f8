package io.respawn.node.log;

import io.respawn.core.HardState;
import io.respawn.storage.Disk;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * The hard state (and the log's first index) in two alternating slots of one file, so a save is
 * one write and one flush and a crash during it leaves the previous save readable (layout in
 * {@link ReplicaLogFormat}). Owned by {@link SegmentedReplicaLog}.
 */
final class HardStateFile {
  private final Disk disk;
  private long generation;
  private HardState hardState = HardState.INITIAL;
  private long firstIndex = 1;

  private HardStateFile(Disk disk) {
    this.disk = disk;
  }

  /** Reads the newest valid slot (creating the file when there is none). */
  static HardStateFile open(Disk disk) throws IOException {
    HardStateFile f = new HardStateFile(disk);
    if (!disk.list().contains(ReplicaLogFormat.HARD_STATE_FILE)) {
      disk.create(ReplicaLogFormat.HARD_STATE_FILE);
      return f;
    }
    ReplicaLogFormat.Slot best = null;
    for (int slot = 0; slot < 2; slot++) {
      byte[] bytes = new byte[ReplicaLogFormat.HARD_STATE_SLOT_BYTES];
      int n = readFully(disk, (long) slot * ReplicaLogFormat.HARD_STATE_SLOT_STRIDE, bytes);
      ReplicaLogFormat.Slot s = ReplicaLogFormat.parseHardStateSlot(bytes, n);
      if (s != null && (best == null || s.generation() > best.generation())) {
        best = s;
      }
    }
    if (best != null) {
      f.generation = best.generation();
      f.hardState = best.hardState();
      f.firstIndex = best.firstIndex();
    }
    return f;
  }

  private static int readFully(Disk disk, long position, byte[] into) throws IOException {
    ByteBuffer dst = ByteBuffer.wrap(into);
    while (dst.hasRemaining()) {
      int n = disk.read(ReplicaLogFormat.HARD_STATE_FILE, position + dst.position(), dst);
      if (n <= 0) {
        break;
      }
    }
    return dst.position();
  }

  HardState hardState() {
    return hardState;
  }

  long firstIndex() {
    return firstIndex;
  }

  /** Writes the next generation into the older slot and flushes: durable on return. */
  void save(HardState hs, long first) throws IOException {
    long next = generation + 1;
    byte[] slot = ReplicaLogFormat.hardStateSlot(next, hs, first);
    long position = (next % 2) * ReplicaLogFormat.HARD_STATE_SLOT_STRIDE;
    disk.write(ReplicaLogFormat.HARD_STATE_FILE, position, ByteBuffer.wrap(slot));
    disk.flush(ReplicaLogFormat.HARD_STATE_FILE);
    generation = next;
    hardState = hs;
    firstIndex = first;
  }
}
