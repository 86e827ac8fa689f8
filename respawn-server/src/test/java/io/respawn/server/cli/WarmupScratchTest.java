package io.respawn.server.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A standby killed during its warm-up leaves its scratch directory behind; the next standby's
 * start deletes it, and never one whose owner still runs or a directory that is not a scratch.
 */
class WarmupScratchTest {
  @TempDir Path tmp;

  @Test
  void theNextStartDeletesOnlyScratchesWhoseOwnerIsGone() throws Exception {
    Process ended = new ProcessBuilder("true").start();
    ended.waitFor();
    long gonePid = ended.pid();
    long livePid = ProcessHandle.current().pid();
    Path gone = Files.createDirectories(tmp.resolve(WarmupScratch.PREFIX + "-" + gonePid + "-1"));
    Files.writeString(Files.createDirectories(gone.resolve("volume")).resolve("seg"), "data");
    Path live = Files.createDirectories(tmp.resolve(WarmupScratch.PREFIX + "-" + livePid + "-2"));
    Path oldUnnamed = Files.createDirectories(tmp.resolve(WarmupScratch.PREFIX + "123456"));
    Files.setLastModifiedTime(oldUnnamed, FileTime.from(Instant.now().minusSeconds(7200)));
    Path newUnnamed = Files.createDirectories(tmp.resolve(WarmupScratch.PREFIX + "654321"));
    Path other = Files.createDirectories(tmp.resolve("someone-else-" + gonePid));

    assertThat(WarmupScratch.removeAbandoned(tmp)).isEqualTo(2);

    assertThat(gone).doesNotExist();
    assertThat(oldUnnamed).doesNotExist();
    assertThat(live).isDirectory();
    assertThat(newUnnamed).isDirectory();
    assertThat(other).isDirectory();
  }
}
