package io.respawn.storage;

import java.nio.charset.StandardCharsets;
import java.util.List;

/** Helpers shared by the storage tests. */
final class TestSupport {
  private TestSupport() {}

  static byte[] b(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  static String s(byte[] bytes) {
    return bytes == null ? null : new String(bytes, StandardCharsets.UTF_8);
  }

  /**
   * Small limits so tests rotate segments often; manual flushing, no background threads; a 64 KiB
   * disk reserve (in-memory disks hold it in the heap).
   */
  static StorageConfig smallConfig() {
    return StorageConfig.defaults()
        .withSizes(64 << 10, 16 << 10, 256, 8 << 10)
        .withFlushIntervalMillis(0)
        .withCompaction(0, 0.5, 0)
        .withDiskReserveBytes(64 << 10);
  }

  static WriteTicket put(KvStore store, String key, String value) {
    return store.apply(List.of(Mutation.put(b(key), b(value))));
  }

  static String get(KvStore store, String key) {
    StoredValue v = store.get(b(key));
    return v == null ? null : s(v.value());
  }
}
