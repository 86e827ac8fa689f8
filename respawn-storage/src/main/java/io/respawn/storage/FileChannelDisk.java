package io.respawn.storage;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

/**
 * {@link Disk} on a real directory with {@link FileChannel}s: positional writes, {@code force}
 * for flush, and an fsync of the directory after every create, rename and delete so that the
 * name change itself survives a crash. Channels stay open until the file is deleted or the disk
 * closed. Thread-safe. An interrupt never fails an operation: FileChannel closes itself when a
 * thread is interrupted during I/O, so the operation is retried on a reopened channel and the
 * interrupt status restored.
 */
public final class FileChannelDisk implements Disk {
  private final Path directory;
  private final ConcurrentHashMap<String, FileChannel> channels = new ConcurrentHashMap<>();
  private volatile boolean closed;

  /** Opens (and creates if needed) the directory. */
  public FileChannelDisk(Path directory) throws IOException {
    this.directory = directory;
    Files.createDirectories(directory);
    PageCache.startDropper(); // before a writer's first dropCached, not inside it
  }

  public Path directory() {
    return directory;
  }

  @Override
  public List<String> list() throws IOException {
    List<String> names = new ArrayList<>();
    try (Stream<Path> files = Files.list(directory)) {
      files.filter(Files::isRegularFile).forEach(p -> names.add(p.getFileName().toString()));
    }
    return names;
  }

  @Override
  public void create(String name) throws IOException {
    Path path = resolve(name);
    FileChannel channel =
        FileChannel.open(
            path, StandardOpenOption.CREATE_NEW, StandardOpenOption.READ, StandardOpenOption.WRITE);
    FileChannel previous = channels.put(name, channel);
    assert previous == null : "channel already open for new file " + name;
    syncDirectory();
  }

  @Override
  public long size(String name) throws IOException {
    return retryIfClosedUnderUs(name, FileChannel::size);
  }

  @Override
  public int read(String name, long position, ByteBuffer dst) throws IOException {
    return retryIfClosedUnderUs(name, channel -> channel.read(dst, position));
  }

  @Override
  public void write(String name, long position, ByteBuffer src) throws IOException {
    int start = src.position();
    retryIfClosedUnderUs(name, channel -> {
      src.position(start); // a positional write is idempotent: redo it whole
      long at = position;
      while (src.hasRemaining()) {
        at += channel.write(src, at);
      }
      return null;
    });
  }

  @Override
  public void flush(String name) throws IOException {
    retryIfClosedUnderUs(name, channel -> {
      channel.force(false);
      return null;
    });
  }

  /** Drops the file's flushed pages from the page cache ({@link PageCache}). */
  @Override
  public void dropCached(String name) throws IOException {
    PageCache.dropLater(resolve(name)); // on its own thread: callers are writers' loops
  }

  @Override
  public void truncate(String name, long size) throws IOException {
    retryIfClosedUnderUs(name, channel -> {
      channel.truncate(size);
      channel.force(true);
      return null;
    });
  }

  /** One FileChannel operation. */
  private interface ChannelOp<T> {
    T run(FileChannel channel) throws IOException;
  }

  /**
   * Runs op, and if the channel was closed under it by an interrupt (of this or another thread
   * sharing the channel) reopens it and runs op again with the interrupt status cleared, then
   * restores the status. All ops here are idempotent, and an interrupt must not look like a disk
   * failure: the engine would stop accepting writes.
   */
  private <T> T retryIfClosedUnderUs(String name, ChannelOp<T> op) throws IOException {
    boolean interrupted = false;
    try {
      for (int attempt = 1; ; attempt++) {
        FileChannel channel = channel(name);
        try {
          return op.run(channel);
        } catch (ClosedChannelException e) {
          if (closed || attempt >= 3) {
            throw e;
          }
          interrupted |= Thread.interrupted();
          channels.remove(name, channel);
        }
      }
    } finally {
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }

  @Override
  public void rename(String from, String to) throws IOException {
    Path target = resolve(to);
    if (Files.exists(target)) {
      throw new FileAlreadyExistsException(target.toString());
    }
    closeChannel(from);
    Files.move(resolve(from), target, StandardCopyOption.ATOMIC_MOVE);
    syncDirectory();
  }

  @Override
  public void delete(String name) throws IOException {
    closeChannel(name);
    Files.delete(resolve(name));
    syncDirectory();
  }

  @Override
  public void close() throws IOException {
    closed = true;
    IOException first = null;
    for (String name : List.copyOf(channels.keySet())) {
      try {
        closeChannel(name);
      } catch (IOException e) {
        if (first == null) {
          first = e;
        }
      }
    }
    if (first != null) {
      throw first;
    }
  }

  private FileChannel channel(String name) throws IOException {
    FileChannel open = channels.get(name);
    if (open != null && open.isOpen()) {
      return open;
    }
    if (open != null) {
      // Closed under us (a thread was interrupted during I/O): reopen rather than fail forever.
      channels.remove(name, open);
    }
    try {
      return channels.computeIfAbsent(
          name,
          n -> {
            try {
              return FileChannel.open(resolve(n), StandardOpenOption.READ, StandardOpenOption.WRITE);
            } catch (IOException e) {
              throw new java.io.UncheckedIOException(e);
            }
          });
    } catch (java.io.UncheckedIOException e) {
      throw e.getCause();
    }
  }

  private void closeChannel(String name) throws IOException {
    FileChannel channel = channels.remove(name);
    if (channel != null) {
      channel.close();
    }
  }

  private Path resolve(String name) {
    if (name.isEmpty() || name.contains("/") || name.contains("\\") || name.startsWith(".")) {
      throw new IllegalArgumentException("bad file name: '" + name + "'");
    }
    return directory.resolve(name);
  }

  /** A new, renamed or deleted directory entry is durable only once the directory is synced. */
  private void syncDirectory() throws IOException {
    try (FileChannel dir = FileChannel.open(directory, StandardOpenOption.READ)) {
      dir.force(true);
    }
  }
}
