package io.respawn.server.shard;

import io.respawn.node.recovery.ValueRecovery;
import io.respawn.node.recovery.RecoveryMode;
import io.respawn.core.Command;
import io.respawn.core.Entry;
import io.respawn.core.NodeId;
import io.respawn.server.RespawnServer;
import io.respawn.server.ServerConfig;
import io.respawn.server.cli.RespClient;
import io.respawn.node.recovery.ValuePull;
import io.respawn.node.recovery.ValuePull.BatchPullReply;
import io.respawn.node.recovery.ValuePull.PullKeys;
import io.respawn.node.recovery.ValuePull.PullKeysReply;
import io.respawn.node.recovery.ValuePull.PullMessage;
import io.respawn.server.resp.RespLimits;
import io.respawn.storage.BackgroundPriority;
import io.respawn.storage.Durability;
import io.respawn.storage.MemoryKvStore;
import io.respawn.storage.Mutation;
import io.respawn.storage.MutationBatchCodec;
import io.respawn.storage.StorageConfig;
import io.respawn.storage.backup.BackupConfig;
import io.respawn.storage.backup.BackupKvStore;
import io.respawn.storage.backup.BackupStore;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.List;

/**
 * A rehearsal of a takeover's value recovery, run once in the background after a witness or a
 * backup starts, on scratch stores of its own: a scratch backup store (in a scratch directory)
 * takes {@link #KEYS_PER_ROUND} writes, a scratch witness state applies them keys-only, and then
 * the witness recovers every value from the backup the way a new primary does (BatchPull scan in
 * small chunks, priority pulls asked for by the witness as GETs of keys not copied yet do, every
 * message through the value-pull codec), and reads them back.
 *
 * <p>Why: a witness holds keys only and a backup answers pulls only during a recovery, so
 * neither has run that code when the primary dies, and the JVM compiles it while the clients
 * wait. Profiled at E2's kill (docs/recovery.md, "Ninth session"), the witness spent 53 % of its
 * CPU in the JIT compiler and the backup 36 %; with the members' JIT limited to its quick tier,
 * priority pulls took 1.6 ms on average instead of ~4 ms and the clients kept their rate through
 * the copy. Rehearsing compiles that code before it is needed. The compiled code is the JVM's,
 * shared by every thread; the rehearsal's data is not shared with anything.
 *
 * <p>A witness then rehearses <b>serving</b> too ({@link #rehearseServing}): a new primary's
 * first commands run the whole command layer (the client pipeline, RESP decoding, dispatch, the
 * commands, the in-memory store's reads and writes, the replies), which a witness, redirecting
 * every command it gets, has never run. Profiled at E2's kill after the rehearsal above
 * (docs/recovery.md, "Twelfth session"), the new primary's C2 compiler thread still took 45 %
 * of its CPU samples in the first 6 s (298 methods compiled at the top tier after the election,
 * among them {@code Dispatcher.executeRequest}, Netty's read and write paths, the index's
 * {@code put} and {@code get}). It drives a scratch single-node server on a loopback port of
 * its own with SETs and GETs from one connection (one per round trip, as most clients send
 * them, with pipelined bursts) until the JIT is quiet, then closes it.
 *
 * <p>It starts {@link #START_DELAY_MILLIS} after the member. Cost: {@link #ROUNDS} rounds of {@link #KEYS_PER_ROUND} values of {@link #VALUE_BYTES}
 * bytes (about 2 MiB written and read back per round), a second or two of one core at start;
 * the scratch directory is deleted after each round. Its failure is logged and ignored: it only
 * warms code.
 */
public final class TakeoverRehearsal {
  private static final org.slf4j.Logger log =
      org.slf4j.LoggerFactory.getLogger(TakeoverRehearsal.class);
  /** Rounds: enough calls of the per-key code for the JIT's top tier (thousands each). */
  static final int ROUNDS = 4;
  static final int KEYS_PER_ROUND = 4_000;
  static final int VALUE_BYTES = 496;
  /** Keys asked for by one priority pull of the rehearsal. */
  private static final int PRIORITY_KEYS = 8;
  /**
   * Log bytes per BatchPull chunk in the rehearsal: a round's ~2 MiB then comes in ~270 chunks,
   * not ~9, so the code a recovery runs once per chunk is compiled too. (A new primary's compile
   * log after an election showed ValueRecovery, ValuePull and CopyPace methods compiled at the
   * first tier only then: the rehearsal had run them a few dozen times.)
   */
  static final int CHUNK_BYTES = 8 << 10;
  /**
   * Keys the rehearsing witness asks for one by one ({@link ValueRecovery#pullNow}, as a GET of
   * a key not copied yet does) in each pass of its recovery, while they are still unknown.
   */
  private static final int PULLS_PER_PASS = 8;
  /**
   * Wait after the member starts before rehearsing: a restarted member first replays its log
   * tail and catches up, which the rehearsal's core of CPU must not slow down.
   */
  static final long START_DELAY_MILLIS = 5_000;
  /**
   * Commands the serving rehearsal runs at least. The JIT's top tier needs more calls than its
   * nominal thresholds while its queue is long (a member's start), so the rehearsal goes on,
   * {@link #SERVING_MORE_COMMANDS} at a time, until a round of them compiled nothing (the JVM's
   * total compilation time did not grow), at most {@link #SERVING_COMMANDS_MAX}.
   */
  static final int SERVING_COMMANDS = 24_000;
  static final int SERVING_MORE_COMMANDS = 8_000;
  static final int SERVING_COMMANDS_MAX = 120_000;
  /** Every this many rounds (a SET, a GET, a GET of an absent key), a burst of pipelined GETs. */
  private static final int SERVING_BURST_EVERY = 16;
  private static final int SERVING_BURST = 32;
  private static final NodeId BACKUP = NodeId.of(1);
  private static final NodeId WITNESS = NodeId.of(2);

  private TakeoverRehearsal() {}

  /** What one run did, for the log and tests. */
  record Result(int rounds, long valuesRecovered, long priorityPulls, long millis) {}

  /**
   * Runs the rehearsal in {@code scratch} (created, and deleted afterwards) with a backup store
   * configured as {@code backupConfig} (its buffer made small) and a state as {@code
   * stateConfig}. Runs on the caller's thread.
   */
  static Result run(Path scratch, BackupConfig backupConfig, StorageConfig stateConfig)
      throws IOException {
    long start = System.nanoTime();
    long recovered = 0;
    long priority = 0;
    BackupConfig small = backupConfig.toBuilder().bufferBytes(4L << 20).valueBytesMax(512 << 10)
        .build();
    for (int round = 0; round < ROUNDS; round++) {
      Path dir = scratch.resolve("round-" + round);
      ShardMember.deleteTree(dir);
      Files.createDirectories(dir);
      try (BackupKvStore store = new BackupKvStore(BackupStore.open(dir, small));
          EngineStateMachine backup = new EngineStateMachine(store);
          MemoryKvStore memory = new MemoryKvStore(stateConfig);
          EngineStateMachine witness = new EngineStateMachine(memory)) {
        byte[] value = new byte[VALUE_BYTES];
        for (int i = 1; i <= KEYS_PER_ROUND; i++) {
          value[i % VALUE_BYTES] = (byte) i;
          Entry e = put(i, key(i), value);
          witness.apply(e.elide());
          backup.apply(e);
        }
        ArrayDeque<PullMessage> toBackup = new ArrayDeque<>();
        ArrayDeque<PullMessage> toWitness = new ArrayDeque<>();
        try (PullAnswers answers = new PullAnswers(BACKUP, store.backup(),
            m -> toWitness.add(throughCodec(m)))) {
          long[] clock = {0};
          ValueRecovery recovery = new ValueRecovery(WITNESS, witness,
              m -> toBackup.add(throughCodec(m)), RecoveryMode.ONLINE, () -> clock[0])
              .chunkBytes(CHUNK_BYTES);
          // priority pulls first, as GETs of keys not copied yet ask for them
          for (int i = 1; i + PRIORITY_KEYS <= KEYS_PER_ROUND; i += KEYS_PER_ROUND / 64) {
            List<byte[]> keys = new java.util.ArrayList<>(PRIORITY_KEYS);
            for (int k = 0; k < PRIORITY_KEYS; k++) {
              keys.add(key(i + k));
            }
            throughCodec(answers.answerPriority(new PullKeys(WITNESS, BACKUP, i, 0, keys, true)));
            priority++;
          }
          recovery.start(List.of(BACKUP), 2, 0);
          long now = 0;
          int asked = 0;
          for (int pass = 0; recovery.active() && pass < 1_000_000; pass++) {
            now += 1_000_000; // a millisecond a pass: the online copy is paced in time
            clock[0] = now;
            recovery.tick(now);
            // GETs of keys not copied yet, each waiting for its own priority pull (the witness's
            // side of it: pullNow, the reply's install, the latency it reports to the pace)
            for (int k = 0; k < PULLS_PER_PASS && asked < KEYS_PER_ROUND; k++) {
              byte[] wanted = key(KEYS_PER_ROUND - asked++);
              if (witness.isUnknown(wanted)) {
                recovery.pullNow(List.of(wanted));
                priority++;
              }
            }
            while (!toBackup.isEmpty()) {
              answers.offer(toBackup.poll());
            }
            while (answers.step(now)) {
              // answer everything queued
            }
            while (!toWitness.isEmpty()) {
              PullMessage m = toWitness.poll();
              if (m instanceof BatchPullReply r) {
                recovery.onBatchReply(r, now);
              } else if (m instanceof PullKeysReply r) {
                recovery.onReply(r, now);
              }
            }
          }
          if (recovery.active()) {
            throw new IllegalStateException("the rehearsal's recovery did not end: "
                + recovery.info());
          }
          for (int i = 1; i <= KEYS_PER_ROUND; i++) {
            EngineStateMachine.Read r = witness.read(key(i));
            if (r.unknown() || r.value() == null) {
              throw new IllegalStateException("the rehearsal's key " + i + " was not recovered");
            }
            recovered++;
          }
        }
      } finally {
        ShardMember.deleteTree(dir);
      }
    }
    ShardMember.deleteTree(scratch);
    return new Result(ROUNDS, recovered, priority, (System.nanoTime() - start) / 1_000_000);
  }

  /**
   * Runs {@link #SERVING_COMMANDS} or more SETs and GETs against a scratch single-node server on a
   * loopback port of its own, with its store in memory ({@code stateConfig}) and nothing on disk
   * but {@code dir}, which is deleted after. Returns the commands answered. Caller's thread.
   */
  static long rehearseServing(Path dir, StorageConfig stateConfig)
      throws IOException, InterruptedException {
    Files.createDirectories(dir);
    ServerConfig config = new ServerConfig("127.0.0.1", 0, dir, Durability.ORDERED, null,
        RespLimits.DEFAULTS, 1, stateConfig);
    long answered = 0;
    String value = "v".repeat(VALUE_BYTES);
    try (RespawnServer server = RespawnServer.start(config, d -> new MemoryKvStore(stateConfig));
        RespClient client = new RespClient("127.0.0.1", server.port(), 10_000)) {
      java.lang.management.CompilationMXBean jit =
          java.lang.management.ManagementFactory.getCompilationMXBean();
      boolean timed = jit != null && jit.isCompilationTimeMonitoringSupported();
      long compiledMillis = timed ? jit.getTotalCompilationTime() : 0;
      long goal = SERVING_COMMANDS;
      for (int round = 0; answered < goal; round++) {
        // One command per round trip, as most clients send them (the per-read code runs once
        // per command), then now and then a pipelined burst.
        String key = "rehearsal:" + round;
        expect(client.call("SET", key, value), "OK", round);
        expect(client.call("GET", key), value, round);
        expect(client.call("GET", "rehearsal:absent:" + round), null, round);
        answered += 3;
        if (round % SERVING_BURST_EVERY == 0) {
          for (int i = 0; i < SERVING_BURST; i++) {
            client.send("GET", key);
          }
          client.flush();
          for (int i = 0; i < SERVING_BURST; i++) {
            expect(client.reply(), value, round);
          }
          answered += SERVING_BURST;
        }
        if (answered >= goal && timed && goal < SERVING_COMMANDS_MAX) {
          long now = jit.getTotalCompilationTime();
          if (now != compiledMillis) {
            goal += SERVING_MORE_COMMANDS; // still compiling: go on
          }
          compiledMillis = now;
        }
      }
    } finally {
      ShardMember.deleteTree(dir);
    }
    return answered;
  }

  /**
   * Runs the whole rehearsal once on the caller's thread, with the default stores' settings, in
   * {@code scratch} (deleted afterwards): the start-up cache's training run ({@code respawn
   * aot-train}) covers the recovery and serving code this way.
   */
  public static void runForTraining(Path scratch) throws IOException, InterruptedException {
    run(scratch.resolve("recovery"), BackupConfig.defaults(), StorageConfig.defaults());
    rehearseServing(scratch.resolve("serving"), StorageConfig.defaults());
    ShardMember.deleteTree(scratch);
  }

  /**
   * Starts {@link #run} on a daemon thread of its own, then, if {@code serves} (a witness: the
   * next primary), {@link #rehearseServing}; logs what it did.
   */
  static void startInBackground(Path scratch, BackupConfig backupConfig,
      StorageConfig stateConfig, boolean serves) {
    Thread t = new Thread(() -> {
      // It yields to the member's event loop, and so do the scratch server's threads it starts.
      BackgroundPriority.lowerCurrentThread();
      try {
        Thread.sleep(START_DELAY_MILLIS);
        Result r = run(scratch, backupConfig, stateConfig);
        log.info("takeover rehearsal: {} values recovered in {} rounds, {} priority pulls, {} ms"
            + " (compiles the recovery's code before a takeover needs it)",
            r.valuesRecovered(), r.rounds(), r.priorityPulls(), r.millis());
        if (serves) {
          long start = System.nanoTime();
          long commands = rehearseServing(scratch.resolve("serving"), stateConfig);
          ShardMember.deleteTree(scratch);
          log.info("takeover rehearsal: {} commands served by a scratch server in {} ms"
              + " (compiles the command layer before this member serves as primary)", commands,
              (System.nanoTime() - start) / 1_000_000);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } catch (IOException | RuntimeException e) {
        log.warn("takeover rehearsal failed (it only warms code; nothing else is affected): {}",
            e.toString());
        try {
          ShardMember.deleteTree(scratch);
        } catch (IOException ignored) {
          // the next start deletes it
        }
      }
    }, "respawn-rehearsal");
    t.setDaemon(true);
    t.setPriority(Thread.MIN_PRIORITY);
    t.start();
  }

  private static void expect(Object reply, String expected, int round) {
    if (!java.util.Objects.equals(reply, expected)) {
      throw new IllegalStateException("the serving rehearsal's round " + round + " was answered "
          + reply + " where it expected " + expected);
    }
  }

  private static PullMessage throughCodec(PullMessage m) {
    return ValuePull.decode(ValuePull.encode(m));
  }

  private static byte[] key(int i) {
    return ("rehearsal:" + i).getBytes(StandardCharsets.UTF_8);
  }

  private static Entry put(long index, byte[] key, byte[] value) {
    List<Mutation> batch = List.of(Mutation.put(key, value.clone()));
    return Entry.normal(1, index, Command.of(MutationBatchCodec.encode(batch), key));
  }
}
