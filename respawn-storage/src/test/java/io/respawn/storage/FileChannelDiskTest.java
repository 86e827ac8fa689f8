package io.respawn.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FileChannelDiskTest {
  @TempDir Path dir;

  @Test
  void filesLifeCycle() throws Exception {
    try (FileChannelDisk disk = new FileChannelDisk(dir)) {
      disk.create("a.log");
      assertThatThrownBy(() -> disk.create("a.log")).isInstanceOf(FileAlreadyExistsException.class);
      disk.write("a.log", 4, ByteBuffer.wrap(new byte[] {1, 2, 3}));
      disk.flush("a.log");
      assertThat(disk.size("a.log")).isEqualTo(7);
      ByteBuffer back = ByteBuffer.allocate(16);
      assertThat(disk.read("a.log", 0, back)).isEqualTo(7);
      assertThat(back.array()).startsWith(0, 0, 0, 0, 1, 2, 3);
      assertThat(disk.read("a.log", 7, ByteBuffer.allocate(4))).isEqualTo(-1);
      disk.truncate("a.log", 5);
      assertThat(disk.size("a.log")).isEqualTo(5);
      disk.rename("a.log", "b.log");
      assertThat(disk.list()).containsExactly("b.log");
      disk.delete("b.log");
      assertThat(disk.list()).isEmpty();
      assertThatThrownBy(() -> disk.size("b.log")).isInstanceOf(NoSuchFileException.class);
      assertThatThrownBy(() -> disk.create("../escape")).isInstanceOf(IllegalArgumentException.class);
    }
  }

  @Test
  void anInterruptDoesNotFailTheOperationAndIsKept() throws Exception {
    try (FileChannelDisk disk = new FileChannelDisk(dir)) {
      disk.create("a.log");
      Thread.currentThread().interrupt();
      try {
        disk.write("a.log", 0, ByteBuffer.wrap(new byte[] {9, 9}));
        disk.flush("a.log");
        assertThat(Thread.currentThread().isInterrupted()).isTrue();
      } finally {
        Thread.interrupted();
      }
      assertThat(disk.size("a.log")).isEqualTo(2);
    }
  }
}
