package io.respawn.node.log;

import io.respawn.core.Entry;
import io.respawn.core.HardState;
import io.respawn.core.PersistentState;
import io.respawn.core.SnapshotMeta;
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
 * synchronous. Prefix truncation and {@link #resetAfter} are durable at once (both lists move
 * their first index). For tests and for the simulator, where a bug it finds belongs to the
 * runtime or the core, not to a file format.
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
  /** Index of {@code current.get(0)} and of {@code durable.get(0)}. */
  private long first = 1;
  private long durableFirst = 1;

  @Override
  public PersistentState load(SnapshotMeta base) {
    if (loaded) {
      throw new IllegalStateException("load() is called once, before writing");
    }
    if (first - 1 > base.index()) {
      throw new IllegalStateException("the log starts at " + first + " but the snapshot to"
          + " restart from ends at " + base.index() + ": the entries between are gone");
    }
    boolean continues = lastIndex() >= base.index()
        && (base.index() < first || termAt(base.index()) == base.term());
    if (!continues) {
      resetAfter(base.index());
    }
    loaded = true;
    List<Entry> tail = new ArrayList<>(current.subList((int) (base.index() + 1 - first),
        current.size()));
    return new PersistentState(hardState, base, tail);
  }

  @Override
  public void resetAfter(long index) {
    loaded = true;
    current.clear();
    durable.clear();
    unflushed.clear();
    first = index + 1;
    durableFirst = index + 1;
    flushedIndex = index;
  }

  @Override
  public HardState hardState() {
    return hardState;
  }

  @Override
  public long firstIndex() {
    return first;
  }

  @Override
  public long lastIndex() {
    return first - 1 + current.size();
  }

  @Override
  public long termAt(long index) {
    return index < first || index > lastIndex() ? 0 : current.get((int) (index - first)).term();
  }

  @Override
  public long lastFlushedIndex() {
    return flushedIndex;
  }

  @Override
  public List<Entry> read(long fromIndex, long toIndexInclusive, long bytesMax) {
    if (fromIndex < first || fromIndex > lastIndex()) {
      throw new io.respawn.storage.StorageException("read from " + fromIndex + " outside ["
          + first + ", " + lastIndex() + "]");
    }
    List<Entry> out = new ArrayList<>();
    long bytes = 0;
    for (long i = fromIndex; i <= Math.min(toIndexInclusive, lastIndex())
        && (out.isEmpty() || bytes <= bytesMax); i++) {
      Entry e = current.get((int) (i - first));
      out.add(e);
      bytes += io.respawn.core.codec.EntryCodec.encodeBody(e).length;
    }
    return out;
  }

  @Override
  public void saveHardState(HardState hs) {
    hardState = Objects.requireNonNull(hs, "hardState");
  }

  @Override
  public void append(List<Entry> entries) {
    loaded = true;
    for (Entry e : entries) {
      if (e.index() != lastIndex() + 1 || e.term() < termAt(lastIndex())) {
        throw new IllegalArgumentException("append " + e.term() + "/" + e.index() + " after "
            + termAt(lastIndex()) + "/" + lastIndex());
      }
      current.add(e);
      unflushed.add(new Op(e, 0));
    }
  }

  @Override
  public void truncateSuffix(long fromIndex) {
    loaded = true;
    if (fromIndex < first || fromIndex > lastIndex() + 1) {
      throw new IllegalArgumentException("truncate from " + fromIndex + " outside [" + first
          + ", " + (lastIndex() + 1) + "]");
    }
    if (fromIndex == lastIndex() + 1) {
      return;
    }
    truncate(current, first, fromIndex);
    unflushed.add(new Op(null, fromIndex));
    flushedIndex = Math.min(flushedIndex, fromIndex - 1);
  }

  @Override
  public void truncatePrefix(long throughIndex) {
    if (throughIndex < first) {
      return;
    }
    if (throughIndex > flushedIndex) {
      throw new IllegalArgumentException("truncate prefix through " + throughIndex
          + " beyond the flushed index " + flushedIndex);
    }
    // flushed, so the durable image holds the same prefix
    current.subList(0, (int) (throughIndex + 1 - first)).clear();
    durable.subList(0, (int) Math.min(durable.size(), throughIndex + 1 - durableFirst)).clear();
    first = throughIndex + 1;
    durableFirst = first;
  }

  @Override
  public void flush() {
    for (Op op : unflushed) {
      replay(op, durable, durableFirst);
    }
    unflushed.clear();
    flushedIndex = lastIndex();
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
      replay(unflushed.get(i), durable, durableFirst);
    }
    restartFromDurable();
    return lost;
  }

  /**
   * Power loss in the crash state that keeps no unflushed change: the durable image alone.
   * Returns true if at least one unflushed change was lost.
   */
  public boolean machineCrashKeepingNothingUnflushed() {
    boolean lost = !unflushed.isEmpty();
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
    first = durableFirst;
    flushedIndex = lastIndex();
    loaded = false;
  }

  private static void replay(Op op, List<Entry> target, long targetFirst) {
    if (op.appended() != null) {
      target.add(op.appended());
    } else {
      truncate(target, targetFirst, op.truncateFrom());
    }
  }

  private static void truncate(List<Entry> log, long logFirst, long fromIndex) {
    while (logFirst - 1 + log.size() >= fromIndex) {
      log.remove(log.size() - 1);
    }
  }
}
