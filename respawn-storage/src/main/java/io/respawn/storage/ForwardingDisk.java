package io.respawn.storage;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Objects;

/**
 * A {@link Disk} that passes every call to another one; subclasses override the calls they
 * observe or change (counting, delaying or failing them). Keeps the contract of the disk it
 * wraps unless a subclass says otherwise.
 */
public abstract class ForwardingDisk implements Disk {
  protected final Disk inner;

  protected ForwardingDisk(Disk inner) {
    this.inner = Objects.requireNonNull(inner, "inner");
  }

  @Override
  public List<String> list() throws IOException {
    return inner.list();
  }

  @Override
  public void dropCached(String name) throws IOException {
    inner.dropCached(name);
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
    inner.write(name, position, src);
  }

  @Override
  public void flush(String name) throws IOException {
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
