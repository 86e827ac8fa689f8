package io.respawn.sim;

import java.util.Locale;

/** The shard layout a run starts with (membership changes may move between them). */
public enum Shape {
  /** One primary, one backup, one witness (DESIGN's default). */
  P1_B1_W1("1-1-1"),
  /** One primary, two backups, two witnesses (tolerates two failures). */
  P1_B2_W2("1-2-2"),
  /** Either of the above, picked by the seed. */
  RANDOM("random");

  private final String spelling;

  Shape(String spelling) {
    this.spelling = spelling;
  }

  public String spelling() {
    return spelling;
  }

  public static Shape parse(String text) {
    String t = text.trim().toLowerCase(Locale.ROOT);
    for (Shape s : values()) {
      if (s.spelling.equals(t)) {
        return s;
      }
    }
    throw new IllegalArgumentException("unknown shape '" + text + "': expected 1-1-1, 1-2-2 or random");
  }
}
