package io.respawn.server.command;

import static org.assertj.core.api.Assertions.assertThat;

import io.respawn.server.testing.ForwardingKvStore;
import io.respawn.server.testing.MapKvStore;
import io.respawn.storage.Mutation;
import io.respawn.storage.ScanPage;
import io.respawn.storage.StoredValue;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Active expiry examines keys by their expiry alone: it runs ten times a second on the command
 * thread, and reading values would copy each examined value out of the store (a 512 MB one every
 * tick, stalling every client).
 */
class ActiveExpiryTest {
  /** A store that counts value reads and scans. */
  static final class CountingStore extends ForwardingKvStore {
    long valueReads;
    long scans;

    CountingStore() {
      super(new MapKvStore());
    }

    @Override
    public StoredValue get(byte[] key) {
      valueReads++;
      return inner.get(key);
    }

    @Override
    public long expiresAtMillis(byte[] key) {
      StoredValue v = inner.get(key);
      return v == null ? -1 : v.expiresAtMillis();
    }

    @Override
    public ScanPage scan(long cursor, int countHint) {
      scans++;
      return inner.scan(cursor, countHint);
    }
  }

  private static byte[] b(String s) {
    return s.getBytes(StandardCharsets.US_ASCII);
  }

  @Test
  void theSweepDeletesExpiredKeysWithoutReadingAnyValue() {
    CountingStore store = new CountingStore();
    long[] now = {1_000_000};
    store.apply(List.of(Mutation.put(b("big"), new byte[1 << 20]),
        Mutation.put(b("gone"), b("v"), 1_000_500), Mutation.put(b("later"), b("v"), 9_000_000)));
    Keyspace keyspace = new Keyspace(store, () -> now[0], new ServerStats(), new Watches());
    now[0] = 1_001_000;
    long cursor = 0;
    do {
      cursor = keyspace.sweepExpired(cursor, 10);
    } while (cursor != 0);
    keyspace.commitPass();
    assertThat(store.valueReads).isZero();
    assertThat(store.inner.get(b("gone"))).isNull();
    assertThat(store.inner.get(b("later"))).isNotNull();
    assertThat(store.inner.get(b("big"))).isNotNull();
  }

  /** With no key holding an expiry, the sweep does not scan (it would copy every key it passes). */
  @Test
  void withoutExpiringKeysTheSweepScansNothing() {
    CountingStore store = new CountingStore();
    long[] now = {1_000_000};
    store.apply(List.of(Mutation.put(b("a"), b("v")), Mutation.put(b("b"), b("v"))));
    Keyspace keyspace = new Keyspace(store, () -> now[0], new ServerStats(), new Watches());
    assertThat(keyspace.sweepExpired(0, 10)).isZero();
    assertThat(store.scans).isZero();
    store.apply(List.of(Mutation.put(b("c"), b("v"), 1_000_500)));
    now[0] = 1_001_000;
    keyspace.sweepExpired(0, 10);
    keyspace.commitPass();
    assertThat(store.scans).isPositive();
    assertThat(store.inner.get(b("c"))).as("expired by the sweep").isNull();
  }
}
