package io.respawn.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A flushed file's pages leave the page cache when its writer says it is done with it, read back
 * with {@code mincore} (what {@link MappedByteBuffer#isLoaded} asks the kernel); its bytes stay
 * as they were.
 */
class PageCacheTest {
  private static final int FILE_BYTES = 8 << 20;

  @TempDir Path dir;

  /** Whether every page of the file is in the page cache now. */
  private static boolean cached(Path file) throws IOException {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      MappedByteBuffer map = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size());
      return map.isLoaded();
    }
  }

  @Test
  void aFlushedFileLeavesTheCacheWhenItsWriterDropsIt() throws Exception {
    assumeThat(PageCache.available()).as("Linux with native access").isTrue();
    try (FileChannelDisk disk = new FileChannelDisk(dir)) {
      disk.create("segment");
      byte[] block = new byte[1 << 20];
      for (int i = 0; i < block.length; i++) {
        block[i] = (byte) (i * 31);
      }
      for (int at = 0; at < FILE_BYTES; at += block.length) {
        disk.write("segment", at, ByteBuffer.wrap(block));
      }
      disk.flush("segment");
      assumeThat(cached(dir.resolve("segment"))).as("written pages cached (the file system "
          + "caches writes)").isTrue();

      disk.dropCached("segment"); // done by the page-cache thread, soon

      long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(10);
      while (cached(dir.resolve("segment")) && System.nanoTime() < deadline) {
        Thread.sleep(5);
      }
      assertThat(cached(dir.resolve("segment"))).as("pages left the cache").isFalse();
      assertThat(Thread.getAllStackTraces().keySet()).as("dropped by its own thread, not the "
          + "writer's").anyMatch(t -> t.getName().equals("respawn-page-cache"));
      ByteBuffer back = ByteBuffer.allocate(block.length);
      disk.read("segment", FILE_BYTES - block.length, back);
      assertThat(back.array()).isEqualTo(block);
    }
  }

  @Test
  void aMissingFileIsNotAnError() {
    assertThat(PageCache.drop(dir.resolve("none"))).isFalse();
  }
}
