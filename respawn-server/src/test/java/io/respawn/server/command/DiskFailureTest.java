package io.respawn.server.command;

import static org.assertj.core.api.Assertions.assertThat;

import io.respawn.storage.Disk;
import io.respawn.storage.ForwardingDisk;
import io.respawn.storage.Durability;
import io.respawn.storage.FileChannelDisk;
import io.respawn.storage.LogEngine;
import io.respawn.storage.StorageConfig;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A failing disk under the real engine: writes answer -ERR with its message, reads still work. */
class DiskFailureTest {
  @TempDir Path dir;

  /** Delegates to a real directory until {@link #breakIt}: then every write and fsync fails. */
  static final class BreakableDisk extends ForwardingDisk {
    volatile boolean broken;

    BreakableDisk(Disk real) {
      super(real);
    }

    void breakIt() {
      broken = true;
    }

    private void check() throws IOException {
      if (broken) {
        throw new IOException("No space left on device");
      }
    }

    @Override public void create(String name) throws IOException { check(); super.create(name); }
    @Override public void write(String name, long position, ByteBuffer src) throws IOException {
      check();
      super.write(name, position, src);
    }
    @Override public void flush(String name) throws IOException { check(); super.flush(name); }
    @Override public void truncate(String name, long size) throws IOException {
      check();
      super.truncate(name, size);
    }
    @Override public void rename(String from, String to) throws IOException {
      check();
      super.rename(from, to);
    }
    @Override public void delete(String name) throws IOException { check(); super.delete(name); }
  }

  @Test
  void writesFailWithTheStorageMessageAndReadsKeepWorking() throws Exception {
    BreakableDisk disk = new BreakableDisk(new FileChannelDisk(dir));
    try (LogEngine engine = LogEngine.open(disk, StorageConfig.defaults())) {
      CommandHarness h = new CommandHarness(engine, null, Durability.DURABLE);
      assertThat(h.call("SET", "a", "1")).isEqualTo("OK");
      disk.breakIt();
      String failed = h.call("SET", "b", "2");
      // Redis's answer when it cannot write its log (MISCONF); DiskFullServerTest goes on from here
      assertThat(failed).startsWith("(error) MISCONF Errors writing to the log: No space left");
      // this disk cannot even truncate: the store stops taking writes until a restart
      assertThat(h.call("SET", "c", "3")).startsWith("(error) ERR store is not accepting writes");
      assertThat(h.call("GET", "a")).isEqualTo("\"1\"");
      assertThat(h.call("PING")).isEqualTo("PONG");
      assertThat(h.call("INFO", "persistence")).contains("respawn_write_errors:");
    }
  }
}
