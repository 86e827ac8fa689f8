package io.respawn.storage;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/** A Disk whose flush takes a fixed time, like a real fsync, and counts calls. */
final class SlowFlushDisk implements Disk {
  private final Disk inner;
  private final long flushMicros;
  final AtomicLong flushes = new AtomicLong();
  final AtomicLong writes = new AtomicLong();

  SlowFlushDisk(Disk inner, long flushMicros) {
    this.inner = inner;
    this.flushMicros = flushMicros;
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
    writes.incrementAndGet();
    inner.write(name, position, src);
  }

  @Override
  public void flush(String name) throws IOException {
    flushes.incrementAndGet();
    try {
      TimeUnit.MICROSECONDS.sleep(flushMicros);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
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
