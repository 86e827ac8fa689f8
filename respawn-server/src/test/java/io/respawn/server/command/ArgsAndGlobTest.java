package io.respawn.server.command;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class ArgsAndGlobTest {
  private static Long parse(String s) {
    return Args.parseLongOrNull(s.getBytes(StandardCharsets.US_ASCII));
  }

  private static boolean glob(String p, String s) {
    return Glob.matches(p.getBytes(StandardCharsets.UTF_8), s.getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void parsesLongsLikeRedisString2ll() {
    assertThat(parse("0")).isEqualTo(0L);
    assertThat(parse("-1")).isEqualTo(-1L);
    assertThat(parse("9223372036854775807")).isEqualTo(Long.MAX_VALUE);
    assertThat(parse("-9223372036854775808")).isEqualTo(Long.MIN_VALUE);
    for (String bad : new String[] {"", "-", "+1", "01", "-0", " 1", "1 ", "1.0", "9223372036854775808",
        "-9223372036854775809", "abc", "99999999999999999999"}) {
      assertThat(parse(bad)).as(bad).isNull();
    }
  }

  @Test
  void globMatchesLikeRedis() {
    assertThat(glob("*", "")).isTrue();
    assertThat(glob("user:*", "user:1")).isTrue();
    assertThat(glob("user:*", "use")).isFalse();
    assertThat(glob("h?llo", "hello")).isTrue();
    assertThat(glob("h[ae]llo", "hallo")).isTrue();
    assertThat(glob("h[^e]llo", "hello")).isFalse();
    assertThat(glob("h[a-b]llo", "hbllo")).isTrue();
    assertThat(glob("h\\*llo", "h*llo")).isTrue();
    assertThat(glob("h\\*llo", "hello")).isFalse();
    assertThat(glob("*a*b*c*", "xxaxxbxxcxx")).isTrue();
    assertThat(glob("*a*b*c*", "xxaxxcxxbxx")).isFalse();
  }
}
