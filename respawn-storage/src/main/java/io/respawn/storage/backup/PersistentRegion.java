package io.respawn.storage.backup;

import java.io.Closeable;
import java.io.IOException;

/**
 * The persistent buffer's port: a fixed-size, byte-addressable region of persistent memory — a
 * memory-mapped file ({@link MappedRegion}) standing in for NVMM, or a file behind a {@code Disk}
 * ({@link DiskRegion}) for crash tests and the simulator.
 *
 * <p>Contract. {@link #write} stores bytes that {@link #read} sees at once and that survive a
 * crash of the process (they are in the page cache). Until a later {@link #force} of a range
 * holding them completes, a crash of the machine may lose any subset of them, in any order, at
 * block granularity, and a block may be torn (partly written); bytes never written read back as
 * zeros. A completed {@link #force} makes every write to its range that completed before it
 * began durable, and says nothing about the rest of the region. Reads and writes of disjoint
 * ranges may run on different threads at once, and {@link #force} may run while writes go on.
 * A failing device shows as an {@link java.io.UncheckedIOException} from write or read and an
 * {@link IOException} from force.
 */
public interface PersistentRegion extends Closeable {

  /** Size of the region in bytes; fixed. */
  long sizeBytes();

  /** Stores src[from, from+length) at offset (volatile until {@link #force}). */
  void write(long offset, byte[] src, int from, int length);

  /** Copies [offset, offset+length) into dst[from..]. */
  void read(long offset, byte[] dst, int from, int length);

  /** Makes every completed write to [offset, offset+length) durable (msync of those pages). */
  void force(long offset, long length) throws IOException;

  /**
   * Prepares the pages of [offset, offset+length) for cheap writes, changing no byte even while
   * other threads write there. A mapped file takes a write fault on the first store to each clean
   * page (on ext4 it may wait for the journal, for milliseconds when other processes fsync):
   * doing it at open, and just before taking a lock to write, keeps that wait out of the lock.
   */
  default void pretouch(long offset, long length) {}

  /**
   * The caller will force {@code [offset, offset + length)} often and on its own (the buffer's
   * checkpoint page): keep the cost of that force to those pages, not the neighbours the
   * operating system caches with them. Changes no byte; call it before the first read or write.
   * May make earlier writes durable (as a force would).
   */
  default void keepApart(long offset, long length) throws IOException {}

  /**
   * Starts writing the pages of {@code [offset, offset + length)} to the device in the
   * background, now rather than whenever the operating system gets to them, and returns without
   * waiting: for a range whose bytes the caller no longer needs kept (the buffer's released ring
   * space), so that its dirty pages leave in small pieces instead of piling up. Makes nothing
   * durable (a crash may still lose any of those writes, as above) and changes no byte. Worst
   * case: nothing is started (the default; not Linux), as before; or the call blocks while the
   * device's queue is full, so only background threads call it.
   */
  default void startWriteBack(long offset, long length) {}

  /** Unmaps; does not force. */
  @Override
  void close() throws IOException;

  /** Formats a brand-new region before it becomes visible under its name. */
  @FunctionalInterface
  interface Initializer {
    void initialize(PersistentRegion fresh) throws IOException;
  }
}
