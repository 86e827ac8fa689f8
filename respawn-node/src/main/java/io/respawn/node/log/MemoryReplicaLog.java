package io.respawn.node.log;

import io.respawn.core.Entry;
import io.respawn.core.HardState;
import io.respawn.core.PersistentState;
import io.respawn.node.ReplicaLog;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.SplittableRandom;

/**
 * A {@link ReplicaLog} in memory that models exactly the port's contract and nothing else: the
 * durable image is a list, the unflushed changes a list of operations (one per appended entry or
 * truncation). {@link #machineCrash} keeps the durable image plus a random prefix of those
 * operations; {@link #processCrash} keeps everything (the page cache survives kill -9). Flush is
 * synchronous. For tests and for the simulator, where a bug it finds belongs to the runtime or
 * the core, not to a file format.
 */
public final class MemoryReplicaLog implements ReplicaLog {

  /** One unflushed change: an appended entry, or a truncation from an index. */
  private record Op(Entry appended, long truncateFrom) {}

  private HardState hardState = HardState.INITIAL;
  private final List<Entry> durable = new ArrayList<>();
  private final List<Entry> current = new ArrayList<>();
  private final List<Op> unflushed = new ArrayList<>();
  private long flushedIndex;
  private boolean loaded;

  @Override
  public PersistentState load() {
    if (loaded) {
      throw new IllegalStateException("load() is called once, before writing");
    }
    loaded = true;
    return new PersistentState(hardState, current);
  }

  @Override
  public HardState hardState() {
    return hardState;
  }

  @Override
  public long firstIndex() {
    return 1;
  }

  @Override
  public long lastIndex() {
    return current.size();
  }

  @Override
  public long termAt(long index) {
    return index < 1 || index > current.size() ? 0 : current.get((int) index - 1).term();
  }

  @Override
  public long lastFlushedIndex() {
    return flushedIndex;
  }

  @Override
  public void saveHardState(HardState hs) {
    hardState = Objects.requireNonNull(hs, "hardState");
  }

  @Override
  public void append(List<Entry> entries) {
    loaded = true;
    for (Entry e : entries) {
      if (e.index() != current.size() + 1 || e.term() < termAt(current.size())) {
        throw new IllegalArgumentException("append " + e.term() + "/" + e.index() + " after "
            + termAt(current.size()) + "/" + current.size());
      }
      current.add(e);
      unflushed.add(new Op(e, 0));
    }
  }

  @Override
  public void truncateSuffix(long fromIndex) {
    loaded = true;
    if (fromIndex < 1 || fromIndex > current.size() + 1) {
      throw new IllegalArgumentException("truncate from " + fromIndex + " outside [1, "
          + (current.size() + 1) + "]");
    }
    if (fromIndex == current.size() + 1) {
      return;
    }
    truncate(current, fromIndex);
    unflushed.add(new Op(null, fromIndex));
    flushedIndex = Math.min(flushedIndex, fromIndex - 1);
  }

  @Override
  public void truncatePrefix(long throughIndex) {
    if (throughIndex >= 1) {
      throw new UnsupportedOperationException("the in-memory model keeps the whole log");
    }
  }

  @Override
  public void flush() {
    for (Op op : unflushed) {
      replay(op, durable);
    }
    unflushed.clear();
    flushedIndex = current.size();
  }

  @Override
  public void close() {}

  /**
   * Power loss: the durable image survives, plus a random prefix of the unflushed changes.
   * Returns true if at least one unflushed change was lost.
   */
  public boolean machineCrash(SplittableRandom random) {
    int keep = unflushed.isEmpty() ? 0 : random.nextInt(unflushed.size() + 1);
    boolean lost = keep < unflushed.size();
    for (int i = 0; i < keep; i++) {
      replay(unflushed.get(i), durable);
    }
    restartFromDurable();
    return lost;
  }

  /** kill -9: the operating system keeps every write. */
  public void processCrash() {
    flush();
    restartFromDurable();
  }

  private void restartFromDurable() {
    unflushed.clear();
    current.clear();
    current.addAll(durable);
    flushedIndex = current.size();
    loaded = false;
  }

  private static void replay(Op op, List<Entry> target) {
    if (op.appended() != null) {
      target.add(op.appended());
    } else {
      truncate(target, op.truncateFrom());
    }
  }

  private static void truncate(List<Entry> log, long fromIndex) {
    while (log.size() >= fromIndex) {
      log.remove(log.size() - 1);
    }
  }
}
