package io.respawn.server.command;

import io.respawn.storage.Durability;
import io.respawn.storage.KvStore;
import io.respawn.storage.Mutation;
import io.respawn.storage.ScanPage;
import io.respawn.storage.StoredValue;
import io.respawn.storage.WriteTicket;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;
import java.util.function.LongSupplier;

/**
 * The command thread's view of the store: reads with expiry applied (the server's clock decides),
 * and writes collected into one atomic batch that {@link #commitPass} hands to the engine. A batch
 * holds whole commands only (an MSET, a MULTI/EXEC) and usually several: everything the command
 * thread executed in one pass over its queue, so one engine append (and at most one fsync) serves
 * many clients. Reads see the not yet committed writes through an overlay ({@link
 * PendingOverlay}).
 *
 * <p>Owned by the command thread. A command that fails is rolled back ({@link #rollbackTo}), so a
 * batch never holds part of a command.
 */
final class Keyspace {
  /** Random pages RANDOMKEY tries before it walks the keyspace in order. */
  static final int RANDOM_KEY_PROBES = 100;

  private final KvStore store;
  private final LongSupplier clockMillis;
  private final ServerStats stats;
  private final Watches watches;
  private final AccessClock accessClock;
  private final SplittableRandom random = new SplittableRandom();
  private final List<Mutation> batch = new ArrayList<>();
  private final PendingOverlay overlay = new PendingOverlay(batch);
  private boolean clearedInBatch;
  /**
   * Some read of the current command was answered from the pass's pending writes (another
   * client's, not yet handed to the store): its reply must wait for the pass's acknowledgement,
   * or a client could read a write a crash or failover then loses.
   */
  private boolean observedPending;
  /** The current command reads the acknowledged state only (see {@link #readAcknowledgedOnly}). */
  private boolean acknowledgedReads;
  private long pendingBytes;
  private PassWrite passWrite;
  private WriteTicket lastTicket;
  /** See {@link #awaitDurableInline}. */
  private boolean durableInline;
  /** Committed batches whose DURABLE gates {@link #helpDurable} completes (inline mode only). */
  private final List<DurableWait> durableWaits = new ArrayList<>();

  private record DurableWait(WriteTicket ticket, CompletableFuture<Void> gate) {}
  private long nowMillis;
  /** CLIENT PAUSE holds writes: expired keys read as absent but are not deleted. */
  boolean expiryPaused;

  /** Reply gates of the writes collected in the current pass, linked to its ticket on commit. */
  private static final class PassWrite {
    final CompletableFuture<Void> ordered = new CompletableFuture<>();
    final CompletableFuture<Void> durable = new CompletableFuture<>();
    boolean durableWanted;
    /** Gates on other acknowledgements of the pass's ticket (a mirror's), one per source. */
    List<TicketGate> ticketGates;
  }

  private record TicketGate(
      Function<WriteTicket, CompletableFuture<Void>> source, CompletableFuture<Void> gate) {}

  Keyspace(KvStore store, LongSupplier clockMillis, ServerStats stats, Watches watches) {
    this.watches = watches;
    this.store = store;
    this.clockMillis = clockMillis;
    this.stats = stats;
    this.nowMillis = clockMillis.getAsLong();
    this.accessClock = new AccessClock(nowMillis);
  }

  /** Reads the clock once per command so a command sees one instant. */
  long tick() {
    nowMillis = clockMillis.getAsLong();
    return nowMillis;
  }

  long nowMillis() {
    return nowMillis;
  }

  KvStore store() {
    return store;
  }

  /** The live, unexpired value, or null; counts as an access of the key (OBJECT IDLETIME). */
  StoredValue get(byte[] key) {
    StoredValue v = peek(key);
    if (v != null) {
      accessClock.touch(key, nowMillis);
    }
    return v;
  }

  /**
   * The live, unexpired value, or null, not counted as an access (Redis's LOOKUP_NOTOUCH: TYPE,
   * EXISTS, TTL, OBJECT). Still deletes the key if it has expired.
   */
  StoredValue peek(byte[] key) {
    if (acknowledgedReads) {
      StoredValue v = store.get(key);
      if (v == null || !isExpired(v)) {
        return v;
      }
      // Expired in the acknowledged state: deleting it could overwrite a newer write still in
      // flight, so this command reads (and expires) in the full view after all.
      readAcknowledgedOnly(false);
    }
    StoredValue pendingValue = overlay.lookup(key);
    if (pendingValue != null) {
      observedPending = true;
      return pendingValue == PendingOverlay.ABSENT || isExpired(pendingValue) ? null
          : pendingValue;
    }
    StoredValue v = store.get(key);
    if (v != null && isExpired(v)) {
      expireNow(key);
      return null;
    }
    return v;
  }

  /** Seconds since the key was last read or written (approximate: see {@link AccessClock}). */
  long idleSeconds(byte[] key) {
    return accessClock.idleSeconds(key, nowMillis);
  }

  boolean exists(byte[] key) {
    return peek(key) != null;
  }

  /**
   * The value the key holds once the pending batch applies, expired or not, with no lazy expiry:
   * what Redis's dictionary holds (FLUSHALL and WATCH ask about it).
   */
  private StoredValue raw(byte[] key) {
    readAcknowledgedOnly(false); // FLUSHALL and WATCH: the full view
    StoredValue pendingValue = overlay.lookup(key);
    if (pendingValue != null) {
      observedPending = true;
      return pendingValue == PendingOverlay.ABSENT ? null : pendingValue;
    }
    return store.get(key);
  }

  /** The key is still stored but its TTL has passed (Redis's keyIsExpired). */
  boolean isExpiredButPresent(byte[] key) {
    StoredValue v = raw(key);
    return v != null && isExpired(v);
  }

  boolean isExpired(StoredValue v) {
    return v.expiresAtMillis() != 0 && nowMillis > v.expiresAtMillis();
  }

  /**
   * Deletes an expired key on its own batch (never waited on), like Redis' lazy expiry; not
   * while {@link #expiryPaused} (the key still reads as absent).
   */
  private void expireNow(byte[] key) {
    if (expiryPaused) {
      return;
    }
    watches.touch(key, true);
    try {
      store.apply(List.of(Mutation.delete(key)));
      stats.expiredKeys++;
    } catch (RuntimeException e) {
      // A failed disk must not fail reads: the key is still treated as absent.
    }
  }

  void put(byte[] key, byte[] value, long expiresAtMillis) {
    if (expiresAtMillis != 0 && expiresAtMillis < nowMillis) {
      delete(key); // already in the past: Redis deletes instead of storing
      return;
    }
    batch.add(Mutation.put(key, value, expiresAtMillis));
    watches.touch(key, false);
    accessClock.touch(key, nowMillis);
    pendingBytes += key.length + value.length + 32;
  }

  void delete(byte[] key) {
    batch.add(Mutation.delete(key));
    watches.touch(key, true);
    pendingBytes += key.length + 32;
  }

  void clear() {
    watches.touchAll(key -> raw(key) != null); // before the keys disappear from view
    batch.add(Mutation.clear());
    clearedInBatch = true;
  }

  int pendingWrites() {
    return batch.size();
  }

  /**
   * Starts a command: with {@code acknowledgedOnly} its reads see only what the store has
   * acknowledged (neither this pass's pending writes nor the store's in-flight ones), until the
   * command ends or a read needs the full view (an expired key: see {@link #peek}).
   */
  void beginCommand(boolean acknowledgedOnly) {
    observedPending = false;
    readAcknowledgedOnly(acknowledgedOnly);
  }

  /** Ends a command: back to the full view. */
  void endCommand() {
    readAcknowledgedOnly(false);
  }

  private void readAcknowledgedOnly(boolean on) {
    if (acknowledgedReads != on) {
      acknowledgedReads = on;
      store.readAcknowledgedOnly(on);
    }
  }

  /**
   * For a command that only read: the gate its reply waits for because a read returned a pending
   * write of this pass (the pass's ORDERED acknowledgement), or null.
   */
  CompletableFuture<Void> takePendingReadGate() {
    boolean observed = observedPending;
    observedPending = false;
    return observed && !batch.isEmpty() ? gate(Durability.ORDERED) : null;
  }

  boolean hasPendingWrites() {
    return !batch.isEmpty();
  }

  /**
   * The reply gate for the write just added: completes when the current pass's batch is
   * acknowledged at {@code durability} (or fails with the storage error).
   */
  CompletableFuture<Void> gate(Durability durability) {
    assert !batch.isEmpty() : "a gate is only asked for after a write";
    if (passWrite == null) {
      passWrite = new PassWrite();
    }
    if (durability == Durability.DURABLE) {
      passWrite.durableWanted = true;
      return passWrite.durable;
    }
    return passWrite.ordered;
  }

  /**
   * A reply gate for the write just added that completes when {@code source} — an
   * acknowledgement the store's ticket carries beyond durability, such as a mirror's — does for
   * the pass's ticket. One gate per source instance and pass.
   */
  CompletableFuture<Void> ticketGate(Function<WriteTicket, CompletableFuture<Void>> source) {
    assert !batch.isEmpty() && passWrite != null : "asked for after gate()";
    if (passWrite.ticketGates == null) {
      passWrite.ticketGates = new ArrayList<>(2);
    }
    for (TicketGate g : passWrite.ticketGates) {
      if (g.source() == source) {
        return g.gate();
      }
    }
    TicketGate g = new TicketGate(source, new CompletableFuture<>());
    passWrite.ticketGates.add(g);
    return g.gate();
  }

  /** Some write collected in the current pass waits for DURABLE. */
  boolean passWantsDurable() {
    return passWrite != null && passWrite.durableWanted;
  }

  long pendingBytes() {
    return pendingBytes;
  }

  /**
   * Hands the writes collected so far (several commands, possibly several clients) to the engine
   * as one atomic batch, and links the gates handed out for them to its acknowledgements. A
   * storage failure fails those gates: every client waiting on them gets the error.
   */
  void commitPass() {
    if (batch.isEmpty()) {
      assert passWrite == null;
      return;
    }
    PassWrite pass = passWrite;
    List<Mutation> mutations = List.copyOf(batch);
    discard();
    stats.writeBatches++;
    WriteTicket ticket;
    try {
      ticket = store.apply(mutations, pass != null && pass.durableWanted);
    } catch (RuntimeException e) {
      stats.writeErrors++;
      stats.lastWriteError = String.valueOf(e.getMessage());
      if (pass != null) {
        Throwable failure = StorageErrors.forGate(e);
        pass.ordered.completeExceptionally(failure);
        pass.durable.completeExceptionally(failure);
        if (pass.ticketGates != null) {
          pass.ticketGates.forEach(g -> g.gate().completeExceptionally(failure));
        }
      }
      return;
    }
    lastTicket = ticket;
    if (pass == null) {
      return;
    }
    link(ticket.ordered(), pass.ordered);
    if (pass.ticketGates != null) {
      for (TicketGate g : pass.ticketGates) {
        link(g.source().apply(ticket), g.gate());
      }
    }
    if (pass.durableWanted) {
      if (durableInline) {
        durableWaits.add(new DurableWait(ticket, pass.durable));
      } else {
        link(ticket.durable(), pass.durable);
      }
    }
  }

  /**
   * Who completes DURABLE gates. Off (the default): a callback on the engine's durability future,
   * which asks the engine's flusher thread for an fsync. On: {@link #helpDurable}, which the
   * owning thread calls after each pass; no other thread is involved.
   */
  void awaitDurableInline(boolean inline) {
    assert durableWaits.isEmpty() : "switch modes between passes only";
    this.durableInline = inline;
  }

  /**
   * Inline mode: blocks until the batches DURABLE replies wait on are durable, running the
   * engine's fsync on this thread unless one already running covers it (the engine's group commit: an fsync
   * covers every batch written before it starts). So the thread that answers DURABLE writes
   * needs no wake-up from the engine's flusher; the cost is that it executes nothing else during
   * that fsync, like Redis with appendfsync always. A storage failure is not thrown here: it
   * fails the gates, and the clients get the error.
   */
  void helpDurable() {
    if (durableWaits.isEmpty()) {
      return;
    }
    for (DurableWait w : durableWaits) {
      try {
        w.ticket().durable().get();
        w.gate().complete(null);
      } catch (java.util.concurrent.ExecutionException e) {
        w.gate().completeExceptionally(StorageErrors.forGate(e.getCause() != null ? e.getCause() : e));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        w.gate().completeExceptionally(e);
      }
    }
    durableWaits.clear();
  }

  private void link(CompletableFuture<Void> from, CompletableFuture<Void> to) {
    if (from.isDone() && !from.isCompletedExceptionally()) {
      to.complete(null);
      return;
    }
    from.whenComplete((v, e) -> {
      if (e != null) {
        Throwable cause = e instanceof java.util.concurrent.CompletionException
            && e.getCause() != null ? e.getCause() : e;
        to.completeExceptionally(StorageErrors.forGate(cause));
      } else {
        to.complete(null);
      }
    });
  }

  /** True if a write added after {@code mark} stores a value (not only deletes and clears). */
  boolean storesValuesSince(int mark) {
    for (int i = mark; i < batch.size(); i++) {
      if (batch.get(i).kind() == Mutation.Kind.PUT) {
        return true;
      }
    }
    return false;
  }

  /** Drops the writes added after {@code mark} (a failed command's), keeping earlier ones. */
  void rollbackTo(int mark) {
    if (batch.size() == mark) {
      return;
    }
    List<Mutation> kept = new ArrayList<>(batch.subList(0, mark));
    PassWrite pass = passWrite;
    discard();
    for (Mutation m : kept) {
      switch (m.kind()) {
        case PUT -> put(m.key(), m.value(), m.expiresAtMillis());
        case DELETE -> delete(m.key());
        case CLEAR -> clear();
      }
    }
    passWrite = kept.isEmpty() ? null : pass;
  }

  private void discard() {
    batch.clear();
    overlay.reset();
    clearedInBatch = false;
    pendingBytes = 0;
    passWrite = null;
  }

  /** The last batch handed to the engine, or null. */
  WriteTicket lastTicket() {
    return lastTicket;
  }

  /**
   * Keys stored once the pending batch applies, counting keys whose TTL passed but which are not
   * removed yet (as Redis's DBSIZE does). Inside MULTI/EXEC the batch cannot be committed early,
   * so the count adds the batch's effect: O(keys written in this pass).
   */
  long keyCount() {
    if (batch.isEmpty()) {
      return store.keyCount();
    }
    observedPending = true;
    long count = clearedInBatch ? 0 : store.keyCount();
    for (Map.Entry<ByteKey, StoredValue> e : overlay.map().entrySet()) {
      boolean stored = !clearedInBatch && store.get(e.getKey().bytes()) != null;
      boolean pendingLive = e.getValue() != PendingOverlay.ABSENT;
      count += (pendingLive ? 1 : 0) - (stored ? 1 : 0);
    }
    assert count >= 0 : "negative key count " + count;
    return count;
  }

  /**
   * Keys the pending batch creates that the store does not hold yet: a SCAN or KEYS inside
   * MULTI/EXEC must list them although the engine has not seen them. Callers still filter with
   * {@link #exists}.
   */
  List<byte[]> pendingNewKeys() {
    if (batch.isEmpty()) {
      return List.of();
    }
    observedPending = true;
    List<byte[]> out = new ArrayList<>();
    for (Map.Entry<ByteKey, StoredValue> e : overlay.map().entrySet()) {
      if (e.getValue() != PendingOverlay.ABSENT && store.get(e.getKey().bytes()) == null) {
        out.add(e.getKey().bytes());
      }
    }
    return out;
  }

  /**
   * A live key chosen at random, or null if there is none (RANDOMKEY). Each probe asks the
   * engine for the page at a random 64-bit cursor (the engine reads any cursor as a position: the
   * index masks it to a home slot) and picks one of its keys, or, with their share of the count,
   * one of the keys the pending batch creates. Expired keys met on the way are deleted, as Redis
   * does. After {@value #RANDOM_KEY_PROBES} probes that met only dead keys it walks the keyspace
   * in order (O(keys), as Redis's loop would be when nearly every key has expired).
   */
  byte[] randomKey() {
    long total = keyCount();
    if (total == 0) {
      return null;
    }
    List<byte[]> pending = pendingNewKeys();
    for (int probe = 0; probe < RANDOM_KEY_PROBES; probe++) {
      byte[] candidate;
      if (!pending.isEmpty() && random.nextLong(Math.max(total, pending.size())) < pending.size()) {
        candidate = pending.get(random.nextInt(pending.size()));
      } else {
        List<byte[]> page = store.scan(random.nextLong(), 1).keys();
        if (page.isEmpty()) {
          continue;
        }
        candidate = page.get(random.nextInt(page.size()));
      }
      if (peek(candidate) != null) {
        return candidate;
      }
    }
    long cursor = 0;
    do {
      ScanPage page = store.scan(cursor, 1000);
      for (byte[] key : page.keys()) {
        if (peek(key) != null) {
          return key;
        }
      }
      cursor = page.nextCursor();
    } while (cursor != 0);
    for (byte[] key : pending) {
      if (peek(key) != null) {
        return key;
      }
    }
    return null;
  }

  ScanPage scan(long cursor, int countHint) {
    return store.scan(cursor, countHint);
  }

  /**
   * Active expiry: examines up to {@code keysMax} keys from {@code cursor} and deletes the expired
   * ones. Returns the cursor to continue from (0: the pass is over). With no key holding an
   * expiry it examines none (the scan copies every key it passes: 2,000 keys a second of pure
   * waste on a store that uses no TTLs); a key given a TTL by a write still in flight is found
   * at a later tick, and a read expires it lazily meanwhile.
   */
  long sweepExpired(long cursor, int keysMax) {
    tick();
    if (store.expiringKeyCount() == 0) {
      return 0; // the pass is over: nothing to find
    }
    ScanPage page = store.scan(cursor, keysMax);
    for (byte[] key : page.keys()) {
      // The expiry alone: reading the value would copy it (a large one, every tick).
      long expiresAtMillis = store.expiresAtMillis(key);
      if (expiresAtMillis > 0 && nowMillis > expiresAtMillis) {
        expireNow(key);
      }
    }
    return page.nextCursor();
  }
}
