package io.respawn.sim.kv;

import io.respawn.core.Entry;
import io.respawn.core.EntryKind;
import io.respawn.sim.lin.Op;

/**
 * One node's key-value state: what committed entries produced, key by key, with the (term,
 * index) timestamp of the last update of each key.
 *
 * <p>A witness applies elided entries: it learns the key's new timestamp but not its value, so
 * the value becomes unknown until pulled from a backup ({@link #installPulled}). An INCR carries
 * the value its primary computed (the server's read-modify-write is proposed as the value it
 * writes), so it applies like a SET; a DEL's count on an unknown value is reported as {@link
 * #UNKNOWN_RESULT} (clients get the count their primary computed when it proposed the DEL).
 *
 * <p>Invariant: a key's timestamp never moves backwards (DESIGN §3: "only moves forward to an
 * equal or larger timestamp"); a violation is reported to the listener, not repaired.
 *
 * <p>Fuzzy images: a state restored from an image whose keys are each as of some index between
 * its index S and {@code effectsThrough} E ({@link #restore}) replays the entries S+1..E
 * idempotently: an entry at index i leaves alone a key whose timestamp is at or above i (the
 * image holds its effect already: the key was walked after i was applied), and applies to the
 * others as usual; without this the replay would set such a key back to an older value.
 * Beyond E every entry applies as usual, with the timestamp check.
 */
public final class KvStateMachine {

  /** Result of an apply whose outcome this node cannot know (its value was elided). */
  public static final long UNKNOWN_RESULT = Long.MIN_VALUE + 1;

  /** Hears about timestamp regressions. */
  public interface Listener {
    void timestampRegressed(int key, long fromTerm, long fromIndex, long toTerm, long toIndex);
  }

  private final long[] value;
  private final boolean[] known;
  private final long[] tsTerm;
  private final long[] tsIndex;
  /**
   * Keys whose value was pulled ({@link #installPulled}) and not written by an entry since: the
   * value may be newer than the key's timestamp here (the source had applied more), so images
   * carry such a key as unknown, as the server's images of a witness's state do.
   */
  private final boolean[] pulled;
  private final Listener listener;
  private long appliedIndex;
  /** The newest entry applied in elided form (or an image holding unknown keys), 0 if none. */
  private long witnessFormIndex;
  /** Entries up to here replay over a fuzzy image: keys that hold their effect are skipped. */
  private long replayThrough;

  public KvStateMachine(int keyCount, Listener listener) {
    this.value = new long[keyCount];
    this.known = new boolean[keyCount];
    this.tsTerm = new long[keyCount];
    this.tsIndex = new long[keyCount];
    this.pulled = new boolean[keyCount];
    this.listener = listener;
    java.util.Arrays.fill(value, Op.ABSENT);
    java.util.Arrays.fill(known, true);
  }

  public long appliedIndex() {
    return appliedIndex;
  }

  public boolean known(int key) {
    return known[key];
  }

  public long value(int key) {
    return value[key];
  }

  public long tsTerm(int key) {
    return tsTerm[key];
  }

  public long tsIndex(int key) {
    return tsIndex[key];
  }

  /**
   * Applies the next committed entry; returns the client-visible result for a write (0 for
   * SET/MSET, keys removed for DEL, new value for INCR) or {@link #UNKNOWN_RESULT}.
   */
  public long apply(Entry entry) {
    if (entry.index() != appliedIndex + 1) {
      throw new IllegalStateException("apply " + entry.index() + " after " + appliedIndex);
    }
    appliedIndex = entry.index();
    if (entry.kind() != EntryKind.NORMAL) {
      return 0;
    }
    if (entry.isElided()) {
      witnessFormIndex = entry.index();
      for (int key : KvCommand.keysOf(entry.command())) {
        if (holdsEffect(key, entry)) {
          continue;
        }
        stamp(key, entry);
        known[key] = false;
      }
      return UNKNOWN_RESULT;
    }
    KvCommand c = KvCommand.decode(entry.command());
    if (c.kind() != io.respawn.sim.lin.OpKind.MSET && c.kind() != io.respawn.sim.lin.OpKind.SET
        && holdsEffect(c.keys()[0], entry)) {
      return UNKNOWN_RESULT; // replayed over a fuzzy image that holds it: no client waits for it
    }
    switch (c.kind()) {
      case SET, MSET -> {
        for (int i = 0; i < c.keys().length; i++) {
          int key = c.keys()[i];
          if (holdsEffect(key, entry)) {
            continue;
          }
          stamp(key, entry);
          value[key] = c.values()[i];
          known[key] = true;
        }
        return 0;
      }
      case DEL -> {
        int key = c.keys()[0];
        long result = known[key] ? (value[key] == Op.ABSENT ? 0 : 1) : UNKNOWN_RESULT;
        stamp(key, entry);
        value[key] = Op.ABSENT;
        known[key] = true;
        return result;
      }
      case INCR -> {
        // the primary computed the new value when it proposed the INCR: the entry carries it
        int key = c.keys()[0];
        stamp(key, entry);
        value[key] = c.values()[0];
        known[key] = true;
        return value[key];
      }
      default -> throw new IllegalStateException("not a write: " + c.kind());
    }
  }

  /** Whether a replay over a fuzzy image meets a key that holds the entry's effect already. */
  private boolean holdsEffect(int key, Entry entry) {
    return entry.index() <= replayThrough && tsIndex[key] >= entry.index();
  }

  private void stamp(int key, Entry entry) {
    boolean backwards = entry.term() < tsTerm[key]
        || (entry.term() == tsTerm[key] && entry.index() < tsIndex[key]);
    if (backwards) {
      listener.timestampRegressed(key, tsTerm[key], tsIndex[key], entry.term(), entry.index());
    }
    tsTerm[key] = entry.term();
    tsIndex[key] = entry.index();
    pulled[key] = false;
  }

  /**
   * The newest entry whose effect a key of this state may hold: the applied index, or above it
   * while the entries after a fuzzy image ({@link #restore}) are still being replayed.
   */
  public long effectsThrough() {
    return Math.max(appliedIndex, replayThrough);
  }

  public int keyCount() {
    return value.length;
  }

  /**
   * Replaces the whole state (a snapshot image): every key's value (if {@code known}) and
   * timestamp, and the applied index. {@code effectsThrough} (at least {@code applied}): the
   * newest entry whose effect a key of the image may hold (above {@code applied} for a fuzzy
   * image; the entries up to it then replay idempotently, see the class comment).
   */
  public void restore(long applied, long effectsThrough, boolean[] knownIn, long[] valueIn,
      long[] tsTermIn, long[] tsIndexIn) {
    if (effectsThrough < applied) {
      throw new IllegalArgumentException("effects through " + effectsThrough + " below the"
          + " image's index " + applied);
    }
    for (long ts : tsIndexIn) {
      if (ts > effectsThrough) {
        throw new IllegalArgumentException("a key of the image at " + applied + " was written at "
            + ts + ", after the effects it may hold (" + effectsThrough + ")");
      }
    }
    replayThrough = effectsThrough;
    if (knownIn.length != value.length) {
      throw new IllegalArgumentException("image of " + knownIn.length + " keys for "
          + value.length);
    }
    System.arraycopy(knownIn, 0, known, 0, known.length);
    java.util.Arrays.fill(pulled, false);
    witnessFormIndex = 0;
    for (boolean k : knownIn) {
      if (!k) {
        witnessFormIndex = applied; // the image may have been taken from elided entries
        break;
      }
    }
    System.arraycopy(valueIn, 0, value, 0, value.length);
    System.arraycopy(tsTermIn, 0, tsTerm, 0, tsTerm.length);
    System.arraycopy(tsIndexIn, 0, tsIndex, 0, tsIndex.length);
    appliedIndex = applied;
  }

  /**
   * The newest entry applied in elided form, or the index of an image restored with unknown
   * keys; 0 if none ({@code RecoverableStore#witnessFormIndex}).
   */
  public long witnessFormIndex() {
    return witnessFormIndex;
  }

  /**
   * Takes a value pulled from a member that had applied everything up to {@code sourceApplied}
   * ({@code found} false: the key is absent there), if the key is still unknown here and its
   * newest write known here is covered by that index (the rule of the server's state machine:
   * the value is then at least as new as any write to the key this node has applied). The key's
   * timestamp stays the one this node applied. Returns whether it was taken.
   */
  public boolean installPulled(int key, boolean found, long v, long sourceApplied) {
    if (known[key] || tsIndex[key] > sourceApplied) {
      return false;
    }
    value[key] = found ? v : Op.ABSENT;
    known[key] = true;
    pulled[key] = true;
    return true;
  }

  /** Whether {@code key}'s value was pulled and no entry applied here has written it since. */
  public boolean pulled(int key) {
    return pulled[key];
  }
}
