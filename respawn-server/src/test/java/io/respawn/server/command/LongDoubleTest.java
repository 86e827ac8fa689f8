package io.respawn.server.command;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.Objects;
import org.junit.jupiter.api.Test;

/**
 * {@link LongDouble} against what Redis computes on x86-64: vectors produced by glibc's strtold
 * and printf on 80-bit long doubles (see the resource's header), parsing, adding and printing.
 */
class LongDoubleTest {
  private static String incrByFloat(String a, String b) {
    LongDouble.Value x = LongDouble.parse(a.getBytes(StandardCharsets.ISO_8859_1));
    LongDouble.Value y = LongDouble.parse(b.getBytes(StandardCharsets.ISO_8859_1));
    if (x == null || y == null) {
      return "INVALID";
    }
    LongDouble.Value sum = LongDouble.add(x, y);
    if (!sum.isFinite()) {
      return "NANINF";
    }
    return LongDouble.format(sum);
  }

  @Test
  void matchesGlibcLongDoubleOnRecordedVectors() throws Exception {
    int checked = 0;
    try (BufferedReader r = new BufferedReader(new InputStreamReader(Objects.requireNonNull(
        getClass().getResourceAsStream("long-double-vectors.tsv")), StandardCharsets.ISO_8859_1))) {
      String line;
      while ((line = r.readLine()) != null) {
        if (line.startsWith("#")) {
          continue;
        }
        String[] f = line.split("\t", -1);
        assertThat(incrByFloat(f[0], f[1])).as("'%s' + '%s'", f[0], f[1]).isEqualTo(f[2]);
        checked++;
      }
    }
    assertThat(checked).isGreaterThan(1000);
  }

  @Test
  void everydayCases() {
    assertThat(incrByFloat("0.1", "0.2")).isEqualTo("0.3"); // a double would print ...04
    assertThat(incrByFloat("10.5", "0.1")).isEqualTo("10.6");
    assertThat(incrByFloat("-163.7", "-150.961622")).isEqualTo("-314.66162199999999999");
    assertThat(incrByFloat("5.0e3", "10.5")).isEqualTo("5010.5");
    assertThat(incrByFloat("0x1p3", "1")).isEqualTo("9");
    assertThat(incrByFloat("1", "-1")).isEqualTo("0");
    assertThat(incrByFloat("inf", "1")).isEqualTo("NANINF");
    assertThat(incrByFloat("inf", "-inf")).isEqualTo("NANINF");
    assertThat(incrByFloat("1e4932", "1e4932")).isEqualTo("NANINF");
    for (String bad : new String[] {"", " 1", "1 ", "nan", "1e", "0x", "abc", "1e99999", "1e-99999",
        "1\u00002"}) {
      assertThat(LongDouble.parse(bad.getBytes(StandardCharsets.ISO_8859_1))).as(bad).isNull();
    }
    assertThat(LongDouble.parse(("1" + "0".repeat(LongDouble.CHARS_MAX)).getBytes())).isNull();
  }
}
