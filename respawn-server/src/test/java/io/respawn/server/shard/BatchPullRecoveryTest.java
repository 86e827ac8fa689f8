package io.respawn.server.shard;

import io.respawn.node.recovery.CopyPace;
import io.respawn.node.recovery.ValueRecovery;
import io.respawn.node.recovery.RecoveryMode;
import static org.assertj.core.api.Assertions.assertThat;

import io.respawn.core.Command;
import io.respawn.core.Entry;
import io.respawn.core.NodeId;
import io.respawn.node.recovery.ValuePull.BatchPull;
import io.respawn.node.recovery.ValuePull.BatchPullReply;
import io.respawn.node.recovery.ValuePull.PullKeys;
import io.respawn.node.recovery.ValuePull.PullKeysReply;
import io.respawn.node.recovery.ValuePull.PullMessage;
import io.respawn.node.recovery.ValuePull.PulledValue;
import io.respawn.server.testing.MapKvStore;
import io.respawn.storage.Mutation;
import io.respawn.storage.MutationBatchCodec;
import io.respawn.storage.backup.BackupConfig;
import io.respawn.storage.backup.BackupKvStore;
import io.respawn.storage.backup.BackupStore;
import io.respawn.storage.backup.BatchPullCursor;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The background copy streams a real backup store's logs (BatchPull) and the backup answers on
 * its own thread ({@link PullAnswers}): every value arrives, none older than a write the new
 * primary knows, priority pulls are answered before background work and carry the key's page
 * neighbours, and every scan ends (the store's GC resumes).
 */
class BatchPullRecoveryTest {
  private static final NodeId BACKUP = NodeId.of(2);
  private static final NodeId PRIMARY = NodeId.of(3);
  @TempDir Path tmp;
  private BackupKvStore store;
  private EngineStateMachine backup;
  private EngineStateMachine witness;
  private MapKvStore witnessStore;
  private final List<PullMessage> toBackup = new ArrayList<>();
  private final List<PullMessage> toPrimary = new ArrayList<>();
  private PullAnswers answers;

  private static byte[] b(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static String s(byte[] b) {
    return new String(b, StandardCharsets.UTF_8);
  }

  private static Entry put(long index, String key, String value) {
    List<Mutation> batch = List.of(Mutation.put(b(key), b(value)));
    return Entry.normal(1, index, Command.of(MutationBatchCodec.encode(batch), b(key)));
  }

  @BeforeEach
  void open() throws Exception {
    store = new BackupKvStore(BackupStore.open(tmp.resolve("backup"), BackupConfig.defaults()
        .toBuilder().bufferBytes(4L << 20).valueBytesMax(512 << 10).build()));
    backup = new EngineStateMachine(store);
    witnessStore = new MapKvStore();
    witness = new EngineStateMachine(witnessStore);
    answers = new PullAnswers(BACKUP, store.backup(), toPrimary::add);
  }

  @AfterEach
  void close() throws Exception {
    answers.close();
    witness.close();
    backup.close();
    store.close();
  }

  /** Both sides apply entries 1..n, each writing key k(i % keys) with value "v" + i. */
  private void writeBoth(int from, int to, int keys) {
    for (int i = from; i <= to; i++) {
      Entry e = put(i, "k" + (i % keys), "v" + i);
      witness.apply(e.elide());
      backup.apply(e);
    }
  }

  /** Delivers what was sent to the backup and its answers, once, at {@code nowNanos}; no tick. */
  private void deliverOnce(ValueRecovery recovery, long nowNanos) {
    for (PullMessage m : List.copyOf(toBackup)) {
      toBackup.remove(m);
      assertThat(answers.offer(m)).isTrue();
    }
    while (answers.step(nowNanos)) {
      // answer everything queued
    }
    for (PullMessage m : List.copyOf(toPrimary)) {
      toPrimary.remove(m);
      if (m instanceof BatchPullReply r) {
        recovery.onBatchReply(r, nowNanos);
      } else {
        recovery.onReply((PullKeysReply) m, nowNanos);
      }
    }
  }

  /** Delivers everything sent either way until the backup has nothing left to answer. */
  private void exchange(ValueRecovery recovery, long nowNanos) {
    while (!toBackup.isEmpty() || !toPrimary.isEmpty()) {
      for (PullMessage m : List.copyOf(toBackup)) {
        toBackup.remove(m);
        assertThat(answers.offer(m)).isTrue();
      }
      while (answers.step(nowNanos)) {
        // answer everything queued
      }
      for (PullMessage m : List.copyOf(toPrimary)) {
        toPrimary.remove(m);
        if (m instanceof BatchPullReply r) {
          recovery.onBatchReply(r, nowNanos);
        } else {
          recovery.onReply((PullKeysReply) m, nowNanos);
        }
      }
      recovery.tick(nowNanos);
    }
  }

  @Test
  void theBatchPullScanBringsEveryValueAndEndsTheBackupsScan() {
    writeBoth(1, 3000, 1000);
    ValueRecovery recovery = new ValueRecovery(PRIMARY, witness, toBackup::add,
        RecoveryMode.OFFLINE, System::nanoTime);
    recovery.start(List.of(BACKUP), 4, 0);
    assertThat(witnessStore.expectedKeys()).as("the store sized for every key").isEqualTo(1000);
    recovery.tick(0);
    assertThat(toBackup).singleElement().isInstanceOfSatisfying(BatchPull.class, p -> {
      assertThat(p.term()).isEqualTo(4);
      assertThat(p.cursor()).isEqualTo(BatchPullCursor.START);
      assertThat(p.chunksMax()).isEqualTo(ValueRecovery.BATCH_CHUNKS_IN_FLIGHT);
    });
    long now = 1;
    while (recovery.active() && now < 1_000) {
      exchange(recovery, now++);
    }
    assertThat(recovery.active()).isFalse();
    assertThat(recovery.batchKeys()).as("every key came from the scan").isEqualTo(1000);
    assertThat(recovery.pulls()).as("no key left for the sweep").isZero();
    assertThat(s(witness.read(b("k7")).value().value())).isEqualTo("v2007");
    assertThat(s(witness.read(b("k0")).value().value())).isEqualTo("v3000");
    assertThat(answers.scanning(PRIMARY)).as("the scan ended: GC resumed").isFalse();
    recovery.tick(now);
    assertThat(witnessStore.expectedKeys()).as("the expectation ends with the recovery").isZero();
  }

  /**
   * A write the new primary applied (in witness form: an earlier term's entry its election
   * committed) after the backup read a chunk: the chunk's older value is not installed; the sweep
   * asks for the keys by name once the backup has it. No value of a chunk read before an entry
   * applied here in witness form is installed (that entry might have been a FLUSHALL, next test),
   * so the sweep asks for all 500.
   */
  @Test
  void aValueOlderThanAWriteKnownHereIsLeftToTheSweep() {
    writeBoth(1, 500, 500);
    ValueRecovery recovery = new ValueRecovery(PRIMARY, witness, toBackup::add,
        RecoveryMode.OFFLINE, System::nanoTime);
    recovery.start(List.of(BACKUP), 2, 0);
    recovery.tick(0);
    answers.offer(toBackup.removeFirst());
    while (answers.step(1)) {
      // the backup reads every chunk now, at applied index 500
    }
    Entry newer = put(501, "k3", "newer");
    witness.apply(newer.elide()); // committed after the backup read the chunks
    for (PullMessage m : List.copyOf(toPrimary)) {
      toPrimary.remove(m);
      recovery.onBatchReply((BatchPullReply) m, 2);
    }
    assertThat(witness.read(b("k3")).unknown()).as("the older value is not installed").isTrue();
    assertThat(witness.unknownKeyCount()).isEqualTo(500);
    backup.apply(newer);
    long now = 3;
    recovery.tick(now);
    while (recovery.active() && now < 100) {
      exchange(recovery, now++);
    }
    assertThat(recovery.active()).isFalse();
    assertThat(recovery.pulls()).as("two pulls by name, 256 keys each").isEqualTo(2);
    assertThat(s(witness.read(b("k3")).value().value())).isEqualTo("newer");
    assertThat(s(witness.read(b("k7")).value().value())).isEqualTo("v7");
  }

  /**
   * A FLUSHALL the new primary applied in witness form (its election committed it; the witness
   * form names no key, so the key table keeps the old timestamps) after the backup read a chunk:
   * none of the chunk's values comes back from the dead.
   */
  @Test
  void aFlushAllCommittedByTheElectionAfterAChunkWasReadIsNotUndone() {
    writeBoth(1, 500, 500);
    ValueRecovery recovery = new ValueRecovery(PRIMARY, witness, toBackup::add,
        RecoveryMode.OFFLINE, System::nanoTime);
    recovery.start(List.of(BACKUP), 2, 0);
    recovery.tick(0);
    answers.offer(toBackup.removeFirst());
    while (answers.step(1)) {
      // the backup reads every chunk now, at applied index 500
    }
    Entry clear = Entry.normal(1, 501, Command.of(MutationBatchCodec.encode(
        List.of(Mutation.clear()))));
    witness.apply(clear.elide());
    for (PullMessage m : List.copyOf(toPrimary)) {
      toPrimary.remove(m);
      recovery.onBatchReply((BatchPullReply) m, 2);
    }
    assertThat(recovery.batchKeys()).as("nothing installed from the chunks").isZero();
    backup.apply(clear);
    long now = 3;
    recovery.tick(now);
    while (recovery.active() && now < 100) {
      exchange(recovery, now++);
    }
    assertThat(recovery.active()).isFalse();
    for (String k : List.of("k0", "k7", "k499")) {
      assertThat(witness.read(b(k)).value()).as(k + " was flushed").isNull();
    }
  }

  @Test
  void priorityPullsAreAnsweredFirstWithTheirPageNeighbours() {
    writeBoth(1, 400, 400);
    store.backup().flush(); // into the logs: a key's page holds its neighbours
    answers.offer(new BatchPull(PRIMARY, BACKUP, 1, 1, BatchPullCursor.START, 1, 4096));
    answers.offer(new PullKeys(PRIMARY, BACKUP, 2, 0, List.of(b("k1"))));
    answers.offer(new PullKeys(PRIMARY, BACKUP, 3, 400, List.of(b("k20")), true));
    assertThat(answers.step(0)).isTrue();
    assertThat(toPrimary).singleElement().isInstanceOfSatisfying(PullKeysReply.class, r -> {
      assertThat(r.requestId()).isEqualTo(3);
      assertThat(r.appliedIndex()).isEqualTo(400);
      assertThat(s(r.values().getFirst().key())).isEqualTo("k20");
      assertThat(s(r.values().getFirst().value())).isEqualTo("v20");
      assertThat(r.values()).as("the other records of k20's page").hasSizeGreaterThan(1);
      for (PulledValue v : r.values()) {
        String key = s(v.key());
        assertThat(s(v.value())).isEqualTo("v" + key.substring(1));
      }
    });
    toPrimary.clear();
    while (answers.step(0)) {
      // then the background work, in arrival order
    }
    assertThat(toPrimary).hasSize(2);
    assertThat(toPrimary.get(0)).isInstanceOf(BatchPullReply.class);
    assertThat(((BatchPullReply) toPrimary.get(0)).last()).isTrue();
    assertThat(answers.scanning(PRIMARY)).isTrue();
    // A priority pull for a write the backup has not applied yet: "not yet", no values.
    toPrimary.clear();
    answers.offer(new PullKeys(PRIMARY, BACKUP, 4, 401, List.of(b("k20")), true));
    answers.step(0);
    assertThat(((PullKeysReply) toPrimary.getFirst()).values()).isEmpty();
    // Cancelled by term 0; a scan nobody asks on for SCAN_IDLE_NANOS_MAX also ends.
    answers.offer(new BatchPull(PRIMARY, BACKUP, 5, 0, BatchPullCursor.START, 1, 4096));
    answers.step(0);
    assertThat(answers.scanning(PRIMARY)).isFalse();
    answers.offer(new BatchPull(NodeId.of(9), BACKUP, 6, 1, BatchPullCursor.START, 1, 4096));
    answers.step(0);
    assertThat(answers.scanning(NodeId.of(9))).isTrue();
    assertThat(answers.step(PullAnswers.SCAN_IDLE_NANOS_MAX - 1)).isFalse();
    assertThat(answers.scanning(NodeId.of(9))).isTrue();
    answers.step(PullAnswers.SCAN_IDLE_NANOS_MAX);
    assertThat(answers.scanning(NodeId.of(9))).isFalse();
  }

  /**
   * A BatchPull from a member the configuration is removing is refused: nothing is sent and no
   * scan starts (the store's GC stays running), and a scan it had is ended; the members that stay
   * are answered as before.
   */
  @Test
  void aBatchPullFromAMemberBeingRemovedIsRefused() {
    writeBoth(1, 300, 100);
    NodeId leaving = NodeId.of(9);
    java.util.Set<NodeId> removing = new java.util.HashSet<>();
    answers.close();
    answers = new PullAnswers(BACKUP, store.backup(), toPrimary::add,
        id -> !removing.contains(id), false);
    answers.offer(new BatchPull(leaving, BACKUP, 1, 3, BatchPullCursor.START, 1, 4096));
    answers.step(0);
    assertThat(answers.scanning(leaving)).as("not removed yet: answered").isTrue();
    assertThat(toPrimary).hasSize(1);
    removing.add(leaving);
    toPrimary.clear();
    answers.offer(new BatchPull(leaving, BACKUP, 2, 3, BatchPullCursor.START, 1, 4096));
    answers.offer(new BatchPull(PRIMARY, BACKUP, 3, 3, BatchPullCursor.START, 1, 4096));
    while (answers.step(0)) {
      // answer everything queued
    }
    assertThat(answers.scanning(leaving)).as("its scan ended: GC resumed for it").isFalse();
    assertThat(answers.scanning(PRIMARY)).isTrue();
    assertThat(toPrimary).as("only the member that stays got a chunk").singleElement()
        .satisfies(m -> assertThat(m.to()).isEqualTo(PRIMARY));
    assertThat(answers.info()).containsEntry("respawn_pull_batch_refused", 1L);
  }

  /**
   * Online, the copy is paced: the next request waits for the gap its size takes at the paced
   * rate, and a slow priority pull halves the rate (CopyPace).
   */
  @Test
  void theOnlineCopyIsPacedByThePriorityPullLatency() {
    String big = "x".repeat(1000);
    for (int i = 1; i <= 4000; i++) {
      Entry e = put(i, "k" + i, big + i);
      witness.apply(e.elide());
      backup.apply(e);
    }
    long ms = 1_000_000L;
    long[] clock = {0};
    ValueRecovery recovery = new ValueRecovery(PRIMARY, witness, toBackup::add,
        RecoveryMode.ONLINE, () -> clock[0]);
    recovery.start(List.of(BACKUP), 2, 0);
    recovery.tick(0);
    // The popular set first (empty here: no popularity report came), unpaced and not measured.
    BatchPull popular = (BatchPull) toBackup.getFirst();
    assertThat(popular.cursor()).isEqualTo(BatchPullCursor.START);
    assertThat(popular.chunksMax()).isEqualTo(ValueRecovery.BATCH_CHUNKS_IN_FLIGHT);
    deliverOnce(recovery, 0);
    assertThat((long) recovery.info().get("respawn_recovery_copy_floor_bytes_per_s"))
        .as("no rate measured yet").isEqualTo((long) CopyPace.RATE_MIN_BYTES_PER_SECOND);
    recovery.tick(0);
    BatchPull first = (BatchPull) toBackup.getFirst();
    assertThat(first.cursor().phase()).as("the request's later chunks went on with the logs")
        .isEqualTo(BatchPullCursor.Phase.COLD);
    assertThat(first.chunksMax()).as("64 MiB/s: a tenth of a second holds more than 4 chunks")
        .isEqualTo(ValueRecovery.BATCH_CHUNKS_IN_FLIGHT);
    // The request's chunks arrive 12 ms after it was sent: unpaced, the copy would go at 83
    // MiB/s, so the floor is a third of that (CopyPace); the next request is not due yet.
    deliverOnce(recovery, 12 * ms);
    assertThat(toBackup).as("1 MiB at 64 MiB/s: the next request 15.6 ms after the first")
        .isEmpty();
    assertThat((long) recovery.info().get("respawn_recovery_copy_floor_bytes_per_s"))
        .isEqualTo((long) ((1 << 20) * 1e9 / (12 * ms) / 3));
    recovery.tick(15 * ms);
    assertThat(toBackup).isEmpty();
    recovery.tick(16 * ms);
    assertThat(toBackup).singleElement().isInstanceOf(BatchPull.class);
    // A command waits for a key the copy has not reached: a priority pull taking 10 ms.
    clock[0] = 20 * ms;
    var waiting = recovery.pullNow(List.of(b("k3999")));
    assertThat(waiting).isNotDone();
    PullKeys priority = toBackup.stream().filter(PullKeys.class::isInstance)
        .map(PullKeys.class::cast).findFirst().orElseThrow();
    toBackup.remove(priority);
    answers.offer(priority);
    answers.step(20 * ms);
    PullKeysReply answer = (PullKeysReply) toPrimary.removeLast();
    recovery.onReply(answer, 30 * ms);
    assertThat(waiting).isDone();
    assertThat(recovery.info().get("respawn_recovery_copy_rate_bytes_per_s"))
        .isEqualTo((long) CopyPace.RATE_START_BYTES_PER_SECOND);
    // The first period ends: 10 ms against the 2 ms target (no pull was measured with the copy
    // idle), halved (the bound per period), above the floor of 27.8 MiB/s.
    recovery.tick(100 * ms);
    assertThat(recovery.info().get("respawn_recovery_copy_rate_bytes_per_s"))
        .isEqualTo((long) (CopyPace.RATE_START_BYTES_PER_SECOND / 2));
    long now = 100 * ms;
    while (recovery.active() && now < 10_000 * ms) {
      recovery.tick(now); // the node loop ticks whether or not anything arrived
      exchange(recovery, now);
      now += ms;
    }
    assertThat(recovery.active()).as(recovery.info().toString()).isFalse();
    assertThat(s(witness.read(b("k17")).value().value())).isEqualTo(big + 17);
  }

  // ---- proactive recovery: a witness that suspects its leader pulls the hot set ----

  private static final List<NodeId> BACKUPS = List.of(BACKUP);
  private static final int BIG_KEYS = 4000;

  /** Keys k0..k3999 with 1,000-byte values ("v" + i + padding): 16 chunks of 256 KiB. */
  private void writeBig() {
    for (int i = 1; i <= BIG_KEYS; i++) {
      Entry e = put(i, "k" + (i % BIG_KEYS), big(i));
      witness.apply(e.elide());
      backup.apply(e);
    }
    store.backup().flush();
  }

  private static String big(int i) {
    return "v" + i + "-" + "x".repeat(1000);
  }

  private static Entry clearAll(long index) {
    List<Mutation> batch = List.of(Mutation.clear());
    return Entry.normal(1, index, Command.of(MutationBatchCodec.encode(batch)));
  }

  /** The witness suspects its leader of term 1 (episode 1) and stages what the backup sends. */
  private ValueRecovery warmedUp(long now) {
    ValueRecovery recovery = new ValueRecovery(PRIMARY, witness, toBackup::add,
        RecoveryMode.ONLINE, System::nanoTime);
    recovery.followSuspicion(io.respawn.core.FailureDetector.Suspicion.SOFT,
        io.respawn.core.Status.FOLLOWER, io.respawn.core.Role.WITNESS, 1, 1, BACKUPS, now);
    assertThat(toBackup).singleElement().isInstanceOfSatisfying(BatchPull.class,
        p -> assertThat(p.term()).as("the suspected leader's term").isEqualTo(1));
    for (int i = 0; i < 20 && !toBackup.isEmpty(); i++) {
      exchangeFollowing(recovery, now);
      recovery.followSuspicion(io.respawn.core.FailureDetector.Suspicion.SOFT,
          io.respawn.core.Status.FOLLOWER, io.respawn.core.Role.WITNESS, 1, 1, BACKUPS, now);
    }
    assertThat((long) recovery.info().get("respawn_recovery_staged_keys")).isPositive();
    assertThat(witness.unknownKeyCount()).as("a follower stages; it installs nothing")
        .isEqualTo(BIG_KEYS);
    return recovery;
  }

  private void exchangeFollowing(ValueRecovery recovery, long nowNanos) {
    for (PullMessage m : List.copyOf(toBackup)) {
      toBackup.remove(m);
      answers.offer(m);
    }
    while (answers.step(nowNanos)) {
      // answer everything queued
    }
    for (PullMessage m : List.copyOf(toPrimary)) {
      toPrimary.remove(m);
      recovery.onBatchReply((BatchPullReply) m, nowNanos);
    }
  }

  /** Elected in term 2: the scan goes on and every value arrives; returns the recovery. */
  private void electAndRecover(ValueRecovery recovery) {
    recovery.start(BACKUPS, 2, 10);
    long now = 10;
    while (recovery.active() && now < 20_000_000_000L) {
      recovery.tick(now);
      exchange(recovery, now);
      now += 1_000_000; // a millisecond: the online copy is paced
    }
    assertThat(recovery.active()).as(recovery.info().toString()).isFalse();
  }

  @Test
  void aWarmUpStagesTheHotSetAndItsValuesServeOnceElected() {
    writeBig();
    ValueRecovery recovery = warmedUp(0);
    electAndRecover(recovery);
    assertThat((long) recovery.info().get("respawn_recovery_staged_installed")).isPositive();
    assertThat(s(witness.read(b("k7")).value().value())).isEqualTo(big(7));
    assertThat(answers.scanning(PRIMARY)).isFalse();
  }

  /**
   * A write committed after the warm-up read its key (the suspected leader's last entry, applied
   * here in witness form when this member's election commits it): the staged, older value must
   * not be served.
   */
  @Test
  void aStagedValueOlderThanAWriteKnownHereIsNeverServed() {
    writeBig();
    ValueRecovery recovery = warmedUp(0);
    Entry newer = put(BIG_KEYS + 1, "k3", "newer");
    witness.apply(newer.elide());
    backup.apply(newer);
    recovery.start(BACKUPS, 2, 10);
    recovery.tick(10);
    exchange(recovery, 11); // the first chunk of the continued scan vouches for the staged ones
    assertThat((long) recovery.info().get("respawn_recovery_staged_installed")).isPositive();
    EngineStateMachine.Read k3 = witness.read(b("k3"));
    assertThat(k3.unknown() || s(k3.value().value()).equals("newer"))
        .as("k3 is unknown or 'newer', never the staged older value").isTrue();
    assertThat(s(witness.read(b("k4")).value().value())).as("a staged value, installed")
        .isEqualTo(big(4));
    electAndRecover(recovery);
    assertThat(s(witness.read(b("k3")).value().value())).isEqualTo("newer");
  }

  /**
   * A FLUSHALL committed after the warm-up (its witness form names no key, so the key table still
   * holds the old timestamps): the backup's CLEAR index says so and every staged value is dropped.
   */
  @Test
  void aFlushAllAfterTheWarmUpDropsEveryStagedValue() {
    writeBig();
    ValueRecovery recovery = warmedUp(0);
    Entry clear = clearAll(BIG_KEYS + 1);
    witness.apply(clear.elide());
    backup.apply(clear);
    electAndRecover(recovery);
    assertThat((long) recovery.info().get("respawn_recovery_staged_installed")).isZero();
    assertThat((long) recovery.info().get("respawn_recovery_staged_dropped")).isPositive();
    for (String k : List.of("k0", "k3", "k3999")) {
      assertThat(witness.read(b(k)).unknown()).isFalse();
      assertThat(witness.read(b(k)).value()).as(k + " was flushed").isNull();
    }
  }

  /** Hearing the leader again cancels the warm-up: the backup's scan ends, nothing is kept. */
  @Test
  void aHeartbeatCancelsTheWarmUp() {
    writeBig();
    ValueRecovery recovery = warmedUp(0);
    assertThat(answers.scanning(PRIMARY)).isTrue();
    recovery.followSuspicion(io.respawn.core.FailureDetector.Suspicion.NONE,
        io.respawn.core.Status.FOLLOWER, io.respawn.core.Role.WITNESS, 1, 1, BACKUPS, 5);
    assertThat(toBackup).singleElement().isInstanceOfSatisfying(BatchPull.class,
        p -> assertThat(p.term()).as("term 0: cancel").isZero());
    exchangeFollowing(recovery, 5);
    assertThat(answers.scanning(PRIMARY)).as("the backup's GC resumed").isFalse();
    assertThat(recovery.info()).containsEntry("respawn_recovery_staged_keys", 0L)
        .containsEntry("respawn_recovery_warmups_cancelled", 1L);
    // A witness that campaigns at once (a kill: HARD suspicion, then pre-vote) warms up too.
    recovery.followSuspicion(io.respawn.core.FailureDetector.Suspicion.NONE,
        io.respawn.core.Status.PRE_CANDIDATE, io.respawn.core.Role.WITNESS, 2, 1, BACKUPS, 6);
    assertThat(toBackup).singleElement().isInstanceOf(BatchPull.class);
    toBackup.clear();
    recovery.followSuspicion(io.respawn.core.FailureDetector.Suspicion.NONE,
        io.respawn.core.Status.FOLLOWER, io.respawn.core.Role.WITNESS, 2, 2, BACKUPS, 7);
    assertThat(toBackup).as("another leader won: cancelled").singleElement()
        .isInstanceOfSatisfying(BatchPull.class, p -> assertThat(p.term()).isZero());
    toBackup.clear();
    // A backup (or a member that may not lead) does not warm up.
    recovery.followSuspicion(io.respawn.core.FailureDetector.Suspicion.SOFT,
        io.respawn.core.Status.FOLLOWER, io.respawn.core.Role.BACKUP, 2, 1, BACKUPS, 6);
    assertThat(toBackup).isEmpty();
  }

  // ---- speculative takeover: the core is told when the warm-up is done ----

  private static void follow(ValueRecovery recovery, io.respawn.core.FailureDetector.Suspicion s,
      io.respawn.core.Role role, long episode, List<NodeId> backups, long now) {
    recovery.followSuspicion(s, io.respawn.core.Status.FOLLOWER, role, episode, 1, backups, now);
  }

  /**
   * Speculative takeover campaigns once the warm-up is done: it is reported when the hot set is
   * staged (the scan reached the cold log), once per episode, not when the warm-up starts.
   */
  @Test
  void theWarmUpIsReportedDoneOnceTheHotSetIsStaged() {
    writeBig();
    List<Long> done = new ArrayList<>();
    ValueRecovery recovery = new ValueRecovery(PRIMARY, witness, toBackup::add,
        RecoveryMode.ONLINE, System::nanoTime);
    recovery.reportWarmUpsTo(done::add);
    var soft = io.respawn.core.FailureDetector.Suspicion.SOFT;
    follow(recovery, soft, io.respawn.core.Role.WITNESS, 3, BACKUPS, 0);
    assertThat(toBackup).singleElement().isInstanceOf(BatchPull.class);
    assertThat(done).as("started, nothing staged yet: not done").isEmpty();
    follow(recovery, soft, io.respawn.core.Role.WITNESS, 3, BACKUPS, 1_000_000);
    assertThat(done).as("still waiting for the backup").isEmpty();
    for (int i = 0; i < 20 && !toBackup.isEmpty(); i++) {
      exchangeFollowing(recovery, 2_000_000);
      follow(recovery, soft, io.respawn.core.Role.WITNESS, 3, BACKUPS, 2_000_000);
    }
    assertThat((long) recovery.info().get("respawn_recovery_staged_keys")).isPositive();
    assertThat(done).as("the hot set is staged: done, once").containsExactly(3L);
    follow(recovery, soft, io.respawn.core.Role.WITNESS, 3, BACKUPS, 3_000_000);
    assertThat(done).containsExactly(3L);
    assertThat(recovery.info()).containsEntry("respawn_recovery_warmups_at_bound", 0L);
  }

  /**
   * A backup that does not answer cannot keep the shard leaderless: the warm-up is reported done
   * after its bound, and the scan goes on.
   */
  @Test
  void aWarmUpTheBackupDoesNotAnswerIsReportedDoneAtItsBound() {
    List<Long> done = new ArrayList<>();
    ValueRecovery recovery = new ValueRecovery(PRIMARY, witness, toBackup::add,
        RecoveryMode.ONLINE, System::nanoTime);
    recovery.reportWarmUpsTo(done::add);
    var hard = io.respawn.core.FailureDetector.Suspicion.HARD;
    follow(recovery, hard, io.respawn.core.Role.WITNESS, 1, BACKUPS, 0);
    toBackup.clear(); // lost
    follow(recovery, hard, io.respawn.core.Role.WITNESS, 1, BACKUPS,
        ValueRecovery.WARM_UP_NANOS_MAX - 1);
    assertThat(done).isEmpty();
    follow(recovery, hard, io.respawn.core.Role.WITNESS, 1, BACKUPS,
        ValueRecovery.WARM_UP_NANOS_MAX);
    assertThat(done).containsExactly(1L);
    assertThat(recovery.info()).containsEntry("respawn_recovery_warmups_at_bound", 1L);
  }

  /**
   * The leader heard before the warm-up ends: it is cancelled and never reported (nothing
   * changes); a member with nothing to stage (not a witness, or no backup) is done at once.
   */
  @Test
  void aWarmUpCancelledByTheLeaderIsNeverReportedAndAMemberWithNothingToStageIsDoneAtOnce() {
    writeBig();
    List<Long> done = new ArrayList<>();
    ValueRecovery recovery = new ValueRecovery(PRIMARY, witness, toBackup::add,
        RecoveryMode.ONLINE, System::nanoTime);
    recovery.reportWarmUpsTo(done::add);
    var soft = io.respawn.core.FailureDetector.Suspicion.SOFT;
    var none = io.respawn.core.FailureDetector.Suspicion.NONE;
    follow(recovery, soft, io.respawn.core.Role.WITNESS, 1, BACKUPS, 0);
    follow(recovery, none, io.respawn.core.Role.WITNESS, 1, BACKUPS, 1_000_000);
    assertThat(toBackup).last().isInstanceOfSatisfying(BatchPull.class,
        p -> assertThat(p.term()).as("cancelled").isZero());
    follow(recovery, none, io.respawn.core.Role.WITNESS, 1, BACKUPS,
        ValueRecovery.WARM_UP_NANOS_MAX * 2);
    assertThat(done).as("cancelled before done: never reported").isEmpty();
    follow(recovery, soft, io.respawn.core.Role.PRIMARY, 2, BACKUPS,
        ValueRecovery.WARM_UP_NANOS_MAX * 2);
    follow(recovery, soft, io.respawn.core.Role.WITNESS, 3, List.of(),
        ValueRecovery.WARM_UP_NANOS_MAX * 2);
    assertThat(done).containsExactly(2L, 3L);
  }
}
