package io.respawn.bench.storage;

import io.respawn.storage.Disk;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.atomic.LongAdder;

/** Wraps a {@link Disk} and counts writes and flushes, to show how much group commit combines. */
final class CountingDisk implements Disk {
  private final Disk inner;
  final LongAdder writes = new LongAdder();
  final LongAdder flushes = new LongAdder();

  CountingDisk(Disk inner) {
    this.inner = inner;
  }

  @Override
  public List<String> list() throws IOException {
    return inner.list();
  }

  @Override
  public void create(String name) throws IOException {
    inner.create(name);
  }

  @Override
  public long size(String name) throws IOException {
    return inner.size(name);
  }

  @Override
  public int read(String name, long position, ByteBuffer dst) throws IOException {
    return inner.read(name, position, dst);
  }

  @Override
  public void write(String name, long position, ByteBuffer src) throws IOException {
    writes.increment();
    inner.write(name, position, src);
  }

  @Override
  public void flush(String name) throws IOException {
    flushes.increment();
    inner.flush(name);
  }

  @Override
  public void truncate(String name, long size) throws IOException {
    inner.truncate(name, size);
  }

  @Override
  public void rename(String from, String to) throws IOException {
    inner.rename(from, to);
  }

  @Override
  public void delete(String name) throws IOException {
    inner.delete(name);
  }

  @Override
  public void close() throws IOException {
    inner.close();
  }
}
