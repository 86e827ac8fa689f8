package io.respawn.mirror;

import java.util.Arrays;

/**
 * Parameters of layered-interleaving FEC, after Maelstrom: {@code c} layers; layer {@code j} has
 * interleave {@code I_j}; data packet {@code s} joins bin {@code s mod I_j} of every layer, and
 * each bin emits one repair packet, the XOR of every {@code r} packets it collects.
 *
 * <p>By default {@code I_j = r^j} (1, r, r², …): layer 0 protects against isolated losses with
 * low delay, each higher layer against bursts {@code r} times longer (a burst of up to {@code
 * I_j} consecutive data packets puts at most one loss in each of layer j's XORs, so layer j alone
 * repairs it). Overhead is {@code c / r} repair packets per data packet once the bins fill (the
 * paper's (8, 3) costs 3 of every 11 packets on the wire).
 *
 * @param r data packets per repair packet, 1..{@value #R_MAX}
 * @param interleaves {@code I_0 … I_{c-1}}, each 1..{@value #INTERLEAVE_MAX}; its length is c,
 *     0..{@value #LAYERS_MAX} (0 = no FEC)
 */
public record FecParams(int r, int[] interleaves) {
  public static final int R_MAX = 64;
  public static final int LAYERS_MAX = 4;
  public static final int INTERLEAVE_MAX = 4096;

  public FecParams {
    if (r < 1 || r > R_MAX) {
      throw new IllegalArgumentException("r must be between 1 and " + R_MAX + ", got " + r);
    }
    if (interleaves.length > LAYERS_MAX) {
      throw new IllegalArgumentException(
          "c (layers) must be between 0 and " + LAYERS_MAX + ", got " + interleaves.length);
    }
    interleaves = interleaves.clone();
    for (int interleave : interleaves) {
      if (interleave < 1 || interleave > INTERLEAVE_MAX) {
        throw new IllegalArgumentException(
            "interleave must be between 1 and " + INTERLEAVE_MAX + ", got " + interleave);
      }
    }
  }

  /** (r, c) with the default interleaves {@code I_j = r^j}. */
  public static FecParams of(int r, int c) {
    if (c < 0 || c > LAYERS_MAX) {
      throw new IllegalArgumentException("c (layers) must be between 0 and " + LAYERS_MAX + ", got " + c);
    }
    int[] interleaves = new int[c];
    long interleave = 1;
    for (int j = 0; j < c; j++) {
      if (interleave > INTERLEAVE_MAX) {
        throw new IllegalArgumentException("interleave r^" + j + " = " + interleave
            + " exceeds " + INTERLEAVE_MAX + "; choose a smaller r or c");
      }
      interleaves[j] = (int) interleave;
      interleave *= r;
    }
    return new FecParams(r, interleaves);
  }

  /** Number of layers (c). */
  public int layers() {
    return interleaves.length;
  }

  public int interleave(int layer) {
    return interleaves[layer];
  }

  @Override
  public int[] interleaves() {
    return interleaves.clone();
  }

  /**
   * The widest seq span one repair packet covers ({@code r × max I_j}): a receiver keeps data
   * packets this far back so repairs that arrive late can still use them.
   */
  public int spanPackets() {
    int max = 0;
    for (int interleave : interleaves) {
      max = Math.max(max, interleave);
    }
    return r * Math.max(1, max);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof FecParams p && p.r == r && Arrays.equals(p.interleaves, interleaves);
  }

  @Override
  public int hashCode() {
    return 31 * r + Arrays.hashCode(interleaves);
  }

  @Override
  public String toString() {
    return "(r=" + r + ", c=" + interleaves.length + ", I=" + Arrays.toString(interleaves) + ")";
  }
}
