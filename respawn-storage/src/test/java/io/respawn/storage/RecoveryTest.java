package io.respawn.storage;

import static io.respawn.storage.TestSupport.get;
import static io.respawn.storage.TestSupport.put;
import static io.respawn.storage.TestSupport.smallConfig;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.respawn.storage.crash.RecordingDisk;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

class RecoveryTest {

  /** Three segments, all durable: s0, s1 sealed, s2 last. Keys k0..k99, value "v<i>". */
  private static Map<String, byte[]> threeSegments() throws Exception {
    RecordingDisk disk = new RecordingDisk();
    try (LogEngine store = LogEngine.open(disk, smallConfig())) {
      for (int i = 0; i < 100; i++) {
        put(store, "k" + i, "v" + i + "-" + "x".repeat(2000));
      }
      store.flushAll().join();
    }
    Map<String, byte[]> image = disk.currentImage();
    assertThat(image.keySet()).hasSizeGreaterThanOrEqualTo(3);
    return image;
  }

  private static String nth(Map<String, byte[]> image, int n) {
    return List.copyOf(image.keySet()).get(n);
  }

  @Test
  void tornTailOfLastSegmentIsTruncated() throws Exception {
    Map<String, byte[]> image = threeSegments();
    String last = nth(image, image.size() - 1);
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
    String last = nth(image, image.size() - 1);
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
        .hasMessageContaining("truncateCorruptLog=true");
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
}
