package io.respawn.sim.storage;

import io.respawn.core.Entry;
import io.respawn.core.HardState;
import io.respawn.core.PersistentState;
import io.respawn.storage.LogEngine;
import io.respawn.storage.Mutation;
import io.respawn.storage.StorageConfig;
import io.respawn.storage.StoredValue;
import io.respawn.storage.crash.RecordingDisk;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.SplittableRandom;

/**
 * {@link ReplicaStorage} through the real storage engine ({@link LogEngine}) on a
 * {@link RecordingDisk}, so every simulated crash goes through the engine's recovery.
 *
 * <p>Layout in the engine's key space: {@code hs} holds the hard state, {@code log/<index>}
 * one entry each ({@link EntryCodec}). One Ready's hard state, truncation (deletes) and appends
 * are one atomic batch. {@link #write} asks only for ORDERED; {@link #sync} waits for the
 * durability notice, which with {@code flushIntervalMillis = 0} runs the fsync on this thread,
 * so the run stays deterministic. A crash replaces the disk with one of the crash states the
 * disk contract allows (unflushed blocks lost in any subset, some torn) and reopens the engine;
 * reads are served from a mirror of the log so the hot path does not decode.
 *
 * <p>After recovery the log must be contiguous from index 1 and contain every synced write;
 * anything else is reported by an {@link IllegalStateException}, which the simulation turns into
 * a violation with the seed.
 */
public final class EngineReplicaStorage implements ReplicaStorage {

  /** Small segments and batches: simulated disks stay tiny and fast. */
  static final StorageConfig CONFIG = StorageConfig.defaults()
      .withSizes(1 << 20, 256 << 10, 64, 16 << 10)
      .withFlushIntervalMillis(0)
      .withCompaction(0, 0.5, 0);

  private static final byte[] HARD_STATE_KEY = "hs".getBytes(StandardCharsets.US_ASCII);

  private RecordingDisk disk = new RecordingDisk();
  private LogEngine engine;
  private HardState hardState = HardState.INITIAL;
  private final List<Entry> log = new ArrayList<>();
  // every state a crash may legally recover to: the synced one, then one per later batch
  private final List<String> legalCrashStates = new ArrayList<>(List.of(summary()));
  private long crashes;

  public EngineReplicaStorage() {
    engine = open(disk);
  }

  private static LogEngine open(RecordingDisk disk) {
    try {
      return LogEngine.open(disk, CONFIG);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static byte[] logKey(long index) {
    return ("log/" + index).getBytes(StandardCharsets.US_ASCII);
  }

  @Override
  public void write(HardState hs, List<Entry> entries) {
    List<Mutation> batch = new ArrayList<>(entries.size() + 2);
    if (hs != null) {
      batch.add(Mutation.put(HARD_STATE_KEY, EntryCodec.encode(hs)));
      hardState = hs;
    }
    if (!entries.isEmpty()) {
      long first = entries.get(0).index();
      long lastNew = entries.get(entries.size() - 1).index();
      if (first > log.size() + 1) {
        throw new IllegalStateException("gap: appending " + first + " after " + log.size());
      }
      for (long i = log.size(); i > lastNew; i--) {
        batch.add(Mutation.delete(logKey(i)));
      }
      while (log.size() >= first) {
        log.remove(log.size() - 1);
      }
      for (Entry e : entries) {
        batch.add(Mutation.put(logKey(e.index()), EntryCodec.encode(e)));
        log.add(e);
      }
    }
    if (!batch.isEmpty()) {
      engine.apply(batch).ordered().join();
      legalCrashStates.add(summary());
    }
  }

  @Override
  public void sync() {
    engine.flushAll().join();
    legalCrashStates.clear();
    legalCrashStates.add(summary());
  }

  @Override
  public boolean crash(SplittableRandom random) {
    crashes++;
    String latest = summary();
    RecordingDisk crashed = RecordingDisk.of(disk.crashImage(new Random(random.nextLong())));
    disk = crashed;
    engine = open(crashed);
    StoredValue hs = engine.get(HARD_STATE_KEY);
    hardState = hs == null ? HardState.INITIAL : EntryCodec.decodeHardState(hs.value());
    log.clear();
    for (long i = 1; ; i++) {
      StoredValue v = engine.get(logKey(i));
      if (v == null) {
        break;
      }
      Entry e = EntryCodec.decode(v.value());
      if (e.index() != i) {
        throw new IllegalStateException("recovered log/" + i + " holds entry " + e.index());
      }
      log.add(e);
    }
    long stored = engine.keyCount() - (hs == null ? 0 : 1);
    if (stored != log.size()) {
      throw new IllegalStateException("recovered log is not contiguous: " + stored
          + " entries stored, " + log.size() + " reachable from index 1");
    }
    String recovered = summary();
    if (!legalCrashStates.contains(recovered)) {
      throw new IllegalStateException("engine recovered " + recovered
          + ", which is no prefix of the write history since the last sync: "
          + legalCrashStates);
    }
    legalCrashStates.clear();
    legalCrashStates.add(recovered);
    return !recovered.equals(latest);
  }

  /** Hard state plus last entry id: enough to tell which batch prefix survived. */
  private String summary() {
    Entry last = log.isEmpty() ? null : log.get(log.size() - 1);
    return hardState + " last=" + (last == null ? "0/0" : last.term() + "/" + last.index());
  }

  @Override
  public PersistentState recover() {
    return new PersistentState(hardState, log);
  }

  @Override
  public long termAt(long index) {
    return index < 1 || index > log.size() ? 0 : log.get((int) index - 1).term();
  }

  public long crashes() {
    return crashes;
  }
}
