package io.respawn.storage;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/** A Disk whose flush takes a fixed time, like a real fsync, and counts calls. */
final class SlowFlushDisk extends ForwardingDisk {
  private final long flushMicros;
  final AtomicLong flushes = new AtomicLong();
  final AtomicLong writes = new AtomicLong();

  SlowFlushDisk(Disk inner, long flushMicros) {
    super(inner);
    this.flushMicros = flushMicros;
  }

  @Override
  public void write(String name, long position, ByteBuffer src) throws IOException {
    writes.incrementAndGet();
    super.write(name, position, src);
  }

  @Override
  public void flush(String name) throws IOException {
    flushes.incrementAndGet();
    try {
      TimeUnit.MICROSECONDS.sleep(flushMicros);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    super.flush(name);
  }
}
