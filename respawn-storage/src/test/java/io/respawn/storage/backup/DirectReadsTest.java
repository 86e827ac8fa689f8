package io.respawn.storage.backup;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.respawn.storage.FileChannelDisk;
import java.nio.ByteBuffer;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DirectReadsTest {

  /** Every unaligned range, near and past the end, reads what a buffered read reads. */
  @Test
  void unalignedReadsSeeWhatBufferedReadsSee(@TempDir Path dir) throws Exception {
    try (FileChannelDisk disk = new FileChannelDisk(dir)) {
      byte[] content = new byte[3 * 4096 + 1234];
      new Random(7).nextBytes(content);
      disk.create("seg");
      disk.write("seg", 0, ByteBuffer.wrap(content)); // not flushed: dirty pages only
      DirectReads reads = new DirectReads(dir, disk::read);
      Random r = new Random(11);
      for (int i = 0; i < 200; i++) {
        long position = r.nextInt(content.length + 100);
        int n = 1 + r.nextInt(9000);
        ByteBuffer direct = ByteBuffer.allocate(n);
        int got = reads.read("seg", position, direct);
        if (position >= content.length) {
          assertEquals(-1, got, "past the end at " + position);
          continue;
        }
        int expected = (int) Math.min(n, content.length - position);
        assertEquals(expected, got, "bytes read at " + position + " of " + n);
        assertEquals(expected, direct.position());
        assertArrayEquals(Arrays.copyOfRange(content, (int) position, (int) position + expected),
            Arrays.copyOf(direct.array(), expected), "bytes at " + position);
      }
      // ext4 and xfs (the development and CI disks) take O_DIRECT; only tmpfs falls back.
      if (!java.nio.file.Files.getFileStore(dir).type().equals("tmpfs")) {
        assertTrue(reads.direct(), "direct reads were refused on " + dir);
        assertTrue(reads.directReads() > 100);
      }
    }
  }

  @Test
  void aMissingSegmentIsAnErrorNotAFallback(@TempDir Path dir) throws Exception {
    try (FileChannelDisk disk = new FileChannelDisk(dir)) {
      DirectReads reads = new DirectReads(dir, disk::read);
      assertThrows(NoSuchFileException.class,
          () -> reads.read("gone", 0, ByteBuffer.allocate(10)));
      assertTrue(reads.direct(), "a collected segment says nothing about the file system");
    }
  }

  /** A read into the middle of a buffer lands at its position, not at index 0. */
  @Test
  void readsLandAtTheBuffersPosition(@TempDir Path dir) throws Exception {
    try (FileChannelDisk disk = new FileChannelDisk(dir)) {
      byte[] content = new byte[10_000];
      new Random(3).nextBytes(content);
      disk.create("seg");
      disk.write("seg", 0, ByteBuffer.wrap(content));
      DirectReads reads = new DirectReads(dir, disk::read);
      ByteBuffer into = ByteBuffer.allocate(100);
      into.position(40);
      assertEquals(60, reads.read("seg", 5000, into));
      assertArrayEquals(Arrays.copyOfRange(content, 5000, 5060),
          Arrays.copyOfRange(into.array(), 40, 100));
      assertEquals(0, into.array()[0]);
    }
  }
}
