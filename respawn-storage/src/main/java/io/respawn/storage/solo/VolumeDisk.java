package io.respawn.storage.solo;

import io.respawn.storage.Disk;
import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * The port {@link SoloVolume} works through: a volume directory holding a few small files of its
 * own ({@link #root()}) and store directories, each a {@link Disk} the storage engine can run on.
 *
 * <p>Contract (on top of {@link Disk}'s for each directory). {@link #store} creates a missing
 * directory durably (the name survives a crash once it returns). {@link #link} makes a second name
 * in another store for the same file (a hard link): both names then show the same bytes, and a
 * write through either is kept or lost by a crash for both alike; the new name is durable when it
 * returns, and a crash before that leaves it present or absent. Both stores must be on this
 * volume (one filesystem). {@link #deleteStore} deletes the files one by one (each durable), then
 * the directory: a crash midway leaves any subset of the files. {@link #exists} sees every
 * completed name operation of any process on the volume at once, and costs one {@code stat}.
 * Nothing here is atomic across directories.
 */
public interface VolumeDisk extends Closeable {

  /** The volume directory's own files (epoch and super records). The same instance every call. */
  Disk root();

  /** Whether {@link #root()} holds a file of this name; one {@code stat}, no caching. */
  boolean exists(String name) throws IOException;

  /** Names of the store directories, in no particular order. */
  List<String> stores() throws IOException;

  /**
   * A store directory as a {@link Disk}, created (durably) if missing. The caller closes what it
   * gets (closing twice is harmless).
   */
  Disk store(String name) throws IOException;

  /** Deletes a store directory and every file in it (not atomic, see the class contract). */
  void deleteStore(String name) throws IOException;

  /**
   * Hard-links {@code file} of store {@code fromStore} into store {@code toStore} under the same
   * name; fails if it exists there, and with {@link java.nio.file.NoSuchFileException} if the
   * source is gone. Durable on return.
   */
  void link(String fromStore, String file, String toStore) throws IOException;

  /** Where a process finds the store on this machine (the directory a standby opens). */
  Path path(String store);
}
