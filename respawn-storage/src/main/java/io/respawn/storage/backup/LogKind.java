package io.respawn.storage.backup;

/** The backup's two append-only logs (DESIGN.md §3). */
public enum LogKind {
  /** Records of keys in the popular set: streamed first by BatchPull, so they come back first. */
  HOT(1, "hot"),
  /** Everything else, and every tombstone. */
  COLD(2, "cold");

  /** The byte stored in a segment header. */
  final int code;
  /** File name prefix of this log's segments. */
  final String prefix;

  LogKind(int code, String prefix) {
    this.code = code;
    this.prefix = prefix;
  }

  static LogKind ofCode(int code) {
    return switch (code) {
      case 1 -> HOT;
      case 2 -> COLD;
      default -> null;
    };
  }

  LogKind other() {
    return this == HOT ? COLD : HOT;
  }
}
