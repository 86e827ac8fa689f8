package io.respawn.storage.backup;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MappedRegionTest {
  private static final long REGION_BYTES = 16L << 20;
  private static final int PAGE_BYTES = 4096;
  private static final int FORCES = 64;
  /** Within the checkpoint page, past both slots: the test's stores leave the checkpoints alone. */
  private static final int SCRATCH_OFFSET = 1024;
  private static final Path THREAD_IO = Path.of("/proc/thread-self/io");

  /**
   * The persistent buffer forces its checkpoint page after every writeback pass (hundreds of times
   * a second), and every force writes whatever page-cache folio holds that page. The file is
   * created with 1 MiB writes, so Linux (6.x, ext4 with large folios) caches it in folios of up
   * to 1 MiB; a store into the checkpoint dirties the whole folio and the msync writes all of it:
   * 1 MiB a pass, 20 MiB/s of writes at 100 replicated writes a second (measured on a backup).
   * Once {@link PersistentBuffer#open} has kept the page apart ({@link MappedRegion#keepApart}) it
   * sits in a folio of its own, also when the process before left pages dirty in the cache (a
   * dirty folio cannot leave it). The kernel counts every page a store makes dirty in this
   * thread's {@code write_bytes}.
   */
  @Test
  void aForcedPageKeptApartWritesOnlyItself(@TempDir Path dir) throws IOException {
    assumeTrue(Files.isReadable(THREAD_IO), "no per-thread I/O accounting here");
    Path file = dir.resolve("buffer");
    try (MappedRegion fresh = MappedRegion.open(file, REGION_BYTES, PersistentBuffer::format)) {
      assertThat(dirtiedByForcesOfTheFirstPage(fresh)).isGreaterThan(0); // the count works here
      byte[] record = {1, 2, 3};
      fresh.write(2 * PAGE_BYTES, record, 0, record.length); // dirty and never forced, as a
      // process killed between writeback passes leaves its ring in the page cache
    }
    try (MappedRegion reopened = MappedRegion.open(file, REGION_BYTES, PersistentBuffer::format)) {
      PersistentBuffer.open(reopened, true); // keeps its checkpoint page apart
      // A page and maybe the inode's block a force, against 16-256 pages before.
      assertThat(dirtiedByForcesOfTheFirstPage(reopened)).isLessThanOrEqualTo(FORCES * 2L * PAGE_BYTES);
      byte[] back = new byte[8];
      reopened.read(SCRATCH_OFFSET, back, 0, back.length);
      assertThat(back[0]).isEqualTo((byte) (FORCES - 1)); // the stores are there
    }
  }

  @Test
  void keepingApartChangesNoByte(@TempDir Path dir) throws IOException {
    Path file = dir.resolve("buffer");
    byte[] written = new byte[3 * PAGE_BYTES];
    for (int i = 0; i < written.length; i++) {
      written[i] = (byte) (i * 31 + 7);
    }
    try (MappedRegion region = MappedRegion.open(file, REGION_BYTES,
        fresh -> fresh.write(0, written, 0, written.length))) {
      region.keepApart(0, PAGE_BYTES);
      byte[] back = new byte[written.length];
      region.read(0, back, 0, back.length);
      assertThat(back).isEqualTo(written);
    }
  }

  private static long dirtiedByForcesOfTheFirstPage(MappedRegion region) throws IOException {
    byte[] slot = new byte[BackupFormat.CHECKPOINT_BYTES];
    long before = writeBytes();
    for (int i = 0; i < FORCES; i++) {
      slot[0] = (byte) i;
      region.write(SCRATCH_OFFSET, slot, 0, slot.length);
      region.force(0, PAGE_BYTES);
    }
    return writeBytes() - before;
  }

  private static long writeBytes() throws IOException {
    for (String line : Files.readAllLines(THREAD_IO)) {
      if (line.startsWith("write_bytes:")) {
        return Long.parseLong(line.substring("write_bytes:".length()).trim());
      }
    }
    throw new IllegalStateException("no write_bytes in " + THREAD_IO);
  }
}
