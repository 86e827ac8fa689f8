package io.respawn.storage.solo;

import io.respawn.storage.Disk;
import io.respawn.storage.FileChannelDisk;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * {@link VolumeDisk} on a real directory: store directories are sub-directories, {@link #link}
 * is {@link Files#createLink} (a hard link; so the volume must be one filesystem, which a
 * directory and its sub-directories are unless something is mounted inside), and every name
 * change is followed by an fsync of the directory that holds it.
 *
 * <p>Why hard links and not reflinks: the segments super shares are immutable, so a hard link
 * (one inode, no copy, no copy-on-write ever) is exactly right and works on every POSIX
 * filesystem; a reflink ({@code FICLONE}) would only help the one mutable file super copies (the
 * active segment, at most segmentBytesMax), needs an {@code ioctl} that Java offers no API for
 * (it would take a native call through {@code java.lang.foreign} on a raw descriptor), and fails
 * on ext4, the common case, which has no reflinks.
 */
public final class FileVolumeDisk implements VolumeDisk {
  private final Path directory;
  private final FileChannelDisk root;

  /** Opens (and creates if needed) the volume directory. */
  public FileVolumeDisk(Path directory) throws IOException {
    this.directory = directory.toAbsolutePath().normalize();
    this.root = new FileChannelDisk(this.directory);
  }

  @Override
  public Disk root() {
    return root;
  }

  @Override
  public boolean exists(String name) {
    return Files.exists(resolve(name), LinkOption.NOFOLLOW_LINKS);
  }

  @Override
  public List<String> stores() throws IOException {
    List<String> names = new ArrayList<>();
    try (Stream<Path> files = Files.list(directory)) {
      files.filter(p -> Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS))
          .forEach(p -> names.add(p.getFileName().toString()));
    }
    return names;
  }

  @Override
  public Disk store(String name) throws IOException {
    Path dir = resolve(name);
    if (!Files.isDirectory(dir)) {
      Files.createDirectories(dir);
      syncDirectory(directory);
    }
    return new FileChannelDisk(dir);
  }

  @Override
  public void deleteStore(String name) throws IOException {
    Path dir = resolve(name);
    if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    try (Stream<Path> files = Files.list(dir)) {
      for (Path f : (Iterable<Path>) files::iterator) {
        Files.deleteIfExists(f);
      }
    }
    syncDirectory(dir);
    Files.deleteIfExists(dir);
    syncDirectory(directory);
  }

  @Override
  public void link(String fromStore, String file, String toStore) throws IOException {
    Path source = resolve(fromStore).resolve(checkName(file));
    Path target = resolve(toStore).resolve(file);
    try {
      Files.createLink(target, source);
    } catch (NoSuchFileException e) {
      if (!Files.exists(source, LinkOption.NOFOLLOW_LINKS)) {
        throw new NoSuchFileException(source.toString());
      }
      throw e;
    }
    syncDirectory(target.getParent());
  }

  @Override
  public Path path(String store) {
    return resolve(store);
  }

  @Override
  public void close() throws IOException {
    root.close();
  }

  private Path resolve(String name) {
    return directory.resolve(checkName(name));
  }

  private static String checkName(String name) {
    if (name.isEmpty() || name.contains("/") || name.contains("\\") || name.startsWith(".")) {
      throw new IllegalArgumentException("bad file name: '" + name + "'");
    }
    return name;
  }

  private static void syncDirectory(Path dir) throws IOException {
    try (FileChannel channel = FileChannel.open(dir, StandardOpenOption.READ)) {
      channel.force(true);
    }
  }
}
