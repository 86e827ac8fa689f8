package io.respawn.bench.storage;

import io.respawn.storage.Disk;
import io.respawn.storage.ForwardingDisk;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.atomic.LongAdder;

/** Wraps a {@link Disk} and counts writes and flushes, to show how much group commit combines. */
final class CountingDisk extends ForwardingDisk {
  final LongAdder writes = new LongAdder();
  final LongAdder flushes = new LongAdder();

  CountingDisk(Disk inner) {
    super(inner);
  }

  @Override
  public void write(String name, long position, ByteBuffer src) throws IOException {
    writes.increment();
    super.write(name, position, src);
  }

  @Override
  public void flush(String name) throws IOException {
    flushes.increment();
    super.flush(name);
  }
}
