package io.respawn.storage.crash;

import io.respawn.storage.Disk;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.NoSuchFileException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.function.Consumer;

/**
 * An in-memory {@link Disk} that records every write and flush and can produce the crash states
 * the {@link Disk} contract allows: for each file, everything written before its last completed
 * flush survives; each later write, cut into {@value #BLOCK_BYTES}-byte blocks by file offset,
 * survives whole, survives torn (a prefix of the block piece), or is lost — chosen per block by
 * a caller-supplied seeded {@link Random}, applied in a random order. Name operations (create,
 * rename, delete, truncate) are durable at once, as the contract says.
 *
 * <p>It can also fail on demand ({@link #failWrites}, {@link #failFlushes}) to test disk-full
 * handling. Thread-safe (every method synchronized); deterministic for a given call sequence and
 * seed, so the simulator can replay it.
 */
public final class RecordingDisk implements Disk {
  public static final int BLOCK_BYTES = 4096;

  /** One write not yet covered by a flush. */
  private record Write(long offset, byte[] bytes) {}

  /** Per file: what reads see, what a crash keeps for sure, and what it may keep. */
  private static final class File {
    byte[] current = new byte[0];
    int currentBytes;
    byte[] durable = new byte[0];
    final List<Write> unflushed = new ArrayList<>();
  }

  private final Map<String, File> files = new TreeMap<>();
  private long writes;
  private long flushes;
  private IOException writeFault;
  private boolean writeFaultPartial;
  private IOException flushFault;
  private Consumer<String> observer;

  public RecordingDisk() {}

  /**
   * Calls observer with the operation's name ("write", "flush", "create", "rename", "delete",
   * "truncate") after every change, in the changing thread — e.g. to take crash images in the
   * middle of a compaction. Null removes it.
   */
  public synchronized void observe(Consumer<String> observer) {
    this.observer = observer;
  }

  private void changed(String operation) {
    if (observer != null) {
      observer.accept(operation);
    }
  }

  /** A disk whose files start out with these (durable) contents, e.g. a crash state. */
  public static RecordingDisk of(Map<String, byte[]> image) {
    RecordingDisk disk = new RecordingDisk();
    for (Map.Entry<String, byte[]> e : image.entrySet()) {
      File f = new File();
      f.current = e.getValue().clone();
      f.currentBytes = f.current.length;
      f.durable = e.getValue().clone();
      disk.files.put(e.getKey(), f);
    }
    return disk;
  }

  // ---------------------------------------------------------------- faults

  /**
   * From now on every write throws this exception (null: stop failing). With {@code partial} the
   * first half of the bytes is written before it throws, as a real full disk may do.
   */
  public synchronized void failWrites(IOException fault, boolean partial) {
    this.writeFault = fault;
    this.writeFaultPartial = partial;
  }

  /** From now on every flush throws this exception (null: stop failing). */
  public synchronized void failFlushes(IOException fault) {
    this.flushFault = fault;
  }

  public synchronized long writeCount() {
    return writes;
  }

  public synchronized long flushCount() {
    return flushes;
  }

  // ---------------------------------------------------------------- crash states

  /** The files as they are now (as if every write had been flushed). */
  public synchronized Map<String, byte[]> currentImage() {
    Map<String, byte[]> image = new TreeMap<>();
    files.forEach((name, f) -> image.put(name, Arrays.copyOf(f.current, f.currentBytes)));
    return image;
  }

  /**
   * The crash state that keeps nothing written since the last flush: every file as its last
   * flush left it (a state {@link #crashImage} may also draw, when no unflushed piece survives).
   */
  public synchronized Map<String, byte[]> flushedImage() {
    Map<String, byte[]> image = new TreeMap<>();
    files.forEach((name, f) -> image.put(name, f.durable.clone()));
    return image;
  }

  /** Bytes written since the last flush, over all files. */
  public synchronized long unflushedBytes() {
    long total = 0;
    for (File f : files.values()) {
      for (Write w : f.unflushed) {
        total += w.bytes.length;
      }
    }
    return total;
  }

  /**
   * One crash state: the file contents after a crash now. Each unflushed block piece survives
   * with a probability drawn per crash state (so some states keep almost everything, some almost
   * nothing); a surviving piece is torn with probability 1/8.
   */
  public synchronized Map<String, byte[]> crashImage(Random random) {
    double survive = random.nextDouble();
    Map<String, byte[]> image = new TreeMap<>();
    for (Map.Entry<String, File> e : files.entrySet()) {
      image.put(e.getKey(), crashBytes(e.getValue(), random, survive));
    }
    return image;
  }

  /**
   * One crash state of several disks at once (a volume's directories, see RecordingVolume): a
   * file linked into several of them crashes once, and its image is the same array under each of
   * its names (so {@link #of(Map, IdentityHashMap)} can link them again). The caller keeps the
   * disks still.
   */
  static Map<String, Map<String, byte[]>> crashImage(Map<String, RecordingDisk> disks,
      Random random) {
    double survive = random.nextDouble();
    IdentityHashMap<File, byte[]> crashed = new IdentityHashMap<>();
    Map<String, Map<String, byte[]>> images = new TreeMap<>();
    for (Map.Entry<String, RecordingDisk> d : new TreeMap<>(disks).entrySet()) {
      Map<String, byte[]> image = new TreeMap<>();
      synchronized (d.getValue()) {
        for (Map.Entry<String, File> e : d.getValue().files.entrySet()) {
          byte[] bytes = crashed.get(e.getValue());
          if (bytes == null) {
            bytes = crashBytes(e.getValue(), random, survive);
            crashed.put(e.getValue(), bytes);
          }
          image.put(e.getKey(), bytes);
        }
      }
      images.put(d.getKey(), image);
    }
    return images;
  }

  /** A disk holding this image, sharing a file with other disks built with the same map when
   * their images hold the same array (a hard link that survived the crash). */
  static RecordingDisk of(Map<String, byte[]> image, IdentityHashMap<byte[], Object> shared) {
    RecordingDisk disk = new RecordingDisk();
    for (Map.Entry<String, byte[]> e : image.entrySet()) {
      File f = (File) shared.get(e.getValue());
      if (f == null) {
        f = new File();
        f.current = e.getValue().clone();
        f.currentBytes = f.current.length;
        f.durable = e.getValue().clone();
        shared.put(e.getValue(), f);
      }
      disk.files.put(e.getKey(), f);
    }
    return disk;
  }

  /**
   * Gives {@code target} a second name for this disk's file (a hard link): one file under two
   * names; a crash keeps or loses its unflushed writes for both. A linked file must not be
   * written through two disks at the same time (each disk locks only itself).
   */
  void linkTo(String name, RecordingDisk target) throws IOException {
    File f;
    synchronized (this) {
      f = file(name);
    }
    synchronized (target) {
      if (target.files.containsKey(name)) {
        throw new FileAlreadyExistsException(name);
      }
      target.files.put(name, f);
      target.changed("link");
    }
  }

  private static byte[] crashBytes(File f, Random random, double survive) {
    List<Write> pieces = new ArrayList<>();
    for (Write w : f.unflushed) {
      long at = w.offset;
      int done = 0;
      while (done < w.bytes.length) {
        long blockEnd = (at / BLOCK_BYTES + 1) * BLOCK_BYTES;
        int n = (int) Math.min(w.bytes.length - done, blockEnd - at);
        pieces.add(new Write(at, Arrays.copyOfRange(w.bytes, done, done + n)));
        at += n;
        done += n;
      }
    }
    Collections.shuffle(pieces, random);
    byte[] bytes = f.durable.clone();
    for (Write piece : pieces) {
      if (random.nextDouble() >= survive) {
        continue;
      }
      int keep = piece.bytes.length;
      if (random.nextInt(8) == 0) {
        keep = random.nextInt(piece.bytes.length); // torn
      }
      long end = piece.offset + keep;
      if (end > bytes.length) {
        bytes = Arrays.copyOf(bytes, (int) end);
      }
      System.arraycopy(piece.bytes, 0, bytes, (int) piece.offset, keep);
    }
    return bytes;
  }

  // ---------------------------------------------------------------- Disk

  @Override
  public synchronized List<String> list() {
    return new ArrayList<>(files.keySet());
  }

  @Override
  public synchronized void create(String name) throws IOException {
    if (files.containsKey(name)) {
      throw new FileAlreadyExistsException(name);
    }
    files.put(name, new File());
    changed("create");
  }

  @Override
  public synchronized long size(String name) throws IOException {
    return file(name).currentBytes;
  }

  @Override
  public synchronized int read(String name, long position, ByteBuffer dst) throws IOException {
    File f = file(name);
    if (position >= f.currentBytes) {
      return -1;
    }
    int n = (int) Math.min(dst.remaining(), f.currentBytes - position);
    dst.put(f.current, (int) position, n);
    return n;
  }

  @Override
  public synchronized void write(String name, long position, ByteBuffer src) throws IOException {
    File f = file(name);
    byte[] bytes = new byte[src.remaining()];
    src.get(bytes);
    if (writeFault != null) {
      if (writeFaultPartial && bytes.length > 1) {
        apply(f, position, Arrays.copyOf(bytes, bytes.length / 2));
      }
      throw writeFault;
    }
    apply(f, position, bytes);
    changed("write");
  }

  private void apply(File f, long position, byte[] bytes) {
    writes++;
    long end = position + bytes.length;
    if (end > Integer.MAX_VALUE - 8) {
      throw new IllegalArgumentException("RecordingDisk files are limited to 2 GiB");
    }
    if (end > f.current.length) {
      f.current = Arrays.copyOf(f.current, (int) Math.max(end, f.current.length * 2L));
    }
    System.arraycopy(bytes, 0, f.current, (int) position, bytes.length);
    f.currentBytes = (int) Math.max(f.currentBytes, end);
    f.unflushed.add(new Write(position, bytes));
  }

  @Override
  public synchronized void flush(String name) throws IOException {
    File f = file(name);
    if (flushFault != null) {
      throw flushFault;
    }
    flushes++;
    f.durable = Arrays.copyOf(f.current, f.currentBytes);
    f.unflushed.clear();
    changed("flush");
  }

  @Override
  public synchronized void truncate(String name, long size) throws IOException {
    File f = file(name);
    if (size < f.currentBytes) {
      Arrays.fill(f.current, (int) size, f.currentBytes, (byte) 0);
      f.currentBytes = (int) size;
    }
    if (size < f.durable.length) {
      f.durable = Arrays.copyOf(f.durable, (int) size);
    }
    List<Write> clipped = new ArrayList<>();
    for (Write w : f.unflushed) {
      if (w.offset < size) {
        int keep = (int) Math.min(w.bytes.length, size - w.offset);
        clipped.add(new Write(w.offset, Arrays.copyOf(w.bytes, keep)));
      }
    }
    f.unflushed.clear();
    f.unflushed.addAll(clipped);
    changed("truncate");
  }

  @Override
  public synchronized void rename(String from, String to) throws IOException {
    File f = file(from);
    if (files.containsKey(to)) {
      throw new FileAlreadyExistsException(to);
    }
    files.remove(from);
    files.put(to, f);
    changed("rename");
  }

  @Override
  public synchronized void delete(String name) throws IOException {
    file(name);
    files.remove(name);
    changed("delete");
  }

  @Override
  public void close() {}

  private File file(String name) throws IOException {
    File f = files.get(name);
    if (f == null) {
      throw new NoSuchFileException(name);
    }
    return f;
  }

  /** Names and sizes, for failure messages. */
  @Override
  public synchronized String toString() {
    Map<String, Integer> sizes = new HashMap<>();
    files.forEach((n, f) -> sizes.put(n, f.currentBytes));
    return "RecordingDisk" + sizes;
  }
}
