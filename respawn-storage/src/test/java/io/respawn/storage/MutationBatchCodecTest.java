package io.respawn.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class MutationBatchCodecTest {
  @Test
  void randomBatchesRoundTrip() {
    for (long seed = 1; seed <= 200; seed++) {
      Random r = new Random(seed);
      List<Mutation> batch = new ArrayList<>();
      for (int i = 0, n = 1 + r.nextInt(20); i < n; i++) {
        byte[] key = new byte[r.nextInt(40)];
        r.nextBytes(key);
        int kind = r.nextInt(10);
        if (kind < 7) {
          byte[] value = new byte[r.nextInt(300)];
          r.nextBytes(value);
          batch.add(Mutation.put(key, value, r.nextBoolean() ? 0 : r.nextLong(1L << 42)));
        } else if (kind < 9) {
          batch.add(Mutation.delete(key));
        } else {
          batch.add(Mutation.clear());
        }
      }
      byte[] bytes = MutationBatchCodec.encode(batch);
      assertThat(bytes.length).isEqualTo(MutationBatchCodec.encodedBytes(batch));
      List<Mutation> back = MutationBatchCodec.decode(bytes);
      assertThat(back).hasSize(batch.size());
      for (int i = 0; i < batch.size(); i++) {
        Mutation a = batch.get(i);
        Mutation b = back.get(i);
        assertThat(b.kind()).as("seed %d #%d", seed, i).isEqualTo(a.kind());
        assertThat(b.key()).isEqualTo(a.key());
        assertThat(b.expiresAtMillis()).isEqualTo(a.expiresAtMillis());
        if (a.kind() == Mutation.Kind.PUT) {
          assertThat(b.value()).isEqualTo(a.value());
        }
      }
    }
  }

  @Test
  void everyTruncationAndTrailingGarbageIsRefused() {
    byte[] bytes = MutationBatchCodec.encode(List.of(Mutation.put(new byte[] {1, 2}, new byte[] {3}),
        Mutation.delete(new byte[] {4})));
    for (int n = 0; n < bytes.length; n++) {
      byte[] cut = java.util.Arrays.copyOf(bytes, n);
      assertThatThrownBy(() -> MutationBatchCodec.decode(cut))
          .isInstanceOf(IllegalArgumentException.class);
    }
    byte[] longer = java.util.Arrays.copyOf(bytes, bytes.length + 1);
    assertThatThrownBy(() -> MutationBatchCodec.decode(longer)).hasMessageContaining("trailing");
    byte[] badKind = bytes.clone();
    badKind[MutationBatchCodec.HEADER_BYTES] = 9;
    assertThatThrownBy(() -> MutationBatchCodec.decode(badKind)).hasMessageContaining("unknown kind");
  }

  @Test
  void decodesFromAReadOnlyBufferRegionAndLeavesItsPositionAlone() {
    List<Mutation> batch = List.of(Mutation.put(new byte[] {1, 2}, new byte[] {9, 8, 7}, 0),
        Mutation.delete(new byte[] {3}));
    byte[] bytes = MutationBatchCodec.encode(batch);
    byte[] framed = new byte[bytes.length + 6];
    System.arraycopy(bytes, 0, framed, 3, bytes.length);
    java.nio.ByteBuffer region = java.nio.ByteBuffer.wrap(framed, 3, bytes.length)
        .asReadOnlyBuffer();
    List<Mutation> back = MutationBatchCodec.decode(region);
    assertThat(region.position()).isEqualTo(3);
    assertThat(back).hasSize(2);
    assertThat(back.get(0).key()).containsExactly(1, 2);
    assertThat(back.get(0).value()).containsExactly(9, 8, 7);
    assertThat(back.get(1).kind()).isEqualTo(Mutation.Kind.DELETE);
    // The trailing bytes beyond the limit are not read; a region cut short is refused.
    assertThatThrownBy(() -> MutationBatchCodec.decode(
        java.nio.ByteBuffer.wrap(framed, 3, bytes.length - 1)))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
