package io.respawn.server.shard;

import static io.respawn.server.shard.ShardEntries.b;
import static io.respawn.server.shard.ShardEntries.write;
import static org.assertj.core.api.Assertions.assertThat;

import io.respawn.core.Entry;
import io.respawn.core.SnapshotMeta;
import io.respawn.node.snapshot.SnapshotImage;
import io.respawn.server.testing.ForwardingKvStore;
import io.respawn.storage.KvStore;
import io.respawn.storage.MemoryKvStore;
import io.respawn.storage.Mutation;
import io.respawn.storage.ScanPage;
import io.respawn.storage.StorageConfig;
import io.respawn.storage.StoredValue;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A capture walks the state on its own thread while the node loop goes on applying entries (the
 * walk of a large state takes seconds; a primary whose loop stopped for it lost its leadership).
 * The store here holds the walk after its first page until the test has applied more entries:
 * overwrites of keys the walk has and has not passed, deletes, new keys. The image then holds
 * some of those effects (it is fuzzy), says so by its effects-through index, and restoring it and
 * replaying the entries after its index gives exactly the state the original reached; a change
 * that replaying cannot redo (a witness-form entry turning values into timestamps) abandons the
 * capture, and the runtime is told it failed.
 */
class FuzzyCaptureTest {
  @TempDir Path tmp;

  private static final int KEYS = 5_000;

  private static StorageConfig limits() {
    return StorageConfig.defaults().withSizes(128L << 20, 1 << 20, 64, 4096);
  }

  /** Every key of a state machine's store with its value and expiry. */
  private static Map<String, String> contents(KvStore store) {
    Map<String, String> out = new TreeMap<>();
    long cursor = 0;
    do {
      ScanPage page = store.scan(cursor, 1000);
      for (byte[] k : page.keys()) {
        StoredValue v = store.get(k);
        if (v != null) {
          out.put(new String(k, StandardCharsets.UTF_8),
              new String(v.value(), StandardCharsets.UTF_8) + "@" + v.expiresAtMillis());
        }
      }
      cursor = page.nextCursor();
    } while (cursor != 0);
    return out;
  }

  /**
   * A memory store whose walk by the capture thread stops after its first page until {@link
   * #release}: the test applies entries meanwhile, as a node loop would.
   */
  private static final class HeldWalkStore extends ForwardingKvStore {
    final CountDownLatch walkHeld = new CountDownLatch(1);
    final CountDownLatch release = new CountDownLatch(1);

    HeldWalkStore() {
      super(new MemoryKvStore(limits()));
    }

    @Override
    public ScanPage scan(long cursor, int countHint) {
      if (cursor != 0 && Thread.currentThread().getName().equals("snapshot-capture")
          && walkHeld.getCount() > 0) {
        walkHeld.countDown();
        try {
          assertThat(release.await(30, TimeUnit.SECONDS)).isTrue();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      return inner.scan(cursor, countHint);
    }
  }

  private static void awaitReady(EngineStateMachine m, SnapshotImage image)
      throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (!m.snapshotReady(image)) {
      assertThat(System.nanoTime()).as("capture done in time").isLessThan(deadline);
      Thread.sleep(2);
    }
  }

  @Test
  void anImageWalkedWhileEntriesApplyReplaysIntoTheExactState() throws Exception {
    HeldWalkStore store = new HeldWalkStore();
    MemberImages images = MemberImages.open(tmp.resolve("primary"));
    List<Entry> log = new ArrayList<>();
    Map<String, String> atS;
    Map<String, String> atE;
    long s;
    try (EngineStateMachine m = new EngineStateMachine(store).withImages(images, false)) {
      long index = 0;
      for (int i = 0; i < KEYS; i++) {
        Entry e = write(1, ++index, Mutation.put(b("k" + i), b("v0-" + i), i % 7 == 0 ? 5L : 0));
        log.add(e);
        m.apply(e);
      }
      s = index;
      atS = contents(store);
      SnapshotImage image = m.captureSnapshot(new SnapshotMeta(s, 1, null));
      assertThat(store.walkHeld.await(30, TimeUnit.SECONDS)).as("walk started").isTrue();
      assertThat(m.snapshotReady(image)).as("the walk waits; the loop does not").isFalse();

      // the node loop applies on while the walk is held after its first page
      for (int i = 0; i < KEYS; i += 3) {
        Entry e = write(1, ++index, Mutation.put(b("k" + i), b("v1-" + i), 0));
        log.add(e);
        m.apply(e);
      }
      for (int i = 1; i < KEYS; i += 5) {
        Entry e = write(1, ++index, Mutation.delete(b("k" + i)));
        log.add(e);
        m.apply(e);
      }
      for (int i = 0; i < 500; i++) {
        Entry e = write(1, ++index, Mutation.put(b("new" + i), b("n" + i), 0));
        log.add(e);
        m.apply(e);
      }
      long e = index;
      store.release.countDown();
      awaitReady(m, image);
      assertThat(m.snapshotFailed(image)).isFalse();
      assertThat(image.meta().index()).isEqualTo(s);
      assertThat(image.effectsThroughIndex())
          .as("the walk went on after entries up to %d were applied", e).isEqualTo(e);
      m.keepSnapshot(image);
      atE = contents(store);
    }
    assertThat(atE).isNotEqualTo(atS);

    MemberImages reopened = MemberImages.open(tmp.resolve("primary"));
    MemoryKvStore restoredStore = new MemoryKvStore(limits());
    try (EngineStateMachine r = new EngineStateMachine(restoredStore)
        .withImages(reopened, false)) {
      r.restoreFrom(reopened.kept());
      assertThat(r.appliedIndex()).isEqualTo(s);
      Map<String, String> imageAlone = contents(restoredStore);
      assertThat(imageAlone).as("the walk saw writes after its start: the image is fuzzy")
          .isNotEqualTo(atS);
      for (Entry e : log.subList((int) s, log.size())) {
        r.apply(e);
      }
      assertThat(contents(restoredStore)).as("image + entries after its index").isEqualTo(atE);
    }
  }

  @Test
  void aWitnessFormEntryDuringTheWalkAbandonsTheCapture() throws Exception {
    HeldWalkStore store = new HeldWalkStore();
    MemberImages images = MemberImages.open(tmp.resolve("witness"));
    try (EngineStateMachine m = new EngineStateMachine(store).withImages(images, true)) {
      long index = 0;
      for (int i = 0; i < 3000; i++) { // a witness that led: its store holds values
        m.apply(write(1, ++index, Mutation.put(b("k" + i), b("v" + i), 0)));
      }
      SnapshotImage image = m.captureSnapshot(new SnapshotMeta(index, 1, null));
      assertThat(store.walkHeld.await(30, TimeUnit.SECONDS)).isTrue();
      Entry full = write(2, ++index, Mutation.put(b("k1"), b("x"), 0));
      m.apply(full.elide()); // it follows again: the store's keys become timestamps
      store.release.countDown();
      awaitReady(m, image);
      assertThat(m.snapshotFailed(image)).as("the walk cannot be replayed past that").isTrue();
      while (m.draining()) { // the keys move into the table over the entries that follow
        m.apply(write(2, ++index, Mutation.put(b("k2"), b("y"), 0)).elide());
      }
      assertThat(m.unknownKeyCount()).isEqualTo(3000);
      assertThat(store.keyCount()).isZero();
    }
  }
}
