package io.respawn.storage;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;

/**
 * The storage engine's only view of stable storage: a flat directory of named files.
 *
 * <p>Contract. {@link #write} puts bytes into a volatile cache: until a later {@link #flush} of
 * the same file completes, a crash may lose any subset of those writes, in any order, at block
 * granularity, and a block may be torn (partly written); bytes never written read back as zeros
 * (a hole). A completed {@link #flush} makes every write to that file that completed before the
 * flush began durable, and says nothing about other files. The name operations {@link #create},
 * {@link #rename}, {@link #delete} and {@link #truncate} are durable when they return (the
 * implementation syncs the directory / the file), and {@link #rename} is atomic. Reads see every
 * completed write. Any method may throw {@link IOException} (for example "No space left on
 * device"); after a failed write or flush the file content past the last completed flush is
 * unknown. Implementations are thread-safe: one file may be written and flushed concurrently.
 */
public interface Disk extends Closeable {

  /** Names of the files in the directory, in no particular order. */
  List<String> list() throws IOException;

  /** Creates an empty file; fails if it exists. Durable on return. */
  void create(String name) throws IOException;

  /** Current length of the file in bytes (including writes not yet flushed). */
  long size(String name) throws IOException;

  /**
   * Reads up to {@code dst.remaining()} bytes at position; returns the number read, -1 at end of
   * file.
   */
  int read(String name, long position, ByteBuffer dst) throws IOException;

  /** Writes all remaining bytes of src at position (volatile until {@link #flush}). */
  void write(String name, long position, ByteBuffer src) throws IOException;

  /** Makes every completed write to this file durable (fsync). */
  void flush(String name) throws IOException;

  /** Cuts the file to size bytes. Durable on return. */
  void truncate(String name, long size) throws IOException;

  /** Atomically renames a file, replacing nothing (fails if target exists). Durable on return. */
  void rename(String from, String to) throws IOException;

  /** Deletes a file. Durable on return. */
  void delete(String name) throws IOException;

  /**
   * A hint that the caller has finished writing {@code name} and will not read it soon (a sealed
   * log segment): its flushed bytes may leave the system's cache. Changes nothing the contract
   * says; worst case it does nothing (the default), and a later read of the file costs a device
   * read. Call it after a {@link #flush} of the file.
   */
  default void dropCached(String name) throws IOException {}

  /** Releases open handles; does not flush. */
  @Override
  void close() throws IOException;
}
