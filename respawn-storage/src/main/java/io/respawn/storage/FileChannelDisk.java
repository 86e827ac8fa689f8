package io.respawn.storage;

import java.io.IOException;
import java.nio.ByteBuffer;
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
 * closed. Thread-safe.
 */
public final class FileChannelDisk implements Disk {
  private final Path directory;
  private final ConcurrentHashMap<String, FileChannel> channels = new ConcurrentHashMap<>();

  /** Opens (and creates if needed) the directory. */
  public FileChannelDisk(Path directory) throws IOException {
    this.directory = directory;
    Files.createDirectories(directory);
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
    return channel(name).size();
  }

  @Override
  public int read(String name, long position, ByteBuffer dst) throws IOException {
    return channel(name).read(dst, position);
  }

  @Override
  public void write(String name, long position, ByteBuffer src) throws IOException {
    FileChannel channel = channel(name);
    long at = position;
    while (src.hasRemaining()) {
      at += channel.write(src, at);
    }
  }

  @Override
  public void flush(String name) throws IOException {
    channel(name).force(false);
  }

  @Override
  public void truncate(String name, long size) throws IOException {
    FileChannel channel = channel(name);
    channel.truncate(size);
    channel.force(true);
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
    if (open != null) {
      return open;
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
