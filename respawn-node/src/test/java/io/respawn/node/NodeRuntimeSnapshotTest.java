package io.respawn.node;

import static org.assertj.core.api.Assertions.assertThat;

import io.respawn.core.Role;
import io.respawn.node.log.MemoryReplicaLog;
import io.respawn.node.snapshot.SnapshotPolicy;
import io.respawn.storage.Durability;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The runtime's snapshot cycle: keep, compact, restart from the image, send to a laggard. */
class NodeRuntimeSnapshotTest {

  static TestShard shard(SnapshotPolicy policy) {
    return new TestShard(RuntimeConfig.defaults().withFlushIntervalMillis(5), l -> l, policy,
        Role.PRIMARY, Role.BACKUP, Role.WITNESS);
  }

  static void write(TestShard s, int from, int to, int valueBytes) {
    write(s, from, to, valueBytes, 50, "k");
  }

  static void write(TestShard s, int from, int to, int valueBytes, int keys, String keyPrefix) {
    NodeRuntime<Long> leader = s.n(0);
    for (int i = from; i < to; i++) {
      leader.propose(TestShard.cmd(keyPrefix + (i % keys), "v" + i + "-" + "x".repeat(valueBytes)),
          i % 10 == 0 ? Durability.DURABLE : Durability.ORDERED);
      if (i % 8 == 0) {
        s.run(10);
      }
    }
    s.run(200);
  }

  @Test
  void membersCompactBehindKeptImagesAndRestartReplayingOnlyTheTail() {
    TestShard s = shard(new SnapshotPolicy(20, 5, 256, 4, 1 << 20, 50, 1 << 20));
    s.electNode(0);
    write(s, 0, 200, 10);
    for (int i = 0; i < 3; i++) {
      NodeRuntime<Long> n = s.n(i);
      assertThat(n.snapshotsKept()).as("n%d kept", i).isPositive();
      assertThat(n.log().firstIndex()).as("n%d first index", i).isGreaterThan(150);
      assertThat(n.replica().snapshotIndex()).isEqualTo(n.log().firstIndex() - 1);
    }
    // the backup restarts: its store opens from the kept image, the log holds only the tail
    long commit = s.n(0).replica().commitIndex();
    var before = new java.util.HashMap<>(s.stores.get(1).values);
    s.down.add(1);
    s.logs.get(1).processCrash(); // kill -9: what was written survives
    s.start(1);
    s.down.remove((Integer) 1);
    s.run(200);
    TestShard.MapStore store = s.stores.get(1);
    assertThat(store.appliedCalls).as("entries replayed after the restart")
        .isLessThan(40).isPositive();
    assertThat(store.applied).isEqualTo(commit);
    assertThat(store.values).isEqualTo(before);
  }

  /**
   * A tail bounded in bytes: 200 entries of some 330 command bytes, a snapshot every 20, a tail
   * of up to 1,000 entries but at most 2,000 bytes (the image of 5 keys is smaller): each member
   * keeps only the few entries behind its image that fit, where by entries alone it would keep
   * them all. Every member still holds the same state (one that fell behind the leader's short
   * tail catches up through an image).
   */
  @Test
  void theTailBehindAnImageIsCappedInBytes() {
    for (long tailBytesMax : new long[] {0, 2_000}) {
      TestShard s = shard(new SnapshotPolicy(20, 1_000, 256, 4, 1 << 20, 50, 1 << 20, 0,
          tailBytesMax));
      s.electNode(0);
      write(s, 0, 200, 300, 5, "k");
      for (int i = 0; i < 3; i++) {
        NodeRuntime<Long> n = s.n(i);
        assertThat(n.snapshotsKept()).as("n%d kept", i).isPositive();
        long kept = n.replica().snapshotIndex();
        if (tailBytesMax == 0) {
          assertThat(kept).as("n%d: 1,000 entries kept behind the image: none compacted", i)
              .isZero();
        } else {
          long imageIndex = s.kept.get(i).meta().index();
          // a witness's entries carry no command bytes: each counts for its 64-byte overhead
          long entryBytesMin = i == 2 ? NodeRuntime.TAIL_ENTRY_OVERHEAD_BYTES : 300;
          // (a member that fell behind the leader's short tail installed an image: none kept)
          assertThat(imageIndex - kept).as("n%d: entries kept behind the image at %d", i,
              imageIndex).isBetween(i == 0 ? 1L : 0L, 2_000L / entryBytesMin);
        }
      }
      assertThat(s.stores.get(1).values).isEqualTo(s.stores.get(0).values);
    }
  }

  /**
   * Sizing the tail behind a kept image reads back only about the byte cap's worth of entries,
   * not every one of {@code logTailEntries}: 1,200 entries of some 330 bytes, a snapshot every
   * 200, up to 5,000 entries kept behind it but at most 3,000 bytes (about 9 entries). Reading
   * back every entry up to 5,000 behind each image (as the first version did, on the loop thread)
   * brought thousands of entries back per keep; a bounded scan reads a few dozen.
   */
  @Test
  void sizingTheTailReadsBackAboutTheCapNotTheWholeTail() {
    java.util.concurrent.atomic.AtomicLong entriesRead = new java.util.concurrent.atomic.AtomicLong();
    TestShard s = new TestShard(RuntimeConfig.defaults().withFlushIntervalMillis(5),
        l -> new ForwardingLog(l) {
          @Override
          public List<io.respawn.core.Entry> read(long from, long to, long bytesMax) {
            List<io.respawn.core.Entry> read = inner.read(from, to, bytesMax);
            entriesRead.addAndGet(read.size());
            return read;
          }
        },
        new SnapshotPolicy(200, 5_000, 256, 4, 1 << 20, 50, 1 << 20, 0, 3_000),
        Role.PRIMARY, Role.BACKUP, Role.WITNESS);
    s.electNode(0);
    write(s, 0, 1_200, 300);
    NodeRuntime<Long> leader = s.n(0);
    assertThat(leader.snapshotsKept()).isGreaterThanOrEqualTo(4);
    long imageIndex = s.kept.get(0).meta().index();
    assertThat(imageIndex - leader.replica().snapshotIndex()).as("the tail fits the cap")
        .isBetween(1L, 3_000L / 300);
    assertThat(entriesRead.get()).as("entries read back over %d keeps of three members",
        leader.snapshotsKept()).isLessThan(1_500);
  }

  /**
   * The growth gate: 400 entries of some 330 command bytes over 50 keys (an image of ~17 KB), a
   * capture due every 20 entries or 1,000 bytes. Without the gate a value keeper keeps an image
   * every 20 entries; with 100 % it waits until the log since its last capture carries the kept
   * image's size, a few times over the run, and compacts all the same. The witness (keys-only
   * images) goes by entries either way, but keeps no image past the lowest image of the value
   * keepers (docs/protocol.md §15, "Compaction by a member that keeps no values"): without the
   * gate one every 20 entries or so; with it, a few, as they do.
   */
  @Test
  void aValueKeeperWaitsForTheLogToGrowByItsImageBeforeCapturingAgain() {
    long[] kept = new long[2];
    long[] witnessKept = new long[2];
    long[] keptByTheValueKeepers = new long[2];
    int[] percents = {0, 100};
    for (int run = 0; run < 2; run++) {
      TestShard s = shard(new SnapshotPolicy(20, 5, 256, 4, 1 << 20, 50, 1 << 20, 1_000, 0,
          percents[run]));
      s.electNode(0);
      write(s, 0, 400, 320);
      kept[run] = s.n(0).snapshotsKept();
      witnessKept[run] = s.n(2).snapshotsKept();
      keptByTheValueKeepers[run] = kept[run] + s.n(1).snapshotsKept();
      assertThat(s.kept.get(2).meta().index()).as("the witness's image")
          .isLessThanOrEqualTo(Math.min(s.kept.get(0).meta().index(),
              s.kept.get(1).meta().index()));
      assertThat(s.n(0).log().firstIndex()).as("compacted behind its images").isGreaterThan(100);
      assertThat(s.stores.get(1).values).isEqualTo(s.stores.get(0).values);
    }
    assertThat(kept[0]).as("without the gate: one every 20 entries").isGreaterThanOrEqualTo(15);
    assertThat(kept[1]).as("with it: once per image's worth of log").isBetween(2L, 10L);
    assertThat(witnessKept[0]).as("the witness goes by entries: %s",
        java.util.Arrays.toString(witnessKept)).isGreaterThanOrEqualTo(15);
    // with the gate the value keepers keep a few images, and the witness keeps one once their
    // lowest image passes what it captured: a few as well, never more than they keep together
    assertThat(witnessKept[1]).as("the witness follows the value keepers' images: %s, %s",
        java.util.Arrays.toString(witnessKept),
        java.util.Arrays.toString(keptByTheValueKeepers))
        .isBetween(2L, keptByTheValueKeepers[1]);
  }

  /**
   * A witness labels its image no further than the value keepers' lowest kept image, so it keeps
   * one there once writes stop, whatever its applied index. The growth gate (100 %) lets the
   * value keepers capture every 50 or so of 300 entries of some 330 bytes (an image of ~17 KB),
   * and not again over the 60 entries of some 10 bytes that follow, since they carry far less
   * than the image. A witness that labelled its image
   * with its applied index (ahead of their images) waited for an image at least as new, forever:
   * it kept nothing more and compacted nothing more (the real-process {@code SnapshotIT} found
   * it, the witness with no image at all).
   */
  @Test
  void aWitnessKeepsAnImageAtTheValueKeepersImagesOnceWritesStop() {
    TestShard s = shard(new SnapshotPolicy(20, 5, 256, 4, 1 << 20, 50, 1 << 20, 1_000, 0, 100));
    s.electNode(0);
    write(s, 0, 300, 320);
    write(s, 300, 360, 0);
    s.run(1_000);
    long primaryImage = s.kept.get(0).meta().index();
    long backupImage = s.kept.get(1).meta().index();
    long floor = Math.min(primaryImage, backupImage);
    assertThat(s.n(0).replica().appliedIndex() - floor).as("the value keepers' images (%d, %d)"
        + " stay behind the applied index once writes stop", primaryImage, backupImage)
        .isGreaterThanOrEqualTo(20);
    var witnessImage = s.kept.get(2);
    assertThat(witnessImage).as("the witness keeps an image").isNotNull();
    assertThat(witnessImage.meta().index()).as("the witness's image, labelled at the value"
        + " keepers' lowest").isEqualTo(floor);
    assertThat(witnessImage.effectsThroughIndex()).as("holding its state as of its applied"
        + " index then").isGreaterThan(floor);
    assertThat(s.n(2).replica().snapshotIndex()).as("compacted behind it")
        .isEqualTo(floor - 5);
    // restarted, the witness replays the log after the label over the fuzzy image
    long commit = s.n(0).replica().commitIndex();
    s.down.add(2);
    s.logs.get(2).processCrash();
    s.start(2);
    s.down.remove((Integer) 2);
    s.run(200);
    assertThat(s.stores.get(2).applied).isEqualTo(commit);
  }

  /**
   * A store whose images are fuzzy (walked while entries apply, as a shard member's are) says
   * which entries' effects an image may hold; the runtime keeps it only once the shard holds
   * those durably, not merely the image's own index: an image must never hold an effect a
   * machine crash of the write quorum could still take back. Writes are mostly ORDERED and the
   * logs flush every 5 ms, so an image is often ready before its last entries are durable.
   */
  @Test
  void aFuzzyImageIsKeptOnlyOnceTheEntriesItMayHoldAreDurable() {
    TestShard s = shard(new SnapshotPolicy(20, 5, 256, 4, 1 << 20, 50, 1 << 20));
    for (int i = 0; i < 3; i++) {
      int n = i;
      s.stores.get(i).fuzzyAheadEntries = 7;
      s.stores.get(i).compactable = () -> s.n(n).replica().durableHereIndex();
    }
    s.electNode(0);
    write(s, 0, 300, 10);
    for (int i = 0; i < 3; i++) {
      List<long[]> keeps = s.stores.get(i).keeps;
      assertThat(keeps).as("n%d kept fuzzy images", i).isNotEmpty();
      for (long[] k : keeps) {
        assertThat(k[1]).as("n%d kept an image holding effects through %d", i, k[0])
            .isGreaterThanOrEqualTo(k[0]);
      }
    }
    assertThat(s.stores.get(1).values).isEqualTo(s.stores.get(0).values);
  }

  @Test
  void aWitnessRestartedAfterTheLogWasCompactedRejoinsThroughASnapshot() {
    TestShard s = shard(new SnapshotPolicy(20, 5, 64, 2, 64 * 1024, 30, 1 << 20));
    s.electNode(0);
    write(s, 0, 20, 10);
    s.down.add(2);
    write(s, 20, 200, 10);
    assertThat(s.n(0).replica().snapshotIndex()).isGreaterThan(s.n(2).replica().lastIndex());
    // it comes back with an empty disk, as a replacement machine would
    s.logs.put(2, new MemoryReplicaLog());
    s.ports.put(2, s.logs.get(2));
    s.kept.remove(2);
    s.start(2);
    s.down.remove((Integer) 2);
    s.run(1500);
    NodeRuntime<Long> w = s.n(2);
    assertThat(w.snapshotsInstalled()).isEqualTo(1);
    assertThat(w.replica().commitIndex()).isEqualTo(s.n(0).replica().commitIndex());
    assertThat(w.snapshotReceiver().chunksAccepted()).isGreaterThan(3); // it came in pieces
    // a witness's image holds keys only
    assertThat(s.stores.get(2).values.values()).containsOnly("?");
    assertThat(s.stores.get(2).values.keySet()).isEqualTo(s.stores.get(0).values.keySet());
  }

  @Test
  void aTransferCutByALostConnectionResumesWhereItStopped() {
    // the witness's image: 1,500 keys of about 60 bytes (keys only), some 90 KB, sent at
    // 100 KiB/s in 2 KiB chunks
    TestShard s = shard(new SnapshotPolicy(100, 20, 2048, 2, 100 * 1024, 30, 1 << 24));
    s.electNode(0);
    write(s, 0, 20, 10);
    s.down.add(2);
    write(s, 20, 1700, 8, 1500, "key-with-a-long-name-so-the-image-of-keys-is-large-".repeat(1));
    s.logs.put(2, new MemoryReplicaLog());
    s.ports.put(2, s.logs.get(2));
    s.kept.remove(2);
    s.start(2);
    s.down.remove((Integer) 2);
    // part of the image arrives (the sender backed off while the peer was down: allow for that)
    for (int i = 0; i < 300 && s.n(2).snapshotReceiver().stagedOffset() < 20L * 2048; i++) {
      s.run(5);
    }
    long staged = s.n(2).snapshotReceiver().stagedOffset();
    assertThat(staged).isGreaterThan(16L * 2048);
    long sentAtCut = s.n(0).snapshotSender().bytesSent();
    s.down.add(2); // the connection drops for a while: chunks and acks are lost
    s.run(300);
    s.down.remove((Integer) 2);
    s.run(2000);
    NodeRuntime<Long> w = s.n(2);
    assertThat(w.snapshotsInstalled()).isEqualTo(1);
    long image = s.kept.get(2).bodyBytes();
    assertThat(image).isGreaterThan(60_000);
    // resumed from what was staged: after the cut the leader sent the rest, not the whole image
    long afterCut = s.n(0).snapshotSender().bytesSent() - sentAtCut;
    assertThat(afterCut).isLessThan(image - staged + 16L * 2048);
    assertThat(w.replica().commitIndex()).isEqualTo(s.n(0).replica().commitIndex());
  }
}
