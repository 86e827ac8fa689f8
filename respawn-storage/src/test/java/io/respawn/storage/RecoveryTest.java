package io.respawn.storage;

import static io.respawn.storage.TestSupport.get;
import static io.respawn.storage.TestSupport.put;
import static io.respawn.storage.TestSupport.smallConfig;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.respawn.storage.crash.RecordingDisk;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

class RecoveryTest {

  /**
   * Three segments, all durable: s0, s1 sealed, s2 last. Keys k0..k99, value "v<i>". As a crash
   * after the last flush leaves them: without the clean-shutdown mark.
   */
  private static Map<String, byte[]> threeSegments() throws Exception {
    Map<String, byte[]> image = threeSegmentsStoppedCleanly();
    assertThat(image.remove(LogFormat.CLEAN_SHUTDOWN_FILE)).isNotNull();
    return image;
  }

  /** {@link #threeSegments} after a clean stop: with the clean-shutdown mark. */
  private static Map<String, byte[]> threeSegmentsStoppedCleanly() throws Exception {
    RecordingDisk disk = new RecordingDisk();
    try (LogEngine store = LogEngine.open(disk, smallConfig())) {
      for (int i = 0; i < 100; i++) {
        put(store, "k" + i, "v" + i + "-" + "x".repeat(2000));
      }
      store.flushAll().join();
    }
    Map<String, byte[]> image = disk.currentImage();
    assertThat(segmentNames(image)).hasSizeGreaterThanOrEqualTo(3);
    return image;
  }

  private static List<String> segmentNames(Map<String, byte[]> image) {
    return image.keySet().stream().filter(n -> LogFormat.parseSegmentName(n) != null).toList();
  }

  private static String nth(Map<String, byte[]> image, int n) {
    return segmentNames(image).get(n);
  }

  private static String last(Map<String, byte[]> image) {
    List<String> names = segmentNames(image);
    return names.get(names.size() - 1);
  }

  @Test
  void tornTailOfLastSegmentIsTruncated() throws Exception {
    Map<String, byte[]> image = threeSegments();
    String last = last(image);
    byte[] bytes = image.get(last);
    byte[] torn = Arrays.copyOf(bytes, bytes.length + 700);
    Arrays.fill(torn, bytes.length, torn.length, (byte) 0x5a); // half a batch of garbage
    image.put(last, torn);
    RecordingDisk disk = RecordingDisk.of(image);
    try (LogEngine store = LogEngine.open(disk, smallConfig())) {
      assertThat(store.keyCount()).isEqualTo(100);
      assertThat(disk.size(last)).isEqualTo(bytes.length);
    }
  }

  @Test
  void lostTailBatchesAreDroppedAsAWhole() throws Exception {
    Map<String, byte[]> image = threeSegments();
    String last = last(image);
    byte[] bytes = image.get(last);
    image.put(last, Arrays.copyOf(bytes, bytes.length - 10)); // last batch cut short
    try (LogEngine store = LogEngine.open(RecordingDisk.of(image), smallConfig())) {
      assertThat(store.keyCount()).isEqualTo(99);
      assertThat(get(store, "k99")).isNull();
      assertThat(get(store, "k98")).startsWith("v98-");
    }
  }

  @Test
  void corruptionInASealedSegmentRefusesToOpenNamingSegmentAndOffset() throws Exception {
    Map<String, byte[]> image = threeSegments();
    String sealed = nth(image, 0);
    image.get(sealed)[5000] ^= 1;
    assertThatThrownBy(() -> LogEngine.open(RecordingDisk.of(image), smallConfig()))
        .isInstanceOf(StorageException.class)
        .hasMessageContaining("corrupt log: segment " + sealed + " offset ")
        .hasMessageContaining("start with --on-corruption truncate");
  }

  @Test
  void repairSwitchTruncatesAtTheCorruptionAndDropsLaterSegments() throws Exception {
    Map<String, byte[]> image = threeSegments();
    String sealed = nth(image, 0);
    image.get(sealed)[5000] ^= 1;
    RecordingDisk disk = RecordingDisk.of(image);
    try (LogEngine store = LogEngine.open(disk, smallConfig().withTruncateCorruptLog(true))) {
      assertThat(store.keyCount()).isBetween(1L, 3L); // the batches before offset 5000
      assertThat(get(store, "k0")).startsWith("v0-");
      assertThat(get(store, "k99")).isNull();
    }
    assertThat(disk.list()).contains(sealed).doesNotContain(nth(image, 1));
  }

  @Test
  void corruptionOfFlushedBytesInTheLastSegmentIsNotMistakenForATornTail() throws Exception {
    RecordingDisk disk = new RecordingDisk();
    try (LogEngine store = LogEngine.open(disk, smallConfig())) {
      put(store, "a", "1").durable().join();
      put(store, "b", "2").durable().join(); // its commit says "a" was flushed
      put(store, "c", "3").durable().join();
    }
    Map<String, byte[]> image = new TreeMap<>(disk.currentImage());
    String only = nth(image, 0);
    image.get(only)[LogFormat.SEGMENT_HEADER_BYTES + 40] ^= 1; // inside batch "a"
    assertThatThrownBy(() -> LogEngine.open(RecordingDisk.of(image), smallConfig()))
        .isInstanceOf(StorageException.class)
        .hasMessageContaining("offset 16")
        .hasMessageContaining("a flush had covered this offset");
  }

  @Test
  void tornHeaderOfANewLastSegmentIsDropped() throws Exception {
    Map<String, byte[]> image = threeSegments();
    image.put(LogFormat.segmentName(99, 0), new byte[7]);
    try (LogEngine store = LogEngine.open(RecordingDisk.of(image), smallConfig())) {
      assertThat(store.keyCount()).isEqualTo(100);
    }
  }

  @Test
  void leftoverCompactionFilesAreResolved() throws Exception {
    Map<String, byte[]> image = threeSegments();
    image.put(LogFormat.segmentName(1, 1) + ".tmp", new byte[100]); // unfinished output
    try (LogEngine store = LogEngine.open(RecordingDisk.of(image), smallConfig())) {
      assertThat(store.keyCount()).isEqualTo(100);
    }
  }

  /** Flips a bit inside the last record of the last segment (its commit record). */
  private static String corruptLastRecord(Map<String, byte[]> image) {
    String last = last(image);
    byte[] bytes = image.get(last);
    bytes[bytes.length - 5] ^= 1;
    return last;
  }

  @Test
  void afterACleanStopACorruptLastRecordIsCorruptionNotATornTail() throws Exception {
    Map<String, byte[]> image = threeSegmentsStoppedCleanly();
    String last = corruptLastRecord(image);
    assertThatThrownBy(() -> LogEngine.open(RecordingDisk.of(image), smallConfig()))
        .isInstanceOf(StorageException.class)
        .hasMessageContaining("corrupt log: segment " + last + " offset ")
        .hasMessageContaining("the store was stopped cleanly with this segment flushed up to "
            + "offset " + image.get(last).length)
        .hasMessageContaining("--on-corruption truncate");
  }

  @Test
  void afterACleanStopALastSegmentCutShortIsCorruption() throws Exception {
    Map<String, byte[]> image = threeSegmentsStoppedCleanly();
    String last = last(image);
    byte[] bytes = image.get(last);
    image.put(last, Arrays.copyOf(bytes, bytes.length - 10)); // the last batch cut short
    assertThatThrownBy(() -> LogEngine.open(RecordingDisk.of(image), smallConfig()))
        .isInstanceOf(StorageException.class)
        .hasMessageContaining("corrupt log: segment " + last)
        .hasMessageContaining("the store was stopped cleanly with this segment flushed up to");
    long lastBatch = LogFormat.recordBytes(3, 2004) + LogFormat.COMMIT_BYTES; // k99's
    image.put(last, Arrays.copyOf(bytes, (int) (bytes.length - lastBatch))); // gone whole
    assertThatThrownBy(() -> LogEngine.open(RecordingDisk.of(image), smallConfig()))
        .isInstanceOf(StorageException.class)
        .hasMessageContaining("corrupt log: segment " + last)
        .hasMessageContaining(" flushed bytes when the store was stopped cleanly");
  }

  @Test
  void withTheRepairSwitchTheCorruptLastRecordIsCutAndTheRestServed() throws Exception {
    Map<String, byte[]> image = threeSegmentsStoppedCleanly();
    corruptLastRecord(image);
    try (LogEngine store =
        LogEngine.open(RecordingDisk.of(image), smallConfig().withTruncateCorruptLog(true))) {
      assertThat(store.keyCount()).isEqualTo(99);
      assertThat(get(store, "k99")).isNull();
      assertThat(get(store, "k98")).startsWith("v98-");
    }
  }

  @Test
  void theMarkStopsCountingOnceTheNextSegmentBegins() throws Exception {
    Map<String, byte[]> image = threeSegmentsStoppedCleanly();
    RecordingDisk disk = RecordingDisk.of(image);
    try (LogEngine store = LogEngine.open(disk, smallConfig())) {
      assertThat(disk.list()).contains(LogFormat.CLEAN_SHUTDOWN_FILE);
      put(store, "new", "1").durable().join(); // creates the next segment
      assertThat(disk.list()).doesNotContain(LogFormat.CLEAN_SHUTDOWN_FILE);
      put(store, "unflushed", "2");
      // a crash now: the new last segment may end torn, as after any crash
      Map<String, byte[]> crashed = disk.currentImage();
      String last = last(crashed);
      int end = (int) (LogFormat.SEGMENT_HEADER_BYTES
          + LogFormat.recordBytes(3, 1) + LogFormat.COMMIT_BYTES   // "new"
          + LogFormat.recordBytes(9, 1) + LogFormat.COMMIT_BYTES); // "unflushed"
      crashed.get(last)[end - 5] ^= 1; // the unflushed batch's commit record
      try (LogEngine recovered = LogEngine.open(RecordingDisk.of(crashed), smallConfig())) {
        assertThat(get(recovered, "new")).isEqualTo("1");
        assertThat(get(recovered, "unflushed")).isNull();
      }
    }
  }

  @Test
  void aCrashBeforeTheFirstNewSegmentKeepsTheMarkValid() throws Exception {
    Map<String, byte[]> image = threeSegmentsStoppedCleanly();
    RecordingDisk disk = RecordingDisk.of(image);
    LogEngine store = LogEngine.open(disk, smallConfig()); // and never closed: a crash
    assertThat(store.keyCount()).isEqualTo(100);
    Map<String, byte[]> crashed = disk.currentImage();
    corruptLastRecord(crashed);
    assertThatThrownBy(() -> LogEngine.open(RecordingDisk.of(crashed), smallConfig()))
        .hasMessageContaining("stopped cleanly");
  }

  /** Collects what Recovery logs at INFO and above while it runs. */
  private static List<ILoggingEvent> recoveryLog(ThrowingRunnable body) throws Exception {
    Logger logger = (Logger) LoggerFactory.getLogger(Recovery.class);
    Level was = logger.getLevel();
    ListAppender<ILoggingEvent> events = new ListAppender<>();
    events.start();
    logger.addAppender(events);
    logger.setLevel(Level.INFO);
    try {
      body.run();
    } finally {
      logger.detachAppender(events);
      logger.setLevel(was);
    }
    return events.list;
  }

  interface ThrowingRunnable {
    void run() throws Exception;
  }

  @Test
  void preallocatedZerosAfterAKillAreTrimmedAtInfoSayingNothingIsLost() throws Exception {
    RecordingDisk disk = new RecordingDisk();
    LogEngine store = LogEngine.open(disk, smallConfig());
    for (int i = 0; i < 10; i++) {
      put(store, "k" + i, "v" + i);
    }
    store.flushAll().join(); // and no close: kill -9 leaves the zeros written ahead of the log
    Map<String, byte[]> killed = disk.currentImage();
    String last = last(killed);
    assertThat(killed.get(last)[killed.get(last).length - 1]).isZero();
    List<ILoggingEvent> events = recoveryLog(() -> {
      try (LogEngine reopened = LogEngine.open(RecordingDisk.of(killed), smallConfig())) {
        assertThat(reopened.keyCount()).isEqualTo(10);
      }
    });
    assertThat(events).noneMatch(e -> e.getLevel().isGreaterOrEqual(Level.WARN));
    assertThat(events).anyMatch(e -> e.getLevel() == Level.INFO
        && e.getFormattedMessage().contains("bytes of preallocated space")
        && e.getFormattedMessage().contains("nothing is lost"));
  }

  @Test
  void aWriteTornByACrashIsStillAWarning() throws Exception {
    Map<String, byte[]> image = threeSegments();
    String last = last(image);
    byte[] bytes = image.get(last);
    byte[] torn = Arrays.copyOf(bytes, bytes.length + 5000);
    Arrays.fill(torn, bytes.length, bytes.length + 700, (byte) 0x5a); // part of a batch, then zeros
    image.put(last, torn);
    List<ILoggingEvent> events = recoveryLog(() -> {
      try (LogEngine store = LogEngine.open(RecordingDisk.of(image), smallConfig())) {
        assertThat(store.keyCount()).isEqualTo(100);
      }
    });
    assertThat(events).anyMatch(e -> e.getLevel() == Level.WARN
        && e.getFormattedMessage().contains("torn tail in segment " + last)
        && e.getFormattedMessage().contains("dropping 700 bytes of a write that a crash cut short")
        && e.getFormattedMessage().contains("and 4300 bytes of preallocated zeros"));
  }
}
