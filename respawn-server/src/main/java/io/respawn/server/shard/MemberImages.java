package io.respawn.server.shard;

import io.respawn.core.SnapshotMeta;
import io.respawn.node.snapshot.SnapshotFormat;
import io.respawn.node.snapshot.SnapshotImage;
import io.respawn.storage.BackgroundPriority;
import io.respawn.storage.image.KvImageFormat;
import io.respawn.node.snapshot.SnapshotSink;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import java.util.zip.CRC32C;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A member's snapshot images on disk, in {@code DATA/snapshot}:
 *
 * <pre>
 *  image-INDEX.snap        the kept image (at most one after a keep or an install completes)
 *  capture-INDEX.tmp       an image being captured: written and forced on the capture thread,
 *                          renamed to image-INDEX.snap when kept
 *  staging-TERM-INDEX.part an image a leader is sending: its envelope's header, then the body
 *                          bytes received so far; on install the trailer is appended, the file
 *                          forced and renamed to image-INDEX.snap
 * </pre>
 *
 * Every file is in the runtime's envelope ({@link SnapshotFormat}, body {@code KvImageFormat}).
 * Keeping is atomic: a rename over nothing, then the directory forced, then older images deleted;
 * a crash leaves the old image, or the new one, or both (the newer one wins on open). {@link
 * #open} deletes what a crash left half-done (captures, staging) and every image but the newest
 * that opens cleanly.
 *
 * <p>Worst case: capturing walks the whole state into a file on the capture thread, while the
 * node loop goes on (the walk's reads compete with serving for CPU and memory bandwidth, its
 * writes go through the page cache; nothing of the state is copied onto the Java heap); {@link
 * #keep} waits for nothing: the runtime keeps an image only once it is {@link Captured#ready};
 * a member holds at most two images on disk at once
 * (the kept one and the one being captured or staged), plus replaced images still being sent to
 * a peer, unlinked and freed when that transfer ends: this holds the kept image and each capture
 * until it is kept or overtaken, a transfer holds what it sends, and the last release closes the
 * file ({@link ImageFile}'s holds). Driver thread only, except {@link #stats}.
 */
final class MemberImages implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(MemberImages.class);
  static final String DIR = "snapshot";

  /** Figures for INFO; any thread. */
  static final class Stats {
    final AtomicLong keptIndex = new AtomicLong();
    final AtomicLong keptBodyBytes = new AtomicLong();
    final AtomicLong captures = new AtomicLong();
    final AtomicLong captureMillisLast = new AtomicLong();
    /** 1 while the capture thread writes an image, else 0. */
    final AtomicLong capturing = new AtomicLong();
    final AtomicLong kept = new AtomicLong();
    final AtomicLong installs = new AtomicLong();
    final AtomicLong bodyBytesServed = new AtomicLong();
    final AtomicLong stagingIndex = new AtomicLong();
    final AtomicLong stagingBodyBytes = new AtomicLong();
    final AtomicLong stagedBodyBytes = new AtomicLong();
    final AtomicLong stagingsStarted = new AtomicLong();
    final AtomicLong stagingsAborted = new AtomicLong();
    final AtomicLong stagedBytesReceived = new AtomicLong();
    final AtomicLong restoreMillis = new AtomicLong();
    /** The replica log holds no entry at or below this index (0: never compacted). */
    final AtomicLong compactedThrough = new AtomicLong();
    final AtomicLong stagingsResumed = new AtomicLong();
    final AtomicLong resumedBytes = new AtomicLong();
  }

  private final Path dir;
  private final Stats stats = new Stats();
  private final ExecutorService syncer = Executors.newSingleThreadExecutor(r -> {
    Thread t = new Thread(r, "snapshot-sync");
    t.setDaemon(true);
    return t;
  });
  /** Walks states into capture files, one at a time, off the node loop. */
  private final ExecutorService capturer = // an image walk yields to the event loop
      BackgroundPriority.lowPriorityThread("snapshot-capture");
  private ImageFile kept;
  /** The capture started last: the next one ends its hold if it was never kept. */
  private Captured lastCapture;

  private MemberImages(Path dir) {
    this.dir = dir;
  }

  /** Opens {@code dir} (created if missing), cleaning up after a crash; see the class comment. */
  static MemberImages open(Path dir) throws IOException {
    Files.createDirectories(dir);
    MemberImages images = new MemberImages(dir);
    List<Path> snaps = new ArrayList<>();
    try (Stream<Path> s = Files.list(dir)) {
      for (Path p : s.toList()) {
        String name = p.getFileName().toString();
        if (name.endsWith(".snap") && name.startsWith("image-")) {
          snaps.add(p);
        } else if (name.endsWith(".tmp")) {
          Files.delete(p); // a capture or keys view a crash cut short
        }
      }
    }
    snaps.sort((a, b) -> Long.compare(indexOf(b), indexOf(a))); // newest first
    for (Path p : snaps) {
      if (images.kept == null) {
        try {
          images.kept = ImageFile.open(p, images.stats.bodyBytesServed);
          continue;
        } catch (IOException e) {
          log.warn("snapshot image {} does not open ({}); trying an older one", p.getFileName(),
              e.getMessage());
        }
      }
      Files.delete(p);
    }
    if (images.kept != null) {
      images.published(images.kept);
    }
    return images;
  }

  private static long indexOf(Path p) {
    String n = p.getFileName().toString();
    try {
      return Long.parseLong(n.substring("image-".length(), n.length() - ".snap".length()));
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  Path dir() {
    return dir;
  }

  Stats stats() {
    return stats;
  }

  /** The image kept last, or null. */
  ImageFile kept() {
    return kept;
  }

  /**
   * Walks a state into image records on the capture thread while the node loop goes on applying
   * entries (see {@link EngineStateMachine}'s class comment for why the result is still right).
   */
  interface StateWalk {
    /**
     * Writes every record of the state to {@code out}; returns the newest entry index whose
     * effects the walk may have seen. Stops with {@link CaptureAbandoned} once {@code capture}
     * is abandoned.
     */
    long walk(KvImageFormat.Writer out, Captured capture) throws IOException;
  }

  /** A walk stopped because its capture was abandoned (the state was replaced meanwhile). */
  static final class CaptureAbandoned extends IOException {
    CaptureAbandoned(SnapshotMeta meta) {
      super("capture of snapshot image at " + meta + " abandoned");
    }
  }

  /**
   * A captured image: its meta at once; its file once the capture thread walked the state into
   * it and forced it ({@link #ready}). What the runtime holds until it keeps it.
   */
  static final class Captured implements SnapshotImage {
    final SnapshotMeta meta;
    final boolean keysOnly;
    final CompletableFuture<ImageFile> written = new CompletableFuture<>();
    /** Set once by whoever ends this hold on the written image: keeping it, or overtaking it. */
    private final java.util.concurrent.atomic.AtomicBoolean settled =
        new java.util.concurrent.atomic.AtomicBoolean();
    private volatile boolean abandoned;
    private volatile long effectsThroughIndex;

    Captured(SnapshotMeta meta, boolean keysOnly) {
      this.meta = meta;
      this.keysOnly = keysOnly;
      this.effectsThroughIndex = meta.index();
    }

    /** The file is written and forced, or the capture failed or was abandoned. */
    boolean ready() {
      return written.isDone();
    }

    /** The capture was abandoned or writing it failed: it cannot be kept. */
    boolean failed() {
      return written.isCompletedExceptionally();
    }

    /** Stops the walk at its next page: the state it walks is being replaced. Any thread. */
    void abandon() {
      abandoned = true;
    }

    boolean abandoned() {
      return abandoned;
    }

    /**
     * Ends this capture's hold on its written image, once (keeping it, or a newer capture that
     * overtook it unkept); false if that already happened or no image was written.
     */
    boolean settle() {
      if (!settled.compareAndSet(false, true)) {
        return false;
      }
      if (written.isDone() && !written.isCompletedExceptionally()) {
        written.join().release();
      }
      return true;
    }

    @Override
    public long effectsThroughIndex() {
      return effectsThroughIndex;
    }

    @Override
    public SnapshotMeta meta() {
      return meta;
    }

    @Override
    public boolean keysOnly() {
      return keysOnly;
    }

    @Override
    public long bodyBytes() {
      return written.join().bodyBytes();
    }

    @Override
    public int bodyCrc32c() {
      return written.join().bodyCrc32c();
    }

    @Override
    public void read(long offset, byte[] dst, int dstOff, int len) {
      written.join().read(offset, dst, dstOff, len);
    }

    @Override
    public SnapshotImage keysOnlyView() {
      return written.join().keysOnlyView();
    }

    @Override
    public String toString() {
      return "Captured[" + meta + (ready() ? failed() ? ", failed" : ", written" : ", walking")
          + "]";
    }
  }

  /**
   * Captures an image labelled {@code meta}: returns at once; the capture thread runs {@code
   * walk} straight into a capture file (no copy of the state in memory), forces it, and then the
   * image is {@link Captured#ready}. One capture at a time (a new one waits behind the last).
   */
  Captured capture(SnapshotMeta meta, boolean keysOnly, StateWalk walk) {
    Captured c = new Captured(meta, keysOnly);
    Captured before = lastCapture;
    lastCapture = c;
    Path tmp = dir.resolve("capture-" + meta.index() + ".tmp");
    capturer.execute(() -> {
      long t0 = System.nanoTime();
      stats.capturing.set(1);
      try {
        if (before != null) {
          before.settle(); // overtaken unkept (a kept one was settled by keep): its file goes
        }
        deleteMatching("capture-", ".tmp"); // one the runtime dropped (overtaken) unkept
        long[] through = {meta.index()};
        ImageFile.writeRecords(tmp, meta, keysOnly, out -> through[0] = walk.walk(out, c));
        force(tmp);
        io.respawn.storage.PageCache.drop(tmp); // read again only to send it or on restart
        c.effectsThroughIndex = Math.max(meta.index(), through[0]);
        stats.captures.incrementAndGet();
        stats.captureMillisLast.set((System.nanoTime() - t0) / 1_000_000);
        c.written.complete(ImageFile.open(tmp, stats.bodyBytesServed));
      } catch (IOException | RuntimeException e) {
        if (!c.abandoned()) {
          log.error("capturing snapshot image at {} failed; another is taken later", meta, e);
        }
        try {
          Files.deleteIfExists(tmp);
        } catch (IOException ignored) {
          // the next capture or start deletes it
        }
        c.written.completeExceptionally(e);
      } finally {
        stats.capturing.set(0);
      }
    });
    return c;
  }

  /**
   * Makes a captured image (written and forced: {@link Captured#ready}) the kept one: renames
   * it and forces the directory on the caller's thread, so it is durable on return; older images
   * are deleted on the sync thread.
   */
  ImageFile keep(Captured captured) {
    ImageFile image = captured.written.join();
    Path target = dir.resolve("image-" + image.meta().index() + ".snap");
    try {
      Files.move(image.path(), target, StandardCopyOption.ATOMIC_MOVE);
      forceDirectory();
      ImageFile reopened = ImageFile.open(target, stats.bodyBytesServed);
      captured.settle(); // the capture's own channel: the kept image reads through reopened
      replaceKept(reopened);
      stats.kept.incrementAndGet();
      return reopened;
    } catch (IOException e) {
      throw new UncheckedIOException("keeping snapshot image " + image.meta(), e);
    }
  }

  /** Opens a staging file for an image a leader sends. */
  Staging stage(SnapshotMeta meta, boolean keysOnly, long bodyBytes) {
    Path path = dir.resolve("staging-" + meta.term() + "-" + meta.index() + ".part");
    try {
      deleteMatching(".part");
      FileChannel ch = FileChannel.open(path, StandardOpenOption.CREATE,
          StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING);
      byte[] header = SnapshotFormat.header(meta, keysOnly, bodyBytes);
      ByteBuffer b = ByteBuffer.wrap(header);
      while (b.hasRemaining()) {
        ch.write(b);
      }
      stats.stagingsStarted.incrementAndGet();
      stats.stagingIndex.set(meta.index());
      stats.stagingBodyBytes.set(bodyBytes);
      stats.stagedBodyBytes.set(0);
      return new Staging(path, ch, meta, bodyBytes);
    } catch (IOException e) {
      throw new UncheckedIOException("staging snapshot image " + meta, e);
    }
  }

  /**
   * The staging an earlier run of this member left for the snapshot (index, term) whose envelope
   * has {@code totalBytes} bytes (it restarted mid-transfer), taken up where it stopped: its
   * header checked, the body bytes it holds checksummed again (a torn tail after a machine
   * crash only costs a mismatch at the end, and the transfer then starts over), the file cut
   * after them; null when there is none or it does not match.
   */
  io.respawn.node.snapshot.SnapshotReceiver.Resumed resume(long index, long term,
      long totalBytes) {
    Path path = dir.resolve("staging-" + term + "-" + index + ".part");
    if (!Files.exists(path)) {
      return null;
    }
    try {
      FileChannel ch = FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE);
      try {
        long size = ch.size();
        byte[] fixed = new byte[SnapshotFormat.FIXED_BYTES];
        if (size < fixed.length) {
          throw new IOException("shorter than a header");
        }
        ImageFile.readFully(ch, 0, fixed, 0, fixed.length);
        int headerBytes = SnapshotFormat.headerBytes(fixed, fixed.length);
        if (size < headerBytes) {
          throw new IOException("shorter than its header");
        }
        byte[] header = new byte[headerBytes];
        ImageFile.readFully(ch, 0, header, 0, headerBytes);
        SnapshotFormat.Header h = SnapshotFormat.parseHeader(header, headerBytes);
        if (h.meta().index() != index || h.meta().term() != term
            || headerBytes + h.bodyBytes() + SnapshotFormat.TRAILER_BYTES != totalBytes) {
          throw new IOException("names " + h.meta() + " of " + h.bodyBytes() + " body bytes");
        }
        long staged = Math.min(size - headerBytes, h.bodyBytes());
        ch.truncate(headerBytes + staged);
        ch.position(headerBytes + staged);
        Staging st = new Staging(path, ch, h.meta(), h.bodyBytes());
        st.bytes = staged;
        // the sink's CRC (for the trailer it writes) and the receiver's (which checks the
        // sender's trailer) both start over the bytes staged so far
        CRC32C receiverCrc = new CRC32C();
        byte[] buf = new byte[ImageFile.STREAM_BUFFER_BYTES];
        for (long at = 0; at < staged; ) {
          int n = (int) Math.min(buf.length, staged - at);
          ImageFile.readFully(ch, headerBytes + at, buf, 0, n);
          st.crc.update(buf, 0, n);
          receiverCrc.update(buf, 0, n);
          at += n;
        }
        stats.stagingsResumed.incrementAndGet();
        stats.resumedBytes.addAndGet(staged);
        stats.stagingIndex.set(index);
        stats.stagingBodyBytes.set(h.bodyBytes());
        stats.stagedBodyBytes.set(staged);
        log.info("taking up the staged snapshot at index {} (term {}): {} of {} body bytes "
            + "staged before this member restarted", index, term, staged, h.bodyBytes());
        return new io.respawn.node.snapshot.SnapshotReceiver.Resumed(header, st, receiverCrc);
      } catch (IOException | RuntimeException e) {
        ch.close();
        throw e;
      }
    } catch (IOException | RuntimeException e) {
      log.warn("dropping staged snapshot {}: {}", path.getFileName(), e.getMessage());
      try {
        Files.deleteIfExists(path);
      } catch (IOException ignored) {
        // the next staging deletes it
      }
      return null;
    }
  }

  /**
   * Completes a staging (every body byte arrived and the runtime checked the CRC32C): appends the
   * trailer, forces, renames it to the kept image, forces the directory, deletes older images.
   * Durable on return.
   */
  ImageFile installStaged(Staging s) {
    if (s.bytes != s.bodyBytes) {
      throw new IllegalStateException("staged " + s.bytes + " of " + s.bodyBytes
          + " body bytes of " + s.meta);
    }
    Path target = dir.resolve("image-" + s.meta.index() + ".snap");
    try {
      ByteBuffer t = ByteBuffer.wrap(SnapshotFormat.trailer((int) s.crc.getValue()));
      while (t.hasRemaining()) {
        s.channel.write(t);
      }
      s.channel.force(true);
      s.channel.close();
      Files.move(s.path, target, StandardCopyOption.ATOMIC_MOVE,
          StandardCopyOption.REPLACE_EXISTING);
      forceDirectory();
      ImageFile image = ImageFile.open(target, stats.bodyBytesServed);
      replaceKept(image);
      stats.installs.incrementAndGet();
      stats.stagingIndex.set(0);
      return image;
    } catch (IOException e) {
      throw new UncheckedIOException("installing snapshot image " + s.meta, e);
    }
  }

  /** The body of an image a leader is sending, appended to a staging file as it arrives. */
  final class Staging implements SnapshotSink {
    final Path path;
    final FileChannel channel;
    final SnapshotMeta meta;
    final long bodyBytes;
    final CRC32C crc = new CRC32C();
    long bytes;
    boolean aborted;

    Staging(Path path, FileChannel channel, SnapshotMeta meta, long bodyBytes) {
      this.path = path;
      this.channel = channel;
      this.meta = meta;
      this.bodyBytes = bodyBytes;
    }

    @Override
    public void write(byte[] src, int off, int len) {
      if (aborted) {
        throw new IllegalStateException("staging of " + meta + " was aborted");
      }
      if (bytes + len > bodyBytes) {
        throw new IllegalArgumentException("staging " + (bytes + len) + " body bytes of an image"
            + " of " + bodyBytes);
      }
      try {
        ByteBuffer b = ByteBuffer.wrap(src, off, len);
        while (b.hasRemaining()) {
          channel.write(b);
        }
      } catch (IOException e) {
        throw new UncheckedIOException("staging snapshot image " + meta, e);
      }
      crc.update(src, off, len);
      bytes += len;
      stats.stagedBodyBytes.set(bytes);
      stats.stagedBytesReceived.addAndGet(len);
    }

    @Override
    public long bytes() {
      return bytes;
    }

    @Override
    public void abort() {
      if (aborted) {
        return;
      }
      aborted = true;
      stats.stagingsAborted.incrementAndGet();
      stats.stagingIndex.set(0);
      try {
        channel.close();
        Files.deleteIfExists(path);
      } catch (IOException e) {
        log.warn("dropping staged snapshot {}: {}", path.getFileName(), e.toString());
      }
    }
  }

  private void replaceKept(ImageFile image) {
    ImageFile replaced = kept;
    kept = image;
    if (replaced != null) {
      replaced.release(); // closed now, or when the last transfer of it ends
    }
    published(image);
    syncer.execute(() -> {
      try (Stream<Path> s = Files.list(dir)) {
        for (Path p : s.toList()) {
          String name = p.getFileName().toString();
          if (name.startsWith("image-") && name.endsWith(".snap") && !p.equals(image.path())
              && indexOf(p) < image.meta().index()) {
            Files.delete(p); // a transfer still reading it keeps its open channel
          }
        }
      } catch (IOException e) {
        log.warn("deleting replaced snapshot images: {}", e.toString());
      }
    });
  }

  private void published(ImageFile image) {
    stats.keptIndex.set(image.meta().index());
    stats.keptBodyBytes.set(image.bodyBytes());
  }

  private void deleteMatching(String suffix) throws IOException {
    deleteMatching("", suffix);
  }

  private void deleteMatching(String prefix, String suffix) throws IOException {
    try (Stream<Path> s = Files.list(dir)) {
      for (Path p : s.toList()) {
        String name = p.getFileName().toString();
        if (name.startsWith(prefix) && name.endsWith(suffix)) {
          Files.delete(p);
        }
      }
    }
  }

  private static void force(Path file) {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
      ch.force(true);
    } catch (IOException e) {
      throw new UncheckedIOException("forcing " + file.getFileName(), e);
    }
  }

  private void forceDirectory() throws IOException {
    try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
      d.force(true);
    }
  }

  @Override
  public void close() {
    capturer.shutdownNow();
    syncer.shutdownNow();
  }
}
