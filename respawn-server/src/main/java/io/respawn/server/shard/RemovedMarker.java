package io.respawn.server.shard;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;

/**
 * The file that keeps, in a member's data directory, that the shard removed this member while
 * it was away ({@link RemovalWatch}). Written when the process stops for that reason; a member
 * whose directory holds it refuses to start (exit code {@link RemovalWatch#EXIT_REMOVED}) and
 * {@code respawn up} does not start it, so a service manager or a second {@code respawn up}
 * does not bring back, again and again, a member that would only be refused by every peer for
 * 10 s and stop. An operator who wants the process back anyway deletes the file.
 *
 * <p>Format: one line of text, {@code removed from the shard at <ISO-8601 instant>: <why>}.
 */
public final class RemovedMarker {
  /** The marker's name in the member's data directory. */
  public static final String FILE_NAME = "removed";
  /** A marker longer than this is cut when read (it is one line; anything longer is damage). */
  private static final int TEXT_CHARS_MAX = 1_000;

  private RemovedMarker() {}

  /** The marker's path in {@code dataDir}. */
  public static Path in(Path dataDir) {
    return dataDir.resolve(FILE_NAME);
  }

  /**
   * The marker's text if {@code dataDir} holds one, else null. An unreadable marker still counts
   * (its text then says so): the file's presence is what refuses the start.
   */
  public static String read(Path dataDir) {
    Path f = in(dataDir);
    try {
      String text = Files.readString(f, StandardCharsets.UTF_8).strip();
      return text.length() > TEXT_CHARS_MAX ? text.substring(0, TEXT_CHARS_MAX) : text;
    } catch (NoSuchFileException e) {
      return null;
    } catch (IOException | RuntimeException e) {
      return Files.exists(f) ? "(the marker " + f + " is unreadable: " + e + ")" : null;
    }
  }

  /**
   * Writes the marker saying {@code why} at {@code now}: whole or not at all (a temporary file
   * moved into place).
   */
  public static void write(Path dataDir, String why, Instant now) throws IOException {
    Path tmp = dataDir.resolve(FILE_NAME + ".tmp");
    Files.writeString(tmp, "removed from the shard at " + now + ": " + why + "\n",
        StandardCharsets.UTF_8);
    try {
      Files.move(tmp, in(dataDir), StandardCopyOption.ATOMIC_MOVE,
          StandardCopyOption.REPLACE_EXISTING);
    } catch (AtomicMoveNotSupportedException e) {
      Files.move(tmp, in(dataDir), StandardCopyOption.REPLACE_EXISTING);
    }
  }
}
