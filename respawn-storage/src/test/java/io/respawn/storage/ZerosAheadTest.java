package io.respawn.storage;

import static io.respawn.storage.TestSupport.b;
import static io.respawn.storage.TestSupport.smallConfig;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The flusher's zeros ahead of the log (LogEngine.topUpZeros) against what else changes the
 * write segment: compaction replacing its file, a full disk cutting a chunk short, and a sync
 * requested while the flusher is busy with them. Each case failed before its fix (found by an
 * independent review): the store then refused to reopen, or a DURABLE reply waited for the whole
 * flush interval.
 */
@Timeout(60)
class ZerosAheadTest {
  private static final String FLUSHER = "respawn-storage-flusher";
  @TempDir Path dir;

  private static boolean zeros(String name, ByteBuffer src) {
    boolean zeros = name.endsWith(".log") && src.remaining() >= 4096;
    for (int i = src.position(); zeros && i < src.limit(); i++) {
      zeros = src.get(i) == 0;
    }
    return zeros;
  }

  private static void runAndJoin(Runnable r, String name) {
    Thread t = new Thread(r, name);
    t.start();
    try {
      t.join();
    } catch (InterruptedException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * The flusher is held inside a top-up (in a callback of a batch it wrote) while compaction
   * replaces the write segment's file with a compacted one; the top-up must not go on writing
   * zeros past that file's end, which the next open would read as corruption.
   */
  @Test
  void noZerosGoIntoAFileCompactionPutInPlaceOfTheWriteSegment() throws Exception {
    AtomicBoolean armed = new AtomicBoolean(true);
    CountDownLatch flusherHeld = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    AtomicReference<LogEngine> store = new AtomicReference<>();
    Disk watched = new ForwardingDisk(new FileChannelDisk(dir)) {
      @Override
      public void write(String name, long position, ByteBuffer src) throws IOException {
        if (zeros(name, src) && Thread.currentThread().getName().equals(FLUSHER)
            && armed.compareAndSet(true, false)) {
          // a batch queued now is written by the flusher's turn, which then runs its callback
          runAndJoin(() -> store.get().apply(List.of(Mutation.put(b("p"), new byte[100])))
              .ordered().thenRun(() -> {
                if (Thread.currentThread().getName().equals(FLUSHER)) {
                  flusherHeld.countDown();
                  try {
                    release.await();
                  } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                  }
                }
              }), "writer");
        }
        super.write(name, position, src);
      }
    };
    StorageConfig config = smallConfig().withSizes(4 << 20, 64 << 10, 256, 32 << 10)
        .withFlushIntervalMillis(60_000);
    try (LogEngine s = LogEngine.open(watched, config)) {
      store.set(s);
      for (int i = 0; i < 10; i++) {
        s.apply(List.of(Mutation.put(b("k" + i), new byte[2000])));
      }
      assertThat(flusherHeld.await(10, TimeUnit.SECONDS)).as("flusher held in a top-up").isTrue();
      s.apply(List.of(Mutation.put(b("k1"), new byte[2000]))); // garbage for compaction
      s.compact();
      release.countDown();
      Thread.sleep(200); // the top-up goes on, or stops
    }
    try (LogEngine reopened = LogEngine.open(new FileChannelDisk(dir), smallConfig())) {
      assertThat(reopened.keyCount()).isEqualTo(11);
    }
  }

  /**
   * Every zero write of the flusher gets 512 bytes onto the disk and then fails for want of
   * space; sealing and close must still trim each segment back to its last batch.
   */
  @Test
  void zerosAFullDiskCutShortAreTrimmedWhenTheSegmentIsSealed() throws Exception {
    Disk watched = new ForwardingDisk(new FileChannelDisk(dir)) {
      @Override
      public void write(String name, long position, ByteBuffer src) throws IOException {
        if (zeros(name, src) && Thread.currentThread().getName().equals(FLUSHER)) {
          ByteBuffer part = src.duplicate();
          part.limit(part.position() + 512);
          super.write(name, position, part);
          throw new IOException("No space left on device");
        }
        super.write(name, position, src);
      }
    };
    StorageConfig config = smallConfig().withSizes(64 << 10, 16 << 10, 256, 8 << 10)
        .withFlushIntervalMillis(60_000);
    try (LogEngine s = LogEngine.open(watched, config)) {
      for (int i = 0; i < 150; i++) {
        s.apply(List.of(Mutation.put(b("k" + i), new byte[1000])));
        Thread.sleep(2); // let the flusher try
      }
    }
    try (LogEngine reopened = LogEngine.open(new FileChannelDisk(dir), smallConfig())) {
      assertThat(reopened.keyCount()).isEqualTo(150);
    }
  }

  /**
   * A DURABLE notice is asked for while the flusher tops up zeros, and the flusher's wake-up is
   * used up by a wait inside the top-up (for the writer's lock, held by a slow writer): the sync
   * must still run at once, not after the flush interval (10 s here).
   */
  @Test
  void aSyncRequestedDuringATopUpIsNotLeftForTheNextInterval() throws Exception {
    AtomicInteger zeroWrites = new AtomicInteger();
    AtomicReference<LogEngine> store = new AtomicReference<>();
    CompletableFuture<Long> durableAfterNanos = new CompletableFuture<>();
    CountDownLatch slowWriterInside = new CountDownLatch(1);
    Disk watched = new ForwardingDisk(new FileChannelDisk(dir)) {
      @Override
      public void write(String name, long position, ByteBuffer src) throws IOException {
        String thread = Thread.currentThread().getName();
        if (thread.equals("slow-writer")) {
          slowWriterInside.countDown();
          sleep(300); // holds the writer's lock
        }
        if (zeros(name, src) && thread.equals(FLUSHER) && zeroWrites.incrementAndGet() == 6) {
          runAndJoin(() -> {
            WriteTicket t = store.get().apply(List.of(Mutation.put(b("b"), new byte[100])));
            t.ordered().thenRun(() -> {
              if (Thread.currentThread().getName().equals(FLUSHER)) {
                new Thread(() -> store.get().apply(List.of(Mutation.put(b("c"), new byte[10]))),
                    "slow-writer").start();
                try {
                  slowWriterInside.await();
                } catch (InterruptedException e) {
                  Thread.currentThread().interrupt();
                }
              }
            });
            long asked = System.nanoTime();
            t.durable().thenRun(() -> durableAfterNanos.complete(System.nanoTime() - asked));
          }, "writer");
        }
        super.write(name, position, src);
      }
    };
    StorageConfig config = smallConfig().withSizes(4 << 20, 64 << 10, 256, 32 << 10)
        .withFlushIntervalMillis(10_000);
    try (LogEngine s = LogEngine.open(watched, config)) {
      store.set(s);
      s.apply(List.of(Mutation.put(b("a"), new byte[2000])));
      long nanos = durableAfterNanos.get(30, TimeUnit.SECONDS);
      assertThat(TimeUnit.NANOSECONDS.toMillis(nanos)).as("ms to the durable notice")
          .isLessThan(5_000);
    }
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
