package io.respawn.server.shard;

import io.respawn.core.SnapshotMeta;
import io.respawn.node.snapshot.SnapshotFormat;
import io.respawn.node.snapshot.SnapshotImage;
import io.respawn.storage.image.KvImageFormat;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.lang.ref.Cleaner;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.atomic.AtomicLong;
import java.util.zip.CRC32C;

/**
 * A snapshot image in a file, in the runtime's envelope ({@link SnapshotFormat}: header, a {@link
 * KvImageFormat} body, the body's CRC32C): what a member keeps in {@code DATA/snapshot} and
 * streams to a peer. Immutable once written: the file is never written again, only renamed or
 * deleted. The channel stays open for as long as anyone holds the image, so a transfer that
 * started on an image a newer one replaced (its file unlinked) keeps reading it.
 *
 * <p>Holds: whoever opens an image holds it ({@link MemberImages}: the kept image, a capture
 * until it is kept or dropped), and each transfer takes a hold of its own ({@link #retain}, the
 * runtime's {@code SnapshotSender}). When the last hold is released the channel is closed on
 * the thread {@code snapshot-image-close} (closing the last descriptor of an unlinked image
 * frees its blocks, which on a file system mounted with {@code discard} waits for the device: a
 * killed primary's event loop spent ~0.4 s in it for ~0.7 GB; not for a node loop). Before
 * holds, the channel closed only when the collector found the object unreachable: a transfer
 * lasts seconds, the object reached the old generation, and a shard primary kept every replaced
 * image of a 2 GiB load open, unlinked, for as long as it ran (~1.8 GB of disk that no directory
 * listing shows, freed only when the process died). The collector still closes one nobody
 * released (a safety net, not the rule). Reads after the last release fail.
 *
 * <p>{@link #read} is a positional read (the driver thread, any offset); {@link #body} opens an
 * independent stream over the body.
 */
final class ImageFile implements SnapshotImage {
  private static final Cleaner CLEANER = Cleaner.create();
  /** Closes released images' channels, one at a time, off the threads that release them. */
  private static final java.util.concurrent.Executor CLOSER =
      io.respawn.storage.BackgroundPriority.lowPriorityThread("snapshot-image-close");
  /**
   * Buffer of body streams, in and out. A stream lives for a whole capture or transfer (seconds
   * under load, many young collections), so its buffer is promoted to the old generation each
   * time: 64 KiB, not 1 MiB, keeps that small (1 MiB per snapshot was a visible share of what a
   * loaded shard primary promoted), at 16 times the system calls, a few thousand per image.
   */
  static final int STREAM_BUFFER_BYTES = 64 << 10;

  /** Writes a body's records; see {@link #writeRecords}. */
  interface BodyWriter {
    void write(KvImageFormat.Writer out) throws IOException;
  }

  private final Path path;
  private final FileChannel channel;
  private final SnapshotMeta meta;
  private final boolean keysOnly;
  private final long bodyOffset;
  private final long bodyBytes;
  private final int bodyCrc32c;
  private final AtomicLong bytesServed;
  private ImageFile keysView;
  /** Holds on the image; the channel closes when they reach 0 ({@link #release}). */
  private final java.util.concurrent.atomic.AtomicInteger holds =
      new java.util.concurrent.atomic.AtomicInteger(1);
  private final Cleaner.Cleanable closer;

  private ImageFile(Path path, FileChannel channel, SnapshotFormat.Header header, int bodyCrc32c,
      AtomicLong bytesServed) {
    this.path = path;
    this.channel = channel;
    this.meta = header.meta();
    this.keysOnly = header.keysOnly();
    this.bodyOffset = header.headerBytes();
    this.bodyBytes = header.bodyBytes();
    this.bodyCrc32c = bodyCrc32c;
    this.bytesServed = bytesServed;
    this.closer = CLEANER.register(this, new Closer(channel));
  }

  /** A hold for a transfer; false once the image is closed (or closing). Any thread. */
  @Override
  public boolean retain() {
    while (true) {
      int h = holds.get();
      if (h <= 0) {
        return false;
      }
      if (holds.compareAndSet(h, h + 1)) {
        return true;
      }
    }
  }

  /**
   * Ends a hold; the last one closes the channel in the background, and ends the image's hold on
   * its keys-only view. Any thread.
   */
  @Override
  public void release() {
    int h = holds.decrementAndGet();
    assert h >= 0 : "released more often than held: " + this;
    if (h != 0) {
      return; // held still (or, past an accounting slip, closed already: never closed twice)
    }
    ImageFile view;
    synchronized (this) {
      view = keysView;
    }
    CLOSER.execute(closer::clean);
    if (view != null) {
      view.release();
    }
  }

  /** Closes the channel once nobody holds the image (no reference to it from here). */
  private record Closer(FileChannel channel) implements Runnable {
    @Override
    public void run() {
      try {
        channel.close();
      } catch (IOException ignored) {
        // nothing to do about it
      }
    }
  }

  /**
   * Opens the image in {@code path}, checking the header's checksum and that the file's length is
   * the envelope's; the body's checksum is checked by whoever reads the body ({@link #body}).
   * {@code bytesServed} counts body bytes {@link #read} hands out.
   */
  static ImageFile open(Path path, AtomicLong bytesServed) throws IOException {
    FileChannel ch = FileChannel.open(path, StandardOpenOption.READ);
    try {
      long size = ch.size();
      byte[] fixed = new byte[SnapshotFormat.FIXED_BYTES];
      readFully(ch, 0, fixed, 0, fixed.length);
      int headerBytes = SnapshotFormat.headerBytes(fixed, fixed.length);
      byte[] header = new byte[headerBytes];
      readFully(ch, 0, header, 0, headerBytes);
      SnapshotFormat.Header h = SnapshotFormat.parseHeader(header, headerBytes);
      long expected = headerBytes + h.bodyBytes() + SnapshotFormat.TRAILER_BYTES;
      if (size != expected) {
        throw new IOException("snapshot image " + path.getFileName() + ": " + size
            + " bytes, its header says " + expected);
      }
      byte[] trailer = new byte[SnapshotFormat.TRAILER_BYTES];
      readFully(ch, headerBytes + h.bodyBytes(), trailer, 0, trailer.length);
      return new ImageFile(path, ch, h, ByteBuffer.wrap(trailer).getInt(), bytesServed);
    } catch (IOException | RuntimeException e) {
      ch.close();
      throw e instanceof IOException io ? io : new IOException("snapshot image "
          + path.getFileName() + ": " + e.getMessage(), e);
    }
  }

  /**
   * Writes an image to {@code path} (created or truncated): a header naming {@code meta}, the
   * body {@code body} writes, the trailer; then the header again with the body's length. Not
   * forced: the caller forces before it relies on the file.
   */
  static void writeRecords(Path path, SnapshotMeta meta, boolean keysOnly, BodyWriter body)
      throws IOException {
    write(path, meta, keysOnly, (OutputStream out) -> {
      KvImageFormat.Writer w = new KvImageFormat.Writer(out);
      body.write(w);
      w.end();
    });
  }

  /** Writes a body's bytes; see {@link #write(Path, SnapshotMeta, boolean, RawBody)}. */
  interface RawBody {
    void writeTo(OutputStream out) throws IOException;
  }

  /** As {@link #writeRecords}, the body given as bytes. */
  static void write(Path path, SnapshotMeta meta, boolean keysOnly, RawBody body)
      throws IOException {
    try (FileChannel ch = FileChannel.open(path, StandardOpenOption.CREATE,
        StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
      byte[] provisional = SnapshotFormat.header(meta, keysOnly, 0);
      ch.position(provisional.length);
      CRC32C crc = new CRC32C();
      long[] bytes = {0};
      OutputStream raw = new OutputStream() {
        @Override
        public void write(int b) throws IOException {
          write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
          crc.update(b, off, len);
          bytes[0] += len;
          ByteBuffer buf = ByteBuffer.wrap(b, off, len);
          while (buf.hasRemaining()) {
            ch.write(buf);
          }
        }
      };
      BufferedOutputStream out = new BufferedOutputStream(raw, STREAM_BUFFER_BYTES);
      body.writeTo(out);
      out.flush();
      writeFully(ch, ByteBuffer.wrap(SnapshotFormat.trailer((int) crc.getValue())));
      byte[] header = SnapshotFormat.header(meta, keysOnly, bytes[0]);
      if (header.length != provisional.length) {
        throw new IllegalStateException("header length changed with the body length");
      }
      ch.position(0);
      writeFully(ch, ByteBuffer.wrap(header));
    }
  }

  Path path() {
    return path;
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
    return bodyBytes;
  }

  @Override
  public int bodyCrc32c() {
    return bodyCrc32c;
  }

  @Override
  public void read(long offset, byte[] dst, int dstOff, int len) {
    if (offset < 0 || len < 0 || offset + len > bodyBytes) {
      throw new IndexOutOfBoundsException("body bytes [" + offset + ", " + (offset + len)
          + ") of " + bodyBytes);
    }
    try {
      readFully(channel, bodyOffset + offset, dst, dstOff, len);
    } catch (IOException e) {
      throw new UncheckedIOException("reading snapshot image " + path.getFileName(), e);
    }
    bytesServed.addAndGet(len);
  }

  /**
   * The same state in witness form: every VALUE record becomes an UNKNOWN one at the image's
   * (term, index) (the key's newest write is no newer than that). Written once, on first use,
   * into a file that is unlinked at once (it lives as long as its channel).
   */
  @Override
  public synchronized SnapshotImage keysOnlyView() {
    if (keysOnly) {
      return this;
    }
    if (keysView == null) {
      Path tmp = path.resolveSibling("keys-" + meta.index() + "-" + System.nanoTime() + ".tmp");
      try {
        writeRecords(tmp, meta, true, out -> {
          try (InputStream in = body()) {
            KvImageFormat.Reader r = new KvImageFormat.Reader(in);
            for (KvImageFormat.Record rec = r.next(); rec != null; rec = r.next()) {
              out.unknown(rec.key(), rec.isValue() ? meta.term() : rec.term(),
                  rec.isValue() ? meta.index() : rec.index());
            }
          }
        });
        keysView = open(tmp, bytesServed);
        Files.delete(tmp);
      } catch (IOException e) {
        throw new UncheckedIOException("writing the keys-only view of " + path.getFileName(), e);
      }
    }
    return keysView;
  }

  /**
   * A stream over the body that checks, at its end, the body's CRC32C against the trailer (an
   * {@link IOException} then). Independent of {@link #read}.
   */
  InputStream body() {
    InputStream raw = new InputStream() {
      long at;
      final CRC32C crc = new CRC32C();

      @Override
      public int read() throws IOException {
        byte[] one = new byte[1];
        int n = read(one, 0, 1);
        return n < 0 ? -1 : one[0] & 0xFF;
      }

      @Override
      public int read(byte[] b, int off, int len) throws IOException {
        if (at >= bodyBytes) {
          if ((int) crc.getValue() != bodyCrc32c) {
            throw new IOException("snapshot image " + path.getFileName()
                + ": body checksum mismatch");
          }
          return -1;
        }
        int n = (int) Math.min(len, bodyBytes - at);
        readFully(channel, bodyOffset + at, b, off, n);
        crc.update(b, off, n);
        at += n;
        return n;
      }
    };
    return new BufferedInputStream(raw, STREAM_BUFFER_BYTES);
  }

  static void readFully(FileChannel ch, long position, byte[] dst, int off, int len)
      throws IOException {
    ByteBuffer b = ByteBuffer.wrap(dst, off, len);
    while (b.hasRemaining()) {
      int n = ch.read(b, position + (b.position() - off));
      if (n < 0) {
        throw new IOException("snapshot image: unexpected end of file at "
            + (position + b.position() - off));
      }
    }
  }

  private static void writeFully(FileChannel ch, ByteBuffer b) throws IOException {
    while (b.hasRemaining()) {
      ch.write(b);
    }
  }

  @Override
  public String toString() {
    return "image " + path.getFileName() + " at " + meta + (keysOnly ? " (keys only)" : "")
        + ", " + bodyBytes + " body bytes";
  }
}
