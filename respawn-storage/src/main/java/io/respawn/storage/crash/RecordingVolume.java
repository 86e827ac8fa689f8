package io.respawn.storage.crash;

import io.respawn.storage.Disk;
import io.respawn.storage.solo.VolumeDisk;
import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.function.Consumer;

/**
 * An in-memory {@link VolumeDisk} of {@link RecordingDisk}s that produces the crash states the
 * contract allows: each directory's files crash as a RecordingDisk's do, a hard-linked file
 * crashes once for all its names, and name operations (store creation, link, each delete of
 * {@link #deleteStore}) are durable at once. {@link #store} returns the same disk every call, so
 * an engine running on a store and the volume's primitives see one another's writes.
 *
 * <p>Thread-safe per operation; {@link #crashImage} must not run concurrently with writes that
 * span directories (the crash campaigns are single-threaded).
 */
public final class RecordingVolume implements VolumeDisk {
  private static final String ROOT = "";

  private final RecordingDisk root;
  private final Map<String, RecordingDisk> stores = new TreeMap<>();
  private Consumer<String> observer;

  public RecordingVolume() {
    this(new RecordingDisk());
  }

  private RecordingVolume(RecordingDisk root) {
    this.root = root;
  }

  /**
   * A volume's files after a crash: the root's files, and each store's. The same array under two
   * names is one (hard-linked) file.
   */
  public record Image(Map<String, byte[]> root, Map<String, Map<String, byte[]>> stores) {}

  /** A volume whose files start out with an image's (durable) contents, links included. */
  public static RecordingVolume of(Image image) {
    IdentityHashMap<byte[], Object> shared = new IdentityHashMap<>();
    RecordingVolume volume = new RecordingVolume(RecordingDisk.of(image.root(), shared));
    image.stores().forEach((name, files) -> volume.stores.put(name, RecordingDisk.of(files, shared)));
    return volume;
  }

  /** One crash state of the whole volume now (see {@link RecordingDisk#crashImage(Random)}). */
  public synchronized Image crashImage(Random random) {
    Map<String, RecordingDisk> disks = new TreeMap<>(stores);
    disks.put(ROOT, root);
    Map<String, Map<String, byte[]>> all = RecordingDisk.crashImage(disks, random);
    Map<String, byte[]> rootImage = all.remove(ROOT);
    return new Image(rootImage, all);
  }

  /**
   * Calls observer with the operation's name after every change to any directory ("write",
   * "flush", "create", "rename", "delete", "truncate", "link", "mkdir", "rmdir"), in the changing
   * thread. Null removes it.
   */
  public synchronized void observe(Consumer<String> observer) {
    this.observer = observer;
    root.observe(observer);
    for (RecordingDisk d : stores.values()) {
      d.observe(observer);
    }
  }

  private void changed(String operation) {
    Consumer<String> o = observer;
    if (o != null) {
      o.accept(operation);
    }
  }

  @Override
  public Disk root() {
    return root;
  }

  @Override
  public boolean exists(String name) {
    return root.list().contains(name);
  }

  @Override
  public synchronized List<String> stores() {
    return new ArrayList<>(stores.keySet());
  }

  @Override
  public Disk store(String name) {
    RecordingDisk disk;
    boolean created = false;
    synchronized (this) {
      disk = stores.get(name);
      if (disk == null) {
        disk = new RecordingDisk();
        disk.observe(observer);
        stores.put(name, disk);
        created = true;
      }
    }
    if (created) {
      changed("mkdir");
    }
    return disk;
  }

  @Override
  public void deleteStore(String name) throws IOException {
    RecordingDisk disk;
    synchronized (this) {
      disk = stores.get(name);
    }
    if (disk == null) {
      return;
    }
    for (String file : disk.list()) {
      disk.delete(file);
    }
    synchronized (this) {
      stores.remove(name);
    }
    changed("rmdir");
  }

  @Override
  public void link(String fromStore, String file, String toStore) throws IOException {
    RecordingDisk from;
    synchronized (this) {
      from = stores.get(fromStore);
    }
    if (from == null) {
      throw new NoSuchFileException(fromStore + "/" + file);
    }
    from.linkTo(file, (RecordingDisk) store(toStore));
  }

  @Override
  public Path path(String store) {
    return Path.of("recording-volume", store);
  }

  @Override
  public void close() {}

  /** Names and sizes, for failure messages. */
  @Override
  public synchronized String toString() {
    return "RecordingVolume{root=" + root + ", stores=" + stores + "}";
  }
}
