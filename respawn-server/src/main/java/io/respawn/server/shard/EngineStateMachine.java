package io.respawn.server.shard;

import io.respawn.core.Entry;
import io.respawn.core.EntryKind;
import io.respawn.core.SnapshotMeta;
import io.respawn.node.StateMachineStore;
import io.respawn.node.snapshot.SnapshotImage;
import io.respawn.node.snapshot.SnapshotSink;
import io.respawn.storage.KvStore;
import io.respawn.storage.Mutation;
import io.respawn.storage.MutationBatchCodec;
import io.respawn.storage.ScanPage;
import io.respawn.storage.StoredValue;
import io.respawn.storage.backup.BackupKvStore;
import io.respawn.storage.backup.BackupStore;
import io.respawn.storage.image.KvImageFormat;
import io.respawn.storage.memory.WitnessTable;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * A member's state machine: values on the storage engine ({@code store}), and the keys whose
 * newest write this member knows only by its (term, index) in an off-heap {@link WitnessTable}
 * (DESIGN §3). A committed entry's command is a {@link MutationBatchCodec} batch, applied to
 * {@code store} as one atomic batch; an entry in witness form (keys and (term, index) only)
 * records the keys' timestamps in the table and makes every value the store held unknown too
 * (the entry may hide a CLEAR: see {@link #applyTimestamps}).
 *
 * <p>So a witness keeps its state in the table: as long as it follows, every entry it applies is
 * in witness form and its store stays empty. The store holds values only for keys a leading
 * witness pulled from a backup ({@link #installPulled}) or wrote itself (full entries of its own
 * term), or a witness standing in for a backup was sent in full, until the next entry in witness
 * form. A backup or a full-copy primary applies only full entries, and its table stays empty.
 *
 * <p><b>Invariant</b> (what makes reads safe): a key is in the table exactly when the newest entry
 * applied here that wrote it was in witness form and no value at least that new was installed
 * since; then the store holds nothing for it. {@link #read} reports such a key as {@link
 * Read#unknown} — its newest value lives on a backup — never as a stale or missing value. Writes
 * go to the store before the key leaves the table, and the table before the store drops a value,
 * so a reader on another thread sees the old value, the new one, or "unknown", never "absent" for
 * a key that has a value.
 *
 * <p>Recovery rule (the port's contract): the state is rebuilt from the replica log on every
 * start (the store opens empty, the table is new, {@link #appliedIndex} 0), so it can never be
 * ahead of the log it restarts with — except on a backup member whose values are in a {@link
 * BackupKvStore}: that store keeps each entry's (term, index) and survives restarts, and the
 * member starts from the index it recovered ({@link #resumingAt}) when the replica log it restarts
 * with holds that entry (ShardMember checks; otherwise it starts from an empty store). Such a
 * state machine never applies an entry in witness form: a leader sends a member that keeps
 * values full entries only ({@code Replica.sendAppend}), so its (lost on restart) table stays
 * empty; one arriving anyway is a bug and stops the node rather than leave a store that would
 * answer "absent" for a key it should call unknown after the next restart.
 *
 * <p>Snapshots (with {@link MemberImages}; see {@link #withImages}): an image is the whole state
 * at the applied index in {@link KvImageFormat}: every value as a VALUE record, every key of the
 * table as an UNKNOWN record with its (term, index). A witness's images are keys-only (its store's
 * values, pulled while it led, become UNKNOWN at the image's (term, index): it pulls them again
 * when it next leads, as after a restart from its log). Capturing walks the table, then the
 * store, on the capture thread straight into a capture file, while the node loop goes on applying
 * entries: the walk of a large state takes seconds, and a primary whose loop stopped for them
 * would fall silent, lose its leadership and stall every write meanwhile. Installing (an
 * image a leader sent) or restoring (the kept image, on start) replaces the whole state: table
 * and store emptied, then loaded from the image's records, and {@link #appliedIndex} set to the
 * image's index. A backup store takes the image as consecutive entries (see {@link
 * #loadIntoBackup}); it refuses a keys-only image.
 *
 * <p>Fuzzy images. A walk labelled {@code S} that started at applied index {@code S} (or later:
 * a witness labels its images no further than the value keepers' kept images, {@code
 * Replica.imageLabelIndexMax}) and ended while entry {@code E} was applied last holds every key as
 * of some index in {@code [S, E]}: a key written meanwhile may
 * be in it with its old value, its new one, or (deleted, or moved) not at all. The image is
 * labelled {@code S}, and the log's entries after {@code S} turn it into the exact state: every
 * entry is an idempotent write of whole values (put, delete, clear of the store; a timestamp that
 * only moves forward in the table), so replaying {@code S+1..E} over a state holding some of
 * their effects gives the state they lead to; a key none of them wrote is in the image as it was
 * at {@code S}, since the walks of the table and of the store return every key present for their
 * whole length. Two changes happen outside the log: a pulled value leaves the table for the store
 * (only in a state that has a table, whose images are keys-only: the table is walked first, so
 * the key is met in one or the other or both, and named either way), and a witness-form entry turns the store's keys into timestamps (replaying it
 * cannot restore keys the walk missed: the capture is abandoned, as it is when the state is
 * replaced by an install). The image says {@code E} ({@link
 * io.respawn.node.snapshot.SnapshotImage#effectsThroughIndex}), and the runtime keeps it only
 * once the shard holds {@code E} durably: a kept image never holds an effect the shard could
 * still lose in a crash; its log keeps every entry after {@code S}.
 *
 * <p>Owned by the node loop thread; {@link #store} is thread-safe for the command thread's reads,
 * and {@link #unknownKeyCount} and {@link #unknownKeyBytes} may be read from any thread. Owns the
 * table ({@link #close} frees it); not the store.
 */
public final class EngineStateMachine
    implements StateMachineStore<Void>, io.respawn.node.recovery.RecoverableStore, AutoCloseable {
  private static final org.slf4j.Logger log =
      org.slf4j.LoggerFactory.getLogger(EngineStateMachine.class);
  /** What a read finds: a value, absent ({@code value == null, !unknown}), or unknown here. */
  public record Read(StoredValue value, boolean unknown) {
    static final Read ABSENT = new Read(null, false);
    static final Read UNKNOWN = new Read(null, true);
  }

  /** Keys asked of the store per scan page when its values become unknown. */
  static final int STORE_SCAN_PAGE_KEYS = 1000;
  /**
   * Keys a witness that follows again moves from its store into the table per entry it applies
   * in witness form ({@link #applyTimestamps}): about a millisecond of the event loop each. Moving
   * all of them at once stood a witness's loop still for 5.3 s at 4 M keys (E2, a failover during
   * the load and leadership given back): no heartbeat answered, no vote, while its peers counted on
   * it.
   */
  static final int DRAIN_KEYS_PER_ENTRY = 2 * STORE_SCAN_PAGE_KEYS;

  private final KvStore store;
  /** The store, when it is a backup's: full entries are applied with their (term, index). */
  private final BackupKvStore backupStore;
  /** Keys whose newest write this member applied only in witness form: key -> (term, index). */
  private final WitnessTable unknown = new WitnessTable();
  /** Node loop: the key hashes and newest known indexes of the answer being installed. */
  private long[] pullHashes = new long[0];
  private long[] pullIndexes = new long[0];
  /** Where the walk over unknown keys for {@link #unknownKeys} goes on (0: from the start). */
  private long unknownCursor;
  /** Keys a walk page returned past what the caller asked for; handed out first next time. */
  private final ArrayDeque<byte[]> unknownPending = new ArrayDeque<>();
  private long appliedIndex;
  /**
   * The newest entry applied in witness form (or loaded from a keys-only image), 0 if none: such
   * an entry may hide a CLEAR, so a value pulled at a lower index may be dead (see {@link
   * #witnessFormIndex}).
   */
  private volatile long witnessFormIndex;
  /**
   * The entry being applied or applied last: written by the node loop before an entry changes
   * anything, read by a capture's walk when it ends (what its image's effects reach).
   */
  private volatile long applyingIndex;
  /**
   * A witness that led and follows again: every key still in {@link #store} is unknown at
   * ({@link #drainTerm}, {@link #drainIndex}), the first entry it applied in witness form, unless
   * the table holds a newer timestamp; no value of the store may be served. The keys move into the
   * table a page at a time ({@link #drainSome}); the store is emptied when the last has. Volatile:
   * {@link #read} and {@link #isUnknown} may be called on other threads.
   */
  private volatile boolean draining;
  private long drainTerm;
  private long drainIndex;
  /** Where the move over the store goes on (a scan cursor; 0 at the start). */
  private long drainCursor;
  /** When the drain started ({@link System#nanoTime}), for its log line. */
  private long drainStartNanos;
  /** Where images are kept, or null: this state machine takes no snapshots. */
  private MemberImages images;
  /** Capture keys-only images (a witness). */
  private boolean keysOnlyImages;
  /** The image captured last and not yet kept (volatile: {@link #abandonCapture} may read it on any thread). */
  private volatile MemberImages.Captured captured;
  /** Told of every entry applied, for the restart's replay figures; null: none. */
  private RestartPhases restartPhases;
  /** Records the last {@link #restoreFrom} loaded. */
  private long restoredRecords;

  /** Bytes of records per batch (or backup entry) when an image is loaded. */
  static final int LOAD_BATCH_BYTES = 1 << 20;

  public EngineStateMachine(KvStore store) {
    this.store = store;
    this.backupStore = store instanceof BackupKvStore b ? b : null;
  }

  /**
   * Takes snapshots into {@code images} from now on (keys-only ones when {@code keysOnly}: a
   * witness). Call before the runtime starts.
   */
  public EngineStateMachine withImages(MemberImages images, boolean keysOnly) {
    this.images = images;
    this.keysOnlyImages = keysOnly;
    return this;
  }

  /**
   * A state machine over a backup store that recovered the effects of every entry up to {@code
   * appliedIndex} (the caller checked that the replica log it restarts with holds that entry):
   * the runtime hands over only the entries after it.
   */
  public static EngineStateMachine resumingAt(BackupKvStore store, long appliedIndex) {
    if (appliedIndex < 0) {
      throw new IllegalArgumentException("appliedIndex " + appliedIndex + " must be >= 0");
    }
    EngineStateMachine m = new EngineStateMachine(store);
    m.appliedIndex = appliedIndex;
    m.applyingIndex = appliedIndex;
    return m;
  }

  public KvStore store() {
    return store;
  }

  /** Tells {@code phases} of every entry applied from now on (the restart's log replay). */
  EngineStateMachine withRestartPhases(RestartPhases phases) {
    this.restartPhases = phases;
    return this;
  }

  /**
   * The newest log index this member applied in witness form (keys and (term, index) only), or
   * loaded from an image with keys only, 0 if none. A value a backup read at applied index A is
   * current here only if A is at least this, or the backup can say no CLEAR came after A: the
   * witness form of a FLUSHALL names no key, so the key table cannot show it.
   */
  @Override
  public long witnessFormIndex() {
    return witnessFormIndex;
  }

  @Override
  public long appliedIndex() {
    return appliedIndex;
  }

  @Override
  public Void apply(Entry entry) {
    if (entry.index() != appliedIndex + 1) {
      throw new IllegalStateException("applying index " + entry.index() + " after "
          + appliedIndex);
    }
    applyingIndex = entry.index();
    if (entry.kind() == EntryKind.NORMAL) {
      if (entry.isElided()) {
        if (backupStore != null) {
          throw new IllegalStateException("entry " + entry.index() + " arrived in witness form "
              + "at a member that keeps values on a backup store; a leader sends such a member "
              + "full entries only");
        }
        applyTimestamps(entry);
        witnessFormIndex = entry.index();
      } else {
        applyValues(entry, MutationBatchCodec.decode(entry.command().dataView()));
      }
    }
    appliedIndex = entry.index();
    if (restartPhases != null) {
      restartPhases.applied(appliedIndex);
    }
    return null;
  }

  /**
   * Witness form: the keys become unknown here. The entry may also hide a CLEAR (a FLUSHALL names
   * no key, and its witness form cannot say it was there), so no value the store held can be
   * trusted any more: every key it held becomes unknown too, at this entry's (term, index), and
   * the store is emptied. So a witness that follows again after it led holds no values; it pulls
   * them again when it next leads.
   *
   * <p>That move is spread over the entries that follow ({@link #draining}): at most {@link
   * #DRAIN_KEYS_PER_ENTRY} keys per entry applied in witness form, while reads treat every key
   * still in the store as unknown. Anything that writes to the store, installs a value or lists the
   * unknown keys finishes it first ({@link #finishDrain}): those run only when this member leads
   * again or takes a full entry, which a witness that follows rarely does.
   */
  private void applyTimestamps(Entry entry) {
    if (!draining && store.keyCount() > 0) { // a witness that never led holds none
      abandonCapture(); // the store's values stop being current behind a walk's back
      draining = true;
      drainTerm = entry.term();
      drainIndex = entry.index();
      drainCursor = 0;
      drainStartNanos = System.nanoTime();
      log.info("following in witness form after leading: the {} keys held while leading become "
          + "unknown at {}/{}, {} per entry applied", store.keyCount(), drainTerm, drainIndex,
          DRAIN_KEYS_PER_ENTRY);
    }
    unknown.recordAll(entry.command().keys(), entry.term(), entry.index()); // misses overlap
    if (draining) {
      drainSome(DRAIN_KEYS_PER_ENTRY);
    }
    unknown.reclaim();
  }

  /**
   * Moves up to about {@code keys} keys of the store into the table at the drain's timestamp
   * (the table keeps a newer one it has); empties the store after the last.
   */
  private void drainSome(int keys) {
    int moved = 0;
    do {
      ScanPage page = store.scan(drainCursor, STORE_SCAN_PAGE_KEYS);
      for (byte[] key : page.keys()) {
        unknown.record(key, drainTerm, drainIndex); // before the store lets go: never "absent"
      }
      moved += page.keys().size();
      drainCursor = page.nextCursor();
    } while (drainCursor != 0 && moved < keys);
    if (drainCursor == 0) {
      abandonCapture(); // keys leave the store behind a walk's back: not replayable
      store.apply(List.of(Mutation.clear()));
      draining = false;
      log.info("the keys held while leading are all unknown here now (moved over {} ms; {} entries "
          + "applied since)", (System.nanoTime() - drainStartNanos) / 1_000_000,
          applyingIndex - drainIndex);
    }
  }

  /** Ends a drain in progress at once (see {@link #applyTimestamps}). Node loop thread. */
  @Override
  public void finishDrain() {
    if (draining) {
      drainSome(Integer.MAX_VALUE); // scans to the store's end, then empties it
      unknown.reclaim();
    }
  }

  /** Whether keys of a store this member held when it led are still moving into the table. */
  boolean draining() {
    return draining;
  }

  /** A full entry: the store has the newest values of its keys, which are known from now on. */
  private void applyValues(Entry entry, List<Mutation> batch) {
    finishDrain(); // the store's values become trusted again, key by key
    if (backupStore != null) {
      backupStore.applyEntry(entry.term(), entry.index(), batch);
    } else {
      store.apply(batch);
    }
    if (unknown.size() == 0) {
      return; // a backup or full-copy primary: nothing is ever unknown
    }
    for (Mutation m : batch) {
      if (m.kind() == Mutation.Kind.CLEAR) {
        unknown.clear();
        unknownCursor = 0;
      } else {
        unknown.remove(m.key());
      }
    }
    unknown.reclaim();
  }

  /**
   * What a read of {@code key} finds in this state (its value, absent, or unknown: held as a
   * timestamp only, or every key while draining); the rule {@link #isUnknown} and the engine
   * give the command layer, in one answer for tests.
   */
  Read read(byte[] key) {
    if (draining) { // no value of the store may be served: every key it holds is unknown
      return unknown.lookup(key) != null || store.get(key) != null ? Read.UNKNOWN : Read.ABSENT;
    }
    StoredValue v = store.get(key);
    if (v != null) {
      return new Read(v, false);
    }
    return unknown.lookup(key) != null ? Read.UNKNOWN : Read.ABSENT;
  }

  /**
   * Up to {@code max} keys this member holds only as timestamps. Successive calls walk the table
   * on from where the last one stopped (wrapping at the end), so keys a backup could not answer
   * do not hide the others.
   */
  @Override
  public List<byte[]> unknownKeys(int max) {
    finishDrain();
    List<byte[]> out = new ArrayList<>(Math.min(max, 1024));
    while (!unknownPending.isEmpty() && out.size() < max) {
      byte[] key = unknownPending.poll();
      if (unknown.lookup(key) != null) {
        out.add(key);
      }
    }
    boolean wrapped = false;
    while (out.size() < max && unknown.size() > 0) {
      unknownCursor = unknown.keys(unknownCursor, max - out.size(), out);
      if (unknownCursor == 0) {
        if (wrapped || !out.isEmpty()) {
          break; // one pass at most: never the same key twice in one answer
        }
        wrapped = true;
      }
    }
    while (out.size() > max) {
      unknownPending.add(out.removeLast());
    }
    return out;
  }

  /**
   * A recovery begins ({@code true}: the store expects a value for every key unknown here, on top
   * of the keys it holds, and may size its index for them at once, {@link KvStore#expectKeys};
   * the table of unknown keys, which the recovery empties, does not shrink on the way, {@link
   * WitnessTable#holdSize}) or ends ({@code false}). Node loop thread.
   */
  @Override
  public void expectPulledValues(boolean begins) {
    store.expectKeys(begins ? store.keyCount() + unknown.size() : 0);
    unknown.holdSize(begins);
  }

  /**
   * Installs a value pulled from a backup that had applied everything up to {@code
   * sourceAppliedIndex}, if the key is still unknown here and the newest write this member knows
   * for it is covered by that index (else the value may be older than a write applied here since
   * the pull was sent; the key stays unknown and is asked for again). A later local write wins.
   * Returns whether it was installed.
   */
  public boolean installPulled(byte[] key, boolean found, byte[] value, long expiresAtMillis,
      long sourceAppliedIndex) {
    finishDrain();
    WitnessTable.Timestamp newest = unknown.lookup(key);
    if (newest == null || newest.index() > sourceAppliedIndex) {
      return false;
    }
    if (found) {
      store.apply(List.of(Mutation.put(key, value, expiresAtMillis)));
    }
    unknown.remove(key); // after the store has the value: a reader never sees "absent"
    unknown.reclaim();
    return true;
  }

  /**
   * Installs, as {@link #installPulled}, every value of one pull's answer that qualifies, with one
   * write to the store for all of them (a BatchPull chunk carries hundreds: one batch each instead
   * of one store write per key). {@code values} are {@code (key, found, value, expiresAtMillis)}
   * as {@link io.respawn.node.recovery.ValuePull.PulledValue}. Returns the values installed, in
   * order.
   */
  @Override
  public List<io.respawn.node.recovery.ValuePull.PulledValue> installPulled(
      List<io.respawn.node.recovery.ValuePull.PulledValue> values, long sourceAppliedIndex) {
    finishDrain();
    int n = values.size();
    if (pullHashes.length < n) {
      pullHashes = new long[Math.max(n, pullHashes.length * 2)];
      pullIndexes = new long[pullHashes.length];
    }
    long[] hashes = pullHashes;
    long[] newest = pullIndexes;
    unknown.newestIndexes(n, k -> values.get(k).key(), hashes, newest);
    List<io.respawn.node.recovery.ValuePull.PulledValue> installed = new ArrayList<>(n);
    List<Mutation> puts = new ArrayList<>(n);
    RepeatedHashes seen = n > 1 ? new RepeatedHashes(n) : null;
    for (int k = 0; k < n; k++) {
      io.respawn.node.recovery.ValuePull.PulledValue v = values.get(k);
      if (newest[k] == WitnessTable.NOT_HERE || newest[k] > sourceAppliedIndex
          || (seen != null && !seen.addFirst(hashes[k]))) {
        // Known here, older than a write known here, or twice in one answer (or a key whose
        // hash an earlier key of this answer has: it stays unknown and is asked for again).
        continue;
      }
      hashes[installed.size()] = hashes[k]; // the installed keys' hashes, in order, from 0
      installed.add(v);
      if (v.found()) {
        puts.add(Mutation.put(v.key(), v.value(), v.expiresAtMillis()));
      }
    }
    if (!puts.isEmpty()) {
      store.apply(puts);
    }
    for (int k = 0; k < installed.size(); k++) {
      // After the store has the values: a reader never sees "absent".
      unknown.remove(installed.get(k).key(), hashes[k]);
    }
    if (!installed.isEmpty()) {
      unknown.reclaim();
    }
    return installed;
  }

  /**
   * The key hashes of one answer seen so far, to install a key once if an answer names it twice
   * (open addressing over a power-of-two array at most half full; a hash of 0 is kept as 1).
   * Two keys whose hashes look alike leave the second unknown: it is asked for again.
   */
  private static final class RepeatedHashes {
    private final long[] slots;

    RepeatedHashes(int count) {
      slots = new long[Integer.highestOneBit(Math.max(2, count) * 2 - 1) << 1];
    }

    /** True if no hash alike was added before (then this one is). */
    boolean addFirst(long hash) {
      long h = hash == 0 ? 1 : hash;
      int mask = slots.length - 1;
      for (int i = (int) (h ^ (h >>> 32)) & mask; ; i = (i + 1) & mask) {
        if (slots[i] == h) {
          return false;
        }
        if (slots[i] == 0) {
          slots[i] = h;
          return true;
        }
      }
    }
  }

  /**
   * A popularity report from the primary (hashes of sampled keys): a backup store takes it for
   * its hot and cold logs; other stores have no use for it.
   */
  public void reportPopularity(long[] keyHashes) {
    if (backupStore != null) {
      backupStore.backup().reportPopularity(keyHashes);
    }
  }

  /**
   * Whether this member holds {@code key} only as a timestamp (its value is on a backup). Any
   * thread: while this member leads and serves, a key only ever leaves that state.
   */
  @Override
  public boolean isUnknown(byte[] key) {
    return (unknown.size() > 0 && unknown.lookup(key) != null)
        || (draining && store.get(key) != null);
  }

  /**
   * The newest log index known here of a write to any of {@code keys} that are still unknown (0
   * if none is): a backup that has applied that much holds values at least as new as any write to
   * them this member knows of. While a drain moves the store's keys into the table, a key still in
   * the store is unknown at the drain's index. Any thread: a command thread's priority pull asks
   * it ({@code ValueRecovery.pullNow}); it reads, and never finishes the drain itself (before,
   * it did, which on a command thread raced the node loop's own moves of the drain).
   */
  @Override
  public long newestUnknownIndex(List<byte[]> keys) {
    boolean drain = draining; // volatile read: drainIndex was written before it was set
    long drainAt = drainIndex;
    long newest = 0;
    for (byte[] key : keys) {
      WitnessTable.Timestamp t = unknown.lookup(key);
      if (t != null) {
        newest = Math.max(newest, t.index());
      } else if (drain && store.get(key) != null) {
        newest = Math.max(newest, drainAt);
      }
    }
    return newest;
  }

  /** Another member's pull of {@code key}: what {@link #read} finds, null if unknown here. */
  @Override
  public io.respawn.node.recovery.ValuePull.PulledValue answerPull(byte[] key) {
    Read r = read(key);
    if (r.unknown()) {
      return null;
    }
    byte[] value = r.value() == null ? null : r.value().value();
    return new io.respawn.node.recovery.ValuePull.PulledValue(key, value != null,
        r.value() == null ? 0 : r.value().expiresAtMillis(), value);
  }

  @Override
  public boolean hasRoomWithoutFaulting(long bytes) {
    return store.hasZeroedRoomFor(bytes);
  }

  // ---------------------------------------------------------------- snapshots

  @Override
  public SnapshotImage captureSnapshot(SnapshotMeta meta) {
    if (images == null) {
      return null;
    }
    if (meta.index() > appliedIndex) {
      throw new IllegalArgumentException("capturing " + meta + " beyond the applied index "
          + appliedIndex);
    }
    boolean keysOnly = keysOnlyImages || unknown.size() > 0 || draining;
    captured = images.capture(meta, keysOnly, (out, c) -> walkState(out, meta, keysOnly, c));
    return captured;
  }

  /**
   * Capture thread: every key of the state as records (see the class comment), the key table
   * first, then the store, while the node loop applies on. Returns the newest entry whose effects
   * the walk may have seen.
   */
  private long walkState(KvImageFormat.Writer out, SnapshotMeta meta, boolean keysOnly,
      MemberImages.Captured capture) throws IOException {
    if (keysOnly) { // a state with values only (a primary's, a backup's) has no table to walk
      List<byte[]> keys = new ArrayList<>(STORE_SCAN_PAGE_KEYS);
      long at = 0;
      do {
        stopIfAbandoned(capture);
        keys.clear();
        at = unknown.keys(at, STORE_SCAN_PAGE_KEYS, keys);
        for (byte[] key : keys) {
          WitnessTable.Timestamp ts = unknown.lookup(key);
          if (ts != null) {
            out.unknown(key, ts.term(), ts.index());
          }
        }
      } while (at != 0);
    }
    long cursor = 0;
    do {
      stopIfAbandoned(capture);
      ScanPage page = store.scan(cursor, STORE_SCAN_PAGE_KEYS);
      for (byte[] key : page.keys()) {
        if (keysOnly) {
          out.unknown(key, meta.term(), meta.index());
          continue;
        }
        // the value goes from where the store keeps it into the image, no heap copy per key
        store.readValue(key, (value, expiresAt) -> out.value(key, value, expiresAt));
      }
      cursor = page.nextCursor();
    } while (cursor != 0);
    long through = applyingIndex;
    stopIfAbandoned(capture); // abandoned before this point: the change may be in the image
    return through;
  }

  private static void stopIfAbandoned(MemberImages.Captured capture)
      throws MemberImages.CaptureAbandoned {
    if (capture.abandoned()) {
      throw new MemberImages.CaptureAbandoned(capture.meta());
    }
  }

  /**
   * Stops a walk still running: on the node loop before a change its rule does not cover (the
   * state replaced, or a store's values turned into timestamps; the runtime drops that image),
   * and on any thread when the member stops (a walk must not read a store closed under it).
   */
  void abandonCapture() {
    MemberImages.Captured c = captured;
    if (c != null && !c.ready()) {
      c.abandon();
    }
  }

  @Override
  public boolean snapshotFailed(SnapshotImage image) {
    return image instanceof MemberImages.Captured c && c.failed();
  }

  @Override
  public boolean snapshotReady(SnapshotImage image) {
    return !(image instanceof MemberImages.Captured c) || c.ready();
  }

  @Override
  public void keepSnapshot(SnapshotImage image) {
    if (captured == null || captured != image) {
      throw new IllegalArgumentException("keeping " + image + ", which was not captured last");
    }
    images.keep(captured);
    captured = null;
  }

  @Override
  public SnapshotImage keptSnapshot() {
    return images == null ? null : images.kept();
  }

  @Override
  public SnapshotSink stageSnapshot(SnapshotMeta meta, boolean keysOnly, long bodyBytes) {
    if (images == null) {
      throw new UnsupportedOperationException("this member takes no snapshots");
    }
    if (keysOnly && backupStore != null) {
      throw new IllegalArgumentException("a keys-only image was sent to a member that keeps "
          + "values on a backup store; refused");
    }
    return images.stage(meta, keysOnly, bodyBytes);
  }

  @Override
  public io.respawn.node.snapshot.SnapshotReceiver.Resumed resumeStaging(long snapshotIndex,
      long snapshotTerm, long totalBytes) {
    return images == null ? null : images.resume(snapshotIndex, snapshotTerm, totalBytes);
  }

  @Override
  public void installSnapshot(SnapshotMeta meta, SnapshotSink staged) {
    if (!(staged instanceof MemberImages.Staging s) || !s.meta.equals(meta)) {
      throw new IllegalArgumentException("installing " + meta + " from " + staged);
    }
    captured = null;
    restoreFrom(images.installStaged(s));
  }

  /**
   * Replaces the whole state by {@code image}'s (the kept image, on start; or one just installed)
   * and sets the applied index to its index, in one sequential pass over the body: its records go
   * to the store in batches of {@link #LOAD_BATCH_BYTES} (on a shard member's memory store that
   * is index inserts and nothing else), its body's checksum checked as it is read.
   *
   * <p>Whole or refused, never half-loaded: should the load fail part way (the body's checksum or
   * format is wrong, a read fails), the state is emptied (store and table) and an {@link
   * IllegalStateException} says so: the caller must not serve from this state machine. A member
   * on start then refuses to start, naming the image; on install the node loop stops and the
   * process restarts from its kept image. A backup store is not emptied: it kept entries ending
   * below the image's index, which the next start finds behind the image and loads again from it
   * ({@link ShardMember#openBackup}).
   */
  public void restoreFrom(ImageFile image) {
    long t0 = System.nanoTime();
    abandonCapture();
    draining = false; // the store is emptied below (or left behind, for a backup)
    unknown.clear();
    unknown.reclaim();
    unknownCursor = 0;
    unknownPending.clear();
    try (InputStream in = image.body()) {
      KvImageFormat.Reader r = new KvImageFormat.Reader(in);
      if (backupStore != null) {
        loadIntoBackup(image, r);
      } else {
        store.apply(List.of(Mutation.clear()));
        loadIntoEngine(r);
      }
      restoredRecords = r.records();
    } catch (IOException | RuntimeException e) {
      if (backupStore == null) {
        unknown.clear();
        unknown.reclaim();
        store.apply(List.of(Mutation.clear()));
      }
      throw new IllegalStateException("loading snapshot " + image + " failed part way ("
          + e.getMessage() + "); the state was " + (backupStore == null ? "emptied"
          : "left behind the image, to be loaded from it again on the next start")
          + " and must not be served", e);
    }
    appliedIndex = image.meta().index();
    applyingIndex = appliedIndex;
    if (backupStore == null && unknown.size() > 0) {
      witnessFormIndex = appliedIndex; // a keys-only image may hide a CLEAR as well
    }
    if (images != null) {
      images.stats().restoreMillis.set((System.nanoTime() - t0) / 1_000_000);
    }
  }

  /** Records the last {@link #restoreFrom} loaded. */
  long restoredRecords() {
    return restoredRecords;
  }

  private void loadIntoEngine(KvImageFormat.Reader r) throws IOException {
    List<Mutation> batch = new ArrayList<>();
    long batchBytes = 0;
    long sinceReclaim = 0;
    for (KvImageFormat.Record rec = r.next(); rec != null; rec = r.next()) {
      if (rec.isValue()) {
        batch.add(Mutation.put(rec.key(), rec.value(), rec.expiresAtMillis()));
        batchBytes += rec.key().length + rec.value().length + 16;
        if (batchBytes >= LOAD_BATCH_BYTES) {
          store.apply(batch);
          batch = new ArrayList<>();
          batchBytes = 0;
        }
      } else {
        unknown.record(rec.key(), rec.term(), rec.index());
        if (++sinceReclaim % 10_000 == 0) {
          unknown.reclaim();
        }
      }
    }
    if (!batch.isEmpty()) {
      store.apply(batch);
    }
    unknown.reclaim();
  }

  /**
   * A backup store takes the image as consecutive entries of the image's term: a CLEAR and the
   * first records at index {@code I - n + 1}, ..., the last records at the image's index {@code
   * I}, where {@code n} bounds the number of batches ({@code bodyBytes / LOAD_BATCH_BYTES + 1}).
   * Those timestamps claim no more than the truth: every value in the image was written at or
   * before {@code I}. Refused when they would not be newer than what the store applied (the
   * store ignores older entries): possible only when the image's term equals the store's and
   * fewer than {@code n} entries separate them.
   */
  private void loadIntoBackup(ImageFile image, KvImageFormat.Reader r) throws IOException {
    SnapshotMeta meta = image.meta();
    long n = image.bodyBytes() / LOAD_BATCH_BYTES + 1;
    long first = meta.index() - n + 1;
    BackupStore.Timestamp last = backupStore.lastApplied();
    if (first < 1 || meta.term() < last.term()
        || (meta.term() == last.term() && first <= last.index())) {
      throw new IllegalStateException("cannot load " + image + " into the backup store, which "
          + "applied (" + last.term() + ", " + last.index() + "): " + n + " entries at term "
          + meta.term() + " ending at index " + meta.index() + " would not all be newer");
    }
    List<Mutation> batch = new ArrayList<>();
    batch.add(Mutation.clear());
    long batchBytes = 0;
    long index = first;
    for (KvImageFormat.Record rec = r.next(); rec != null; rec = r.next()) {
      if (!rec.isValue()) {
        throw new IllegalStateException("snapshot " + meta + " holds keys without values; a "
            + "backup store cannot take it");
      }
      if (batchBytes >= LOAD_BATCH_BYTES) {
        backupStore.applyEntry(meta.term(), index++, batch);
        batch = new ArrayList<>();
        batchBytes = 0;
      }
      batch.add(Mutation.put(rec.key(), rec.value(), rec.expiresAtMillis()));
      batchBytes += rec.key().length + rec.value().length + 16;
    }
    if (index > meta.index()) {
      throw new IllegalStateException("loading " + image + " took more than " + n + " entries");
    }
    backupStore.applyEntry(meta.term(), meta.index(), batch); // the last one at the image's index
  }

  /** How many keys this member holds only as timestamps. Any thread. */
  public long unknownKeyCount() {
    return unknown.size();
  }

  /** Off-heap bytes the table of those keys uses (records and slots). Any thread. */
  public long unknownKeyBytes() {
    return unknown.memoryUsedBytes();
  }

  /**
   * INFO fields of snapshots: the kept image, captures, installs, the compaction point, and the
   * progress of an image being received ({@code respawn_snapshot_receiving}: its index, 0 when
   * none; bytes staged of its body). Any thread.
   */
  public java.util.Map<String, Object> snapshotInfo() {
    java.util.Map<String, Object> f = new java.util.LinkedHashMap<>();
    if (images == null) {
      f.put("respawn_snapshots", "off");
      return f;
    }
    MemberImages.Stats s = images.stats();
    f.put("respawn_snapshot_index", s.keptIndex.get());
    f.put("respawn_snapshot_bytes", s.keptBodyBytes.get());
    f.put("respawn_snapshot_captures", s.captures.get());
    f.put("respawn_snapshot_capture_ms_last", s.captureMillisLast.get());
    f.put("respawn_snapshot_capturing", s.capturing.get());
    f.put("respawn_snapshot_kept", s.kept.get());
    f.put("respawn_snapshot_installs", s.installs.get());
    f.put("respawn_snapshot_restore_ms_last", s.restoreMillis.get());
    f.put("respawn_log_compacted_through", s.compactedThrough.get());
    f.put("respawn_snapshot_sent_bytes", s.bodyBytesServed.get());
    f.put("respawn_snapshot_receiving", s.stagingIndex.get());
    f.put("respawn_snapshot_receiving_bytes", s.stagedBodyBytes.get());
    f.put("respawn_snapshot_receiving_total_bytes", s.stagingBodyBytes.get());
    f.put("respawn_snapshot_received_bytes", s.stagedBytesReceived.get());
    f.put("respawn_snapshot_stagings_started", s.stagingsStarted.get());
    f.put("respawn_snapshot_stagings_aborted", s.stagingsAborted.get());
    f.put("respawn_snapshot_stagings_resumed", s.stagingsResumed.get());
    f.put("respawn_snapshot_resumed_bytes", s.resumedBytes.get());
    return f;
  }

  /** Frees the table; call after the node loop stopped applying and reading. */
  @Override
  public void close() {
    abandonCapture();
    unknown.close();
    if (images != null) {
      images.close();
    }
  }
}
