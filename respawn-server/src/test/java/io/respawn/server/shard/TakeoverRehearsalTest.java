package io.respawn.server.shard;

import static org.assertj.core.api.Assertions.assertThat;

import io.respawn.storage.StorageConfig;
import io.respawn.storage.backup.BackupConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The takeover rehearsal recovers every one of its values through the real recovery code (a
 * scratch backup store answering, a scratch witness state installing, every message through the
 * value-pull codec), and leaves nothing behind; a witness's serving rehearsal has every command
 * of its scratch server answered as it should be (it checks each reply itself) and deletes its
 * directory.
 */
class TakeoverRehearsalTest {
  @TempDir Path tmp;

  @Test
  void everyValueIsRecoveredAndTheScratchDirectoryIsDeleted() throws Exception {
    Path scratch = tmp.resolve("rehearsal");
    TakeoverRehearsal.Result r = TakeoverRehearsal.run(scratch, BackupConfig.defaults(),
        StorageConfig.defaults());
    assertThat(r.rounds()).isEqualTo(TakeoverRehearsal.ROUNDS);
    assertThat(r.valuesRecovered())
        .isEqualTo((long) TakeoverRehearsal.ROUNDS * TakeoverRehearsal.KEYS_PER_ROUND);
    assertThat(r.priorityPulls()).isPositive();
    assertThat(Files.exists(scratch)).as("scratch stores deleted").isFalse();
    try (var left = Files.list(tmp)) {
      assertThat(left).isEmpty();
    }
  }

  @Test
  void theServingRehearsalAnswersEveryCommandAndDeletesItsDirectory() throws Exception {
    Path dir = tmp.resolve("serving");

    long answered = TakeoverRehearsal.rehearseServing(dir, StorageConfig.defaults());

    assertThat(answered).isBetween((long) TakeoverRehearsal.SERVING_COMMANDS,
        (long) TakeoverRehearsal.SERVING_COMMANDS_MAX);
    assertThat(Files.exists(dir)).as("scratch directory deleted").isFalse();
  }
}
