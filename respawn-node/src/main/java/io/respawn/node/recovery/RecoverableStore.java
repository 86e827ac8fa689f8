package io.respawn.node.recovery;

import io.respawn.node.recovery.ValuePull.PulledValue;
import java.util.List;

/**
 * What {@link ValueRecovery} needs of a member's state: the keys it holds only as (term, index)
 * timestamps (their values are on a backup), a way to install pulled values, and reads to answer
 * other members' pulls. The server's state machine implements it over the storage engine and its
 * key table; the simulator's over its key-value model, so both run the same recovery.
 *
 * <p>Contract. A key is <b>unknown</b> when the newest entry applied here that wrote it arrived
 * in witness form (keys and timestamps only) and no value at least that new was installed since;
 * an implementation may also call keys unknown that it cannot vouch for (the server's state
 * after an entry in witness form that may hide a FLUSHALL), never the reverse. The worst case it
 * allows: {@link #unknownKeys} may return any unknown keys in any order, fewer than asked, and
 * the same key again on a later call; {@link #installPulled} may refuse any value (the key then
 * stays unknown and is asked for again) but never installs one for a key that is known here or
 * whose newest write known here is above the source's applied index — a refusal costs a
 * round trip, a wrong install serves a stale value. A value installed is served from then on,
 * until a later write or entry in witness form replaces it. Called from the driver's thread,
 * except {@link #isUnknown}, {@link #unknownKeyCount}, {@link #newestUnknownIndex} and {@link
 * #witnessFormIndex}, which a command thread may call while this member leads ({@link
 * ValueRecovery#pullNow} sends its priority pull from there): those only read.
 */
public interface RecoverableStore {

  /** The newest log index applied here. */
  long appliedIndex();

  /**
   * The newest log index applied here in witness form (or loaded from a keys-only image), 0 if
   * none. A value a source read at an applied index below it may be older than a change this
   * member cannot see by key (a FLUSHALL's witness form names no key): it is not installed.
   */
  long witnessFormIndex();

  /** How many keys are unknown here. Any thread. */
  long unknownKeyCount();

  /** Whether {@code key} is unknown here. Any thread. */
  boolean isUnknown(byte[] key);

  /**
   * The newest log index known here of a write to any of {@code keys} that are still unknown (0
   * if none is): a source that has applied that much holds values at least as new. Any thread.
   */
  long newestUnknownIndex(List<byte[]> keys);

  /** Up to {@code max} unknown keys, each at most once per call. */
  List<byte[]> unknownKeys(int max);

  /**
   * Installs each of {@code values} (read by a source that had applied everything up to {@code
   * sourceAppliedIndex}) whose key is still unknown here and whose newest write known here that
   * index covers; returns the values installed, in order.
   */
  List<PulledValue> installPulled(List<PulledValue> values, long sourceAppliedIndex);

  /**
   * What this member holds for {@code key}, to answer another member's pull: the value, or not
   * found ({@link PulledValue#found} false); null if the key is unknown here.
   */
  PulledValue answerPull(byte[] key);

  /**
   * Finishes at once any work that moves keys into the unknown state over time (the server's
   * drain of a witness that led and follows again): a recovery starts from the whole set.
   */
  void finishDrain();

  /**
   * A recovery begins ({@code true}: a value will arrive for every key unknown now, and the
   * store may make room for them at once) or ends ({@code false}). A hint: nothing depends on it.
   */
  void expectPulledValues(boolean begins);

  /**
   * Whether values taking {@code bytes} of memory (the allocator's blocks, see {@link
   * ValueRecovery#memoryReadyFor}) fit in memory already made, so that installing them does not
   * fault fresh pages in on the driver's thread. A store that does not care answers true.
   */
  boolean hasRoomWithoutFaulting(long bytes);
}
