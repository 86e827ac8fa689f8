package io.respawn.bench.e1;

import java.util.Properties;
import site.ycsb.Utils;
import site.ycsb.workloads.CoreWorkload;

/**
 * YCSB's core workload with E1's key and value shapes: 16-byte keys ({@code user} and 12
 * digits of the record number's FNV hash, as YCSB's own hashed keys but of one length) and one
 * field per record, sized so that the stored record ({@link RecordCodec}) has the requested
 * value size.
 */
public final class E1Workload extends CoreWorkload {
  /** {@code user} + this many digits = 16 bytes. */
  static final int KEY_DIGITS = 12;
  static final long KEY_SPACE = 1_000_000_000_000L;
  public static final int KEY_BYTES = 4 + KEY_DIGITS;

  /** The mixes E1 runs: YCSB's workload B and C and a write-only mix, all zipfian 0.99. */
  public enum Mix {
    YCSB_B("ycsb-b", 0.95, 0.05),
    YCSB_C("ycsb-c", 1.0, 0.0),
    WRITE_ONLY("write-only", 0.0, 1.0);

    public final String label;
    final double readProportion;
    final double updateProportion;

    Mix(String label, double readProportion, double updateProportion) {
      this.label = label;
      this.readProportion = readProportion;
      this.updateProportion = updateProportion;
    }

    public static Mix of(String label) {
      for (Mix m : values()) {
        if (m.label.equals(label)) {
          return m;
        }
      }
      throw new IllegalArgumentException("unknown workload '" + label
          + "' (ycsb-b, ycsb-c, write-only)");
    }
  }

  /**
   * The properties of {@code mix} over {@code records} records of {@code valueBytes} stored
   * bytes: YCSB's workload files' settings (workloadb: read 0.95, update 0.05; workloadc: read
   * 1), zipfian request distribution (YCSB's scrambled zipfian, constant 0.99), one field,
   * read and write all fields.
   */
  public static Properties properties(Mix mix, long records, int valueBytes) {
    int fieldBytes = valueBytes - RecordCodec.encodedBytes(1, 0);
    if (fieldBytes < 1) {
      throw new IllegalArgumentException("--value-bytes must be at least "
          + (RecordCodec.encodedBytes(1, 0) + 1) + ", got " + valueBytes);
    }
    Properties p = new Properties();
    p.setProperty("recordcount", Long.toString(records));
    // Only used to size the key chooser for inserts, of which E1 has none during a run.
    p.setProperty("operationcount", Integer.toString(Integer.MAX_VALUE));
    p.setProperty("fieldcount", "1");
    p.setProperty("fieldlength", Integer.toString(fieldBytes));
    p.setProperty("fieldlengthdistribution", "constant");
    p.setProperty("readallfields", "true");
    p.setProperty("writeallfields", "true");
    p.setProperty("readproportion", Double.toString(mix.readProportion));
    p.setProperty("updateproportion", Double.toString(mix.updateProportion));
    p.setProperty("scanproportion", "0");
    p.setProperty("insertproportion", "0");
    p.setProperty("requestdistribution", "zipfian");
    return p;
  }

  @Override
  protected String buildKeyName(long keynum) {
    long n = Math.floorMod(orderedinserts ? keynum : Utils.hash(keynum), KEY_SPACE);
    String digits = Long.toString(n);
    StringBuilder key = new StringBuilder(KEY_BYTES).append("user");
    for (int i = digits.length(); i < KEY_DIGITS; i++) {
      key.append('0');
    }
    return key.append(digits).toString();
  }
}
