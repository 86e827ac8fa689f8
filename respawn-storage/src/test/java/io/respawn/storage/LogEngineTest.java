package io.respawn.storage;

import static io.respawn.storage.TestSupport.b;
import static io.respawn.storage.TestSupport.get;
import static io.respawn.storage.TestSupport.put;
import static io.respawn.storage.TestSupport.smallConfig;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.respawn.storage.crash.RecordingDisk;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LogEngineTest {
  @TempDir Path dir;

  @Test
  void putGetDeleteSurviveReopen() throws Exception {
    try (LogEngine store = LogEngine.open(new FileChannelDisk(dir), smallConfig())) {
      put(store, "a", "1");
      put(store, "b", "2").durable().get(5, TimeUnit.SECONDS);
      store.apply(List.of(Mutation.delete(b("a")), Mutation.put(b("c"), b("3"), 12345)));
      assertThat(get(store, "a")).isNull();
      assertThat(store.keyCount()).isEqualTo(2);
    }
    try (LogEngine store = LogEngine.open(new FileChannelDisk(dir), smallConfig())) {
      assertThat(get(store, "a")).isNull();
      assertThat(get(store, "b")).isEqualTo("2");
      assertThat(store.get(b("c")).expiresAtMillis()).isEqualTo(12345);
      assertThat(store.keyCount()).isEqualTo(2);
    }
  }

  @Test
  void expiresAtMillisReadsTheExpiryAsGetDoesWithoutTheValue() throws Exception {
    try (LogEngine store = LogEngine.open(new FileChannelDisk(dir), smallConfig())) {
      store.apply(List.of(Mutation.put(b("ttl"), b("v"), 12345), Mutation.put(b("plain"), b("v"))));
      assertThat(store.expiresAtMillis(b("ttl"))).isEqualTo(12345);
      assertThat(store.expiresAtMillis(b("plain"))).isZero();
      assertThat(store.expiresAtMillis(b("absent"))).isEqualTo(-1);
      store.apply(List.of(Mutation.put(b("ttl"), b("w")), Mutation.delete(b("plain"))));
      assertThat(store.expiresAtMillis(b("ttl"))).isZero();
      assertThat(store.expiresAtMillis(b("plain"))).isEqualTo(-1);
      store.apply(List.of(Mutation.put(b("ttl"), b("x"), 777))).durable().get(5, TimeUnit.SECONDS);
    }
    try (LogEngine store = LogEngine.open(new FileChannelDisk(dir), smallConfig())) {
      assertThat(store.expiresAtMillis(b("ttl"))).isEqualTo(777)
          .isEqualTo(store.get(b("ttl")).expiresAtMillis());
    }
  }

  @Test
  void readsItsOwnWritesImmediately() throws Exception {
    try (LogEngine store = LogEngine.open(new RecordingDisk(), smallConfig())) {
      for (int i = 0; i < 100; i++) { // INCR twice in a row must not lose an update
        String before = get(store, "counter");
        long next = before == null ? 1 : Long.parseLong(before) + 1;
        put(store, "counter", Long.toString(next));
      }
      assertThat(get(store, "counter")).isEqualTo("100");
    }
  }

  @Test
  void orderedDoesNotFlushDurableDoes() throws Exception {
    RecordingDisk disk = new RecordingDisk();
    try (LogEngine store = LogEngine.open(disk, smallConfig())) {
      put(store, "first", "v"); // creating the segment flushes its header once
      long flushesAtStart = disk.flushCount();
      for (int i = 0; i < 50; i++) {
        WriteTicket t = put(store, "k" + i, "v");
        assertThat(t.ordered()).isDone();
      }
      assertThat(disk.flushCount()).isEqualTo(flushesAtStart);
      WriteTicket t = put(store, "last", "v");
      t.durable().get(5, TimeUnit.SECONDS);
      assertThat(disk.flushCount()).isEqualTo(flushesAtStart + 1);
      assertThat(disk.unflushedBytes()).isZero();
    }
  }

  @Test
  void backgroundFlusherMakesOrderedWritesDurable() throws Exception {
    RecordingDisk disk = new RecordingDisk();
    StorageConfig config = smallConfig().withFlushIntervalMillis(20);
    try (LogEngine store = LogEngine.open(disk, config)) {
      WriteTicket t = put(store, "k", "v");
      t.ordered().get(5, TimeUnit.SECONDS);
      // nobody asked for durability; the flusher still gets there within the interval
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
      while (!t.durable().isDone() && System.nanoTime() < deadline) {
        Thread.sleep(5);
      }
      assertThat(t.durable()).isCompleted();
    }
  }

  @Test
  void anAttachedCallbackAsksForTheFsync() throws Exception {
    RecordingDisk disk = new RecordingDisk();
    StorageConfig config = smallConfig().withFlushIntervalMillis(60_000);
    try (LogEngine store = LogEngine.open(disk, config)) {
      WriteTicket t = put(store, "k", "v");
      java.util.concurrent.CountDownLatch acked = new java.util.concurrent.CountDownLatch(1);
      t.acknowledged(Durability.DURABLE).thenRun(acked::countDown); // the server's way
      assertThat(acked.await(5, TimeUnit.SECONDS)).isTrue(); // long before the 60 s interval
      assertThat(disk.unflushedBytes()).isZero();
    }
  }

  @Test
  void concurrentOrderedWritersAllSurviveCloseAndReopen() throws Exception {
    StorageConfig config = smallConfig().withFlushIntervalMillis(5);
    int writers = 8;
    int each = 300;
    try (LogEngine store = LogEngine.open(new FileChannelDisk(dir), config)) {
      List<Thread> threads = new java.util.ArrayList<>();
      java.util.concurrent.atomic.AtomicReference<Throwable> error =
          new java.util.concurrent.atomic.AtomicReference<>();
      for (int w = 0; w < writers; w++) {
        int writer = w;
        Thread t = new Thread(() -> {
          try {
            for (int i = 0; i < each; i++) {
              put(store, "w" + writer + "-" + i, "v" + i).ordered().get(5, TimeUnit.SECONDS);
            }
          } catch (Throwable e) {
            error.compareAndSet(null, e);
          }
        });
        threads.add(t);
        t.start();
      }
      for (Thread t : threads) {
        t.join(30_000);
        assertThat(t.isAlive()).isFalse();
      }
      assertThat(error.get()).isNull();
      assertThat(store.keyCount()).isEqualTo((long) writers * each);
    }
    try (LogEngine store = LogEngine.open(new FileChannelDisk(dir), config)) {
      assertThat(store.keyCount()).isEqualTo((long) writers * each);
      assertThat(get(store, "w7-299")).isEqualTo("v299");
    }
  }

  /**
   * Batch encodings reuse the arrays of batches already written (LogEngine's spare arrays), so
   * a batch may sit in a larger array than it needs, one that held other bytes before: every
   * value must come back exactly after a reopen, from batches of every size written while
   * others are still being encoded.
   */
  @Test
  void batchesInReusedArraysReplayExactly() throws Exception {
    StorageConfig config = smallConfig().withFlushIntervalMillis(1);
    java.util.Random random = new java.util.Random(42);
    java.util.Map<String, byte[]> expected = new java.util.HashMap<>();
    try (LogEngine store = LogEngine.open(new FileChannelDisk(dir), config)) {
      List<WriteTicket> tickets = new java.util.ArrayList<>();
      for (int batch = 0; batch < 600; batch++) {
        int size = 1 + random.nextInt(batch % 3 == 0 ? 40 : 4); // small and large passes mixed
        List<Mutation> mutations = new java.util.ArrayList<>();
        for (int i = 0; i < size; i++) {
          String key = "k" + random.nextInt(500);
          byte[] value = new byte[1 + random.nextInt(300)];
          random.nextBytes(value);
          mutations.add(Mutation.put(b(key), value));
          expected.put(key, value);
        }
        tickets.add(store.apply(mutations));
      }
      for (WriteTicket t : tickets) {
        t.ordered().get(5, TimeUnit.SECONDS);
      }
    }
    try (LogEngine store = LogEngine.open(new FileChannelDisk(dir), config)) {
      assertThat(store.keyCount()).isEqualTo(expected.size());
      for (java.util.Map.Entry<String, byte[]> e : expected.entrySet()) {
        assertThat(store.get(b(e.getKey())).value()).as(e.getKey()).isEqualTo(e.getValue());
      }
    }
  }

  @Test
  void segmentsRotateAndReplayInOrder() throws Exception {
    RecordingDisk disk = new RecordingDisk();
    try (LogEngine store = LogEngine.open(disk, smallConfig())) {
      for (int i = 0; i < 400; i++) {
        put(store, "k" + (i % 37), "value-" + i + "-" + "x".repeat(500));
      }
    }
    assertThat(disk.list().size()).isGreaterThan(2);
    try (LogEngine store = LogEngine.open(disk, smallConfig())) {
      for (int i = 400 - 37; i < 400; i++) {
        assertThat(get(store, "k" + (i % 37))).startsWith("value-" + i + "-");
      }
      assertThat(store.keyCount()).isEqualTo(37);
    }
  }

  @Test
  void clearRemovesEverythingAtomically() throws Exception {
    RecordingDisk disk = new RecordingDisk();
    try (LogEngine store = LogEngine.open(disk, smallConfig())) {
      put(store, "a", "1");
      put(store, "b", "2");
      store.apply(List.of(Mutation.clear(), Mutation.put(b("c"), b("3"))));
      assertThat(store.keyCount()).isEqualTo(1);
    }
    try (LogEngine store = LogEngine.open(disk, smallConfig())) {
      assertThat(get(store, "a")).isNull();
      assertThat(get(store, "c")).isEqualTo("3");
      assertThat(store.keyCount()).isEqualTo(1);
    }
  }

  @Test
  void limitsAreCheckedBeforeAnythingIsWritten() throws Exception {
    try (LogEngine store = LogEngine.open(new RecordingDisk(), smallConfig())) {
      assertThatThrownBy(() -> store.apply(List.of(Mutation.put(new byte[257], b("v")))))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessage("key of 257 bytes exceeds keyBytesMax 256");
      assertThatThrownBy(() -> store.apply(List.of(Mutation.put(b("k"), new byte[(8 << 10) + 1]))))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessage("value of 8193 bytes exceeds valueBytesMax 8192");
      List<Mutation> big = new java.util.ArrayList<>();
      for (int i = 0; i < 3; i++) {
        big.add(Mutation.put(b("k" + i), new byte[8 << 10]));
      }
      assertThatThrownBy(() -> store.apply(big))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageStartingWith("batch of ")
          .hasMessageEndingWith("bytes exceeds batchBytesMax 16384");
      assertThatThrownBy(() -> store.apply(List.of()))
          .isInstanceOf(IllegalArgumentException.class);
      assertThat(store.keyCount()).isZero();
    }
  }

  @Test
  void fileChannelDiskKeepsNoTempFilesAround() throws Exception {
    try (LogEngine store = LogEngine.open(new FileChannelDisk(dir), smallConfig())) {
      put(store, "a", "1").durable().get(5, TimeUnit.SECONDS);
    }
    try (var files = Files.list(dir)) {
      assertThat(files.map(p -> p.getFileName().toString()))
          .allMatch(n -> n.matches("\\d{20}-\\d+\\.log") || n.equals(LogFormat.CLEAN_SHUTDOWN_FILE)
              || n.equals(SpaceReserve.FILE))
          .contains(LogFormat.CLEAN_SHUTDOWN_FILE, SpaceReserve.FILE);
    }
  }

  /**
   * The zeros kept ahead of the log's end are the flusher's work, in chunks of at most {@link
   * LogEngine#ZERO_CHUNK_BYTES}: the writing thread (a server's event loop) writes only its
   * batches. Written on the writer's thread, each stretch stalled every client of the loop.
   */
  @Test
  void theFlusherWritesTheZerosAheadAndTheWriterOnlyItsBatches() throws Exception {
    List<String> writerZeros = new java.util.concurrent.CopyOnWriteArrayList<>();
    List<Integer> flusherZeros = new java.util.concurrent.CopyOnWriteArrayList<>();
    java.util.concurrent.atomic.AtomicLong dataEnd = new java.util.concurrent.atomic.AtomicLong();
    java.util.concurrent.atomic.AtomicLong zerosEnd = new java.util.concurrent.atomic.AtomicLong();
    Thread writer = Thread.currentThread();
    Disk watched = new ForwardingDisk(new FileChannelDisk(dir)) {
      @Override
      public void write(String name, long position, java.nio.ByteBuffer src)
          throws java.io.IOException {
        if (name.endsWith(".log")) { // not the disk reserve
          boolean zeros = src.remaining() >= 4096;
          for (int i = src.position(); zeros && i < src.limit(); i++) {
            zeros = src.get(i) == 0;
          }
          long end = position + src.remaining();
          if (!zeros) {
            dataEnd.accumulateAndGet(end, Math::max);
          } else if (Thread.currentThread() == writer) {
            writerZeros.add(src.remaining() + " at " + position);
          } else if (Thread.currentThread().getName().equals("respawn-storage-flusher")) {
            flusherZeros.add(src.remaining());
            zerosEnd.accumulateAndGet(end, Math::max);
          }
        }
        super.write(name, position, src);
      }
    };
    StorageConfig config = smallConfig().withSizes(4 << 20, 64 << 10, 256, 32 << 10)
        .withFlushIntervalMillis(60_000); // the flusher runs only when asked
    try (LogEngine store = LogEngine.open(watched, config)) {
      for (int i = 0; i < 400; i++) {
        store.apply(List.of(Mutation.put(b("k" + i), new byte[2000])));
      }
      store.flushAll().get(5, TimeUnit.SECONDS);
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
      while (zerosEnd.get() <= dataEnd.get() && System.nanoTime() < deadline) {
        Thread.sleep(1); // the last writes asked the flusher for more
      }
      assertThat(zerosEnd.get()).as("zeros ahead of the data").isGreaterThan(dataEnd.get());
      assertThat(writerZeros).as("zeros written by the writing thread").isEmpty();
      assertThat(flusherZeros).allMatch(n -> n <= LogEngine.ZERO_CHUNK_BYTES);
    }
    try (LogEngine store = LogEngine.open(new FileChannelDisk(dir), smallConfig())) {
      assertThat(store.keyCount()).isEqualTo(400);
    }
  }
}
