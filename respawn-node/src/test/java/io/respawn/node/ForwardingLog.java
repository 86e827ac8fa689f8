package io.respawn.node;

import io.respawn.core.Entry;
import io.respawn.core.HardState;
import io.respawn.core.PersistentState;
import java.util.List;

/** A {@link ReplicaLog} that passes every call on; tests override what they change. */
class ForwardingLog implements ReplicaLog {
  protected final ReplicaLog inner;

  ForwardingLog(ReplicaLog inner) {
    this.inner = inner;
  }

  @Override
  public PersistentState load(io.respawn.core.SnapshotMeta base) {
    return inner.load(base);
  }

  @Override
  public void resetAfter(long index) {
    inner.resetAfter(index);
  }

  @Override
  public HardState hardState() {
    return inner.hardState();
  }

  @Override
  public long firstIndex() {
    return inner.firstIndex();
  }

  @Override
  public long lastIndex() {
    return inner.lastIndex();
  }

  @Override
  public long termAt(long index) {
    return inner.termAt(index);
  }

  @Override
  public List<Entry> read(long fromIndex, long toIndexInclusive, long bytesMax) {
    return inner.read(fromIndex, toIndexInclusive, bytesMax);
  }

  @Override
  public long lastFlushedIndex() {
    return inner.lastFlushedIndex();
  }

  @Override
  public void saveHardState(HardState hardState) {
    inner.saveHardState(hardState);
  }

  @Override
  public void append(List<Entry> entries) {
    inner.append(entries);
  }

  @Override
  public void truncateSuffix(long fromIndex) {
    inner.truncateSuffix(fromIndex);
  }

  @Override
  public void truncatePrefix(long throughIndex) {
    inner.truncatePrefix(throughIndex);
  }

  @Override
  public void flush() {
    inner.flush();
  }

  @Override
  public void close() {
    inner.close();
  }
}
