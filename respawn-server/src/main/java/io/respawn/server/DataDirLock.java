package io.respawn.server;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * An exclusive lock on a data directory ({@code <data>/respawn.lock}, holding the owner's pid),
 * so two processes never open the same log: the second one fails at start-up with a clear
 * message instead of corrupting the first one's files. The OS drops the lock when the process
 * dies, so kill -9 needs no clean-up.
 */
public final class DataDirLock implements AutoCloseable {
  static final String FILE_NAME = "respawn.lock";

  private final FileChannel channel;
  private final FileLock lock;

  private DataDirLock(FileChannel channel, FileLock lock) {
    this.channel = channel;
    this.lock = lock;
  }

  public static DataDirLock acquire(Path dataDir) throws IOException {
    return acquire(dataDir, FILE_NAME);
  }

  /**
   * As {@link #acquire(Path)} with another lock file name: a solo volume locks each store by a
   * file of its own in the volume directory ({@code <store>.lock}).
   */
  public static DataDirLock acquire(Path dataDir, String fileName) throws IOException {
    Files.createDirectories(dataDir);
    Path file = dataDir.resolve(fileName);
    FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE,
        StandardOpenOption.READ, StandardOpenOption.WRITE);
    FileLock lock;
    try {
      lock = channel.tryLock();
    } catch (OverlappingFileLockException e) {
      lock = null;
    }
    if (lock == null) {
      String owner = new String(Files.readAllBytes(file), StandardCharsets.US_ASCII).trim();
      channel.close();
      throw new DataDirInUseException("data directory " + dataDir + " is in use by another respawn"
          + " process" + (owner.isEmpty() ? "" : " (pid " + owner + ")"));
    }
    channel.truncate(0);
    channel.write(ByteBuffer.wrap(
        (ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.US_ASCII)), 0);
    return new DataDirLock(channel, lock);
  }

  @Override
  public void close() throws IOException {
    lock.release();
    channel.close();
  }
}
