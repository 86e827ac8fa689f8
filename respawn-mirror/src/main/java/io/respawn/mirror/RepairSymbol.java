package io.respawn.mirror;

/**
 * One repair packet's meaning: the XOR of the data frames with seqs {@code firstSeq + k × stride},
 * {@code k < count}. Frames have different lengths: each is padded with zeros to the longest
 * before the XOR, and the lengths and frame checksums are XORed alongside so a recovered frame
 * gets its exact length back and can be verified.
 *
 * @param layer the FEC layer that emitted it
 * @param stride the layer's interleave I_j (distance between covered seqs)
 * @param firstSeq the lowest covered seq
 * @param count how many seqs are covered, 1..r
 * @param lengthXor XOR of the covered frames' lengths
 * @param crcXor XOR of the covered frames' CRC-32C
 * @param xor XOR of the covered frames padded to the longest (its length)
 */
public record RepairSymbol(
    int layer, int stride, long firstSeq, int count, int lengthXor, int crcXor, byte[] xor) {

  public RepairSymbol {
    if (count < 1 || stride < 1 || firstSeq < 0) {
      throw new IllegalArgumentException("repair covers nothing: firstSeq " + firstSeq
          + ", count " + count + ", stride " + stride);
    }
  }

  /** The k-th covered seq. */
  public long seq(int k) {
    return firstSeq + (long) k * stride;
  }

  /** The highest covered seq. */
  public long lastSeq() {
    return seq(count - 1);
  }
}
