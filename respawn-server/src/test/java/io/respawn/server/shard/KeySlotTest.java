package io.respawn.server.shard;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class KeySlotTest {
  private static int slot(String key) {
    return KeySlot.of(key.getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void crc16MatchesTheReferenceCheckValue() {
    byte[] check = "123456789".getBytes(StandardCharsets.US_ASCII);
    assertThat(KeySlot.crc16(check, 0, check.length)).isEqualTo(0x31C3);
  }

  @Test
  void slotsMatchRedis() {
    // Values from Redis's CLUSTER KEYSLOT.
    assertThat(slot("foo")).isEqualTo(12182);
    assertThat(slot("bar")).isEqualTo(5061);
    assertThat(slot("")).isEqualTo(0);
  }

  @Test
  void hashTagsAreHonouredAsRedisDefinesThem() {
    assertThat(slot("{user1000}.following")).isEqualTo(slot("{user1000}.followers"))
        .isEqualTo(slot("user1000"));
    assertThat(slot("foo{}{bar}")).isEqualTo(slot("foo{}{bar}")); // empty tag: whole key
    assertThat(slot("foo{}{bar}")).isNotEqualTo(slot("bar"));
    assertThat(slot("foo{{bar}}zap")).isEqualTo(slot("{bar"));
    assertThat(slot("foo{bar}{zap}")).isEqualTo(slot("bar"));
  }
}
