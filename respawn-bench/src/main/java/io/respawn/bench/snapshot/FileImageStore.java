package io.respawn.bench.snapshot;

import io.respawn.core.Entry;
import io.respawn.core.EntryKind;
import io.respawn.core.SnapshotMeta;
import io.respawn.core.codec.EntryCodec;
import io.respawn.node.StateMachineStore;
import io.respawn.node.snapshot.SnapshotImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.Map;
import java.util.zip.CRC32C;

/**
 * The compaction benchmark's store: a key-value map in memory whose snapshot image is one file,
 * {@code image.snap}, written as {@code image.snap.tmp}, fsynced and renamed over the old one.
 *
 * <pre>
 *  image.snap  | metaLen u32 | meta (EntryCodec body: NOOP/CONFIG at the snapshot's term/index) |
 *              | body (see below) |
 *  body        | count u32 | count x ( keyLen u16 | key | valueLen u32 | value ) |
 * </pre>
 *
 * Values are the command data of NORMAL entries ("set key to data"). Its members never fall behind
 * a leader's base, so it receives no snapshots (stage and install keep the port's defaults).
 * Single-threaded.
 */
final class FileImageStore implements StateMachineStore<Void> {
  private final Path dir;
  private final Map<String, byte[]> values = new HashMap<>();
  private long applied;
  private long liveBytes;
  private Image kept;

  /** Opens from the kept image in {@code dir}, if any. */
  FileImageStore(Path dir) throws IOException {
    this.dir = dir;
    Path file = dir.resolve("image.snap");
    if (Files.exists(file)) {
      byte[] all = Files.readAllBytes(file);
      ByteBuffer b = ByteBuffer.wrap(all);
      byte[] m = new byte[b.getInt()];
      b.get(m);
      Entry carrier = EntryCodec.decodeBody(m);
      SnapshotMeta meta = new SnapshotMeta(carrier.index(), carrier.term(), carrier.membership());
      byte[] body = new byte[b.remaining()];
      b.get(body);
      kept = new Image(meta, body, meta.index());
      restore(kept);
    }
  }

  long liveBytes() {
    return liveBytes;
  }

  int keys() {
    return values.size();
  }

  @Override
  public long appliedIndex() {
    return applied;
  }

  @Override
  public Void apply(Entry e) {
    applied = e.index();
    if (e.kind() == EntryKind.NORMAL && !e.isElided()) {
      String key = new String(e.command().keys().get(0), java.nio.charset.StandardCharsets.UTF_8);
      put(key, e.command().data());
    }
    return null;
  }

  private void put(String key, byte[] value) {
    byte[] old = values.put(key, value);
    liveBytes += value.length + (old == null ? key.length() : -old.length);
  }

  @Override
  public SnapshotImage captureSnapshot(SnapshotMeta meta) {
    ByteArrayOutputStream out = new ByteArrayOutputStream((int) Math.min(1L << 30,
        liveBytes + 8L * values.size() + 4));
    ByteBuffer b = ByteBuffer.allocate(4);
    out.writeBytes(b.putInt(values.size()).array());
    for (Map.Entry<String, byte[]> kv : values.entrySet()) {
      byte[] k = kv.getKey().getBytes(java.nio.charset.StandardCharsets.UTF_8);
      ByteBuffer h = ByteBuffer.allocate(2 + k.length + 4);
      h.putShort((short) k.length).put(k).putInt(kv.getValue().length);
      out.writeBytes(h.array());
      out.writeBytes(kv.getValue());
    }
    return new Image(meta, out.toByteArray(), applied); // fuzzy when labelled below applied
  }

  @Override
  public void keepSnapshot(SnapshotImage image) {
    Image img = (Image) image;
    Path tmp = dir.resolve("image.snap.tmp");
    try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE,
        StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
      Entry carrier = img.meta().membership() != null
          ? Entry.config(img.meta().term(), img.meta().index(), img.meta().membership())
          : Entry.noop(img.meta().term(), img.meta().index());
      byte[] m = EntryCodec.encodeBody(carrier);
      ByteBuffer head = ByteBuffer.allocate(4 + m.length).putInt(m.length).put(m).flip();
      while (head.hasRemaining()) {
        ch.write(head);
      }
      ByteBuffer body = ByteBuffer.wrap(img.body);
      while (body.hasRemaining()) {
        ch.write(body);
      }
      ch.force(true);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    try {
      Files.move(tmp, dir.resolve("image.snap"), StandardCopyOption.ATOMIC_MOVE,
          StandardCopyOption.REPLACE_EXISTING);
      try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
        d.force(true);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    kept = img;
  }

  @Override
  public SnapshotImage keptSnapshot() {
    return kept;
  }

  private void restore(Image image) {
    values.clear();
    liveBytes = 0;
    ByteBuffer b = ByteBuffer.wrap(image.body);
    int n = b.getInt();
    for (int i = 0; i < n; i++) {
      byte[] k = new byte[b.getShort() & 0xFFFF];
      b.get(k);
      byte[] v = new byte[b.getInt()];
      b.get(v);
      put(new String(k, java.nio.charset.StandardCharsets.UTF_8), v);
    }
    applied = image.meta().index();
  }

  /** An image held in memory (and, once kept, in the file). */
  record Image(SnapshotMeta meta, byte[] body, long effectsThroughIndex)
      implements SnapshotImage {
    @Override
    public boolean keysOnly() {
      return false;
    }

    @Override
    public long bodyBytes() {
      return body.length;
    }

    @Override
    public int bodyCrc32c() {
      CRC32C c = new CRC32C();
      c.update(body);
      return (int) c.getValue();
    }

    @Override
    public void read(long offset, byte[] dst, int dstOff, int len) {
      System.arraycopy(body, (int) offset, dst, dstOff, len);
    }

    @Override
    public SnapshotImage keysOnlyView() {
      return this;
    }
  }
}
