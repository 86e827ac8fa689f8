package io.respawn.mirror;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.zip.CRC32C;

/**
 * The receiving half of layered-interleaving FEC: holds the data frames of a window of seqs and
 * the repair equations that still miss packets, and recovers every missing frame the equations
 * determine.
 *
 * <p><b>Decoding.</b> Each repair is an equation: the XOR of its covered frames. Known frames are
 * XORed out as they arrive; an equation left with exactly one unknown frame yields it, which may
 * leave other equations with one unknown, and so on until nothing more is recovered (peeling, as
 * the paper's receiver does). Peeling misses patterns that the equations determine only jointly
 * (say {@code a⊕b} from one layer and {@code a⊕b⊕c} from another give {@code c}); so when peeling
 * stalls, the equations connected to what just changed are reduced by Gauss–Jordan elimination
 * over GF(2), and any row left with one unknown yields it. Together they recover exactly the
 * frames that the received equations determine (tested against a brute-force solver), as long as
 * the connected equations number at most {@code eliminationEquationsMax} (beyond that, under loss
 * far heavier than FEC is sized for, only peeling runs and the receiver's NACKs repair the rest).
 * A recovered frame is checked against the CRC-32C its equation carries before it is used.
 *
 * <p><b>Window.</b> Frames are kept for seqs in {@code [base, base + windowPackets)}; the owner
 * moves {@code base} up with {@link #forgetBefore} once it has consumed the frames and no repair
 * can still need them (repairs reach back {@link FecParams#spanPackets()} seqs). A repair that
 * covers a seq outside the window is refused.
 *
 * <p>Owned by one thread (the receiver's owner). Memory: at most {@code windowPackets} frames and
 * {@code equationsMax} equations of at most {@code frameBytesMax} bytes each.
 */
public final class FecDecoder {

  /** A frame recovered from repairs. */
  public record Recovered(long seq, byte[] frame) {}

  /** What became of an added data frame or repair. */
  public enum Outcome {
    /** Used: a new frame, or a repair that still misses packets or recovered some. */
    ACCEPTED,
    /** The frame was already held, or the repair covered only held frames. */
    DUPLICATE,
    /** Covers a seq before the window (already consumed and forgotten). */
    STALE,
    /** Covers a seq at or past the window's end. */
    BEYOND_WINDOW,
    /** Not kept: the equation limit is reached. */
    EQUATIONS_FULL,
    /** The frame is longer than frameBytesMax or the repair's XOR does not match its lengths. */
    MALFORMED
  }

  /** Counters since creation. */
  public record Stats(
      long recoveredByPeeling,
      long recoveredByElimination,
      long repairsUseless,
      long equationsPending,
      long equationsRefused,
      long eliminationsSkipped,
      long inconsistent) {}

  private final int windowPackets;
  private final int mask;
  private final int equationsMax;
  private final int eliminationEquationsMax;
  private final int frameBytesMax;
  private final byte[][] frames;
  private final int[] crcs;
  private long base;
  private final Map<Long, List<Equation>> byUnknown = new HashMap<>();
  private int equationCount;

  private long recoveredByPeeling;
  private long recoveredByElimination;
  private long repairsUseless;
  private long equationsRefused;
  private long eliminationsSkipped;
  private long inconsistent;

  /** A repair reduced by the frames known so far: the XOR of its still unknown frames. */
  private static final class Equation {
    long[] unknowns;
    int n;
    byte[] xor;
    int lengthXor;
    int crcXor;
    boolean live = true;

    Equation(long[] unknowns, int n, byte[] xor, int lengthXor, int crcXor) {
      this.unknowns = unknowns;
      this.n = n;
      this.xor = xor;
      this.lengthXor = lengthXor;
      this.crcXor = crcXor;
    }

    void remove(long seq) {
      for (int i = 0; i < n; i++) {
        if (unknowns[i] == seq) {
          unknowns[i] = unknowns[--n];
          return;
        }
      }
      throw new AssertionError("seq " + seq + " is not an unknown of this equation");
    }
  }

  /**
   * @param windowPackets seqs held at once (rounded up to a power of two)
   * @param equationsMax repair equations kept while they miss two or more frames
   * @param eliminationEquationsMax largest set of connected equations reduced by elimination
   * @param frameBytesMax longest data frame
   */
  public FecDecoder(
      int windowPackets, int equationsMax, int eliminationEquationsMax, int frameBytesMax) {
    if (windowPackets < 1 || windowPackets > (1 << 24)) {
      throw new IllegalArgumentException("windowPackets must be 1.." + (1 << 24) + ": " + windowPackets);
    }
    int capacity = Integer.highestOneBit(Math.max(1, windowPackets - 1)) << 1;
    assert capacity >= windowPackets && Integer.bitCount(capacity) == 1;
    this.windowPackets = capacity;
    this.mask = capacity - 1;
    this.equationsMax = equationsMax;
    this.eliminationEquationsMax = eliminationEquationsMax;
    this.frameBytesMax = frameBytesMax;
    this.frames = new byte[capacity][];
    this.crcs = new int[capacity];
  }

  /** Seqs the window holds (a power of two). */
  public int windowPackets() {
    return windowPackets;
  }

  /** The lowest seq still held; every seq below it was known and is forgotten. */
  public long base() {
    return base;
  }

  /** The frame of seq (received or recovered), or null if unknown or outside the window. */
  public byte[] frame(long seq) {
    if (seq < base || seq >= base + windowPackets) {
      return null;
    }
    return frames[(int) (seq & mask)];
  }

  public boolean isKnown(long seq) {
    return seq < base || frame(seq) != null;
  }

  /**
   * Adds a received data frame. Appends to {@code out} every frame this lets the equations
   * recover (not the added one itself).
   */
  public Outcome addData(long seq, byte[] frame, int frameCrc, List<Recovered> out) {
    if (seq < base) {
      return Outcome.STALE;
    }
    if (seq >= base + windowPackets) {
      return Outcome.BEYOND_WINDOW;
    }
    if (frame.length > frameBytesMax) {
      return Outcome.MALFORMED;
    }
    if (frames[(int) (seq & mask)] != null) {
      return Outcome.DUPLICATE;
    }
    learn(seq, frame, frameCrc, out, false);
    return Outcome.ACCEPTED;
  }

  /** Adds a repair; appends to {@code out} every frame recovered as a result. */
  public Outcome addRepair(RepairSymbol repair, List<Recovered> out) {
    if (repair.firstSeq() < base) {
      return Outcome.STALE;
    }
    if (repair.lastSeq() >= base + windowPackets) {
      return Outcome.BEYOND_WINDOW;
    }
    if (repair.xor().length > frameBytesMax) {
      return Outcome.MALFORMED;
    }
    byte[] xor = repair.xor().clone();
    int lengthXor = repair.lengthXor();
    int crcXor = repair.crcXor();
    long[] unknowns = new long[repair.count()];
    int n = 0;
    for (int k = 0; k < repair.count(); k++) {
      long seq = repair.seq(k);
      byte[] known = frames[(int) (seq & mask)];
      if (known == null) {
        unknowns[n++] = seq;
      } else {
        if (known.length > xor.length) {
          inconsistent++;
          return Outcome.MALFORMED;
        }
        xorInto(xor, known);
        lengthXor ^= known.length;
        crcXor ^= crcs[(int) (seq & mask)];
      }
    }
    Equation equation = new Equation(unknowns, n, xor, lengthXor, crcXor);
    if (n == 0) {
      repairsUseless++;
      if (!consistentEmpty(equation)) {
        inconsistent++;
        return Outcome.MALFORMED;
      }
      return Outcome.DUPLICATE;
    }
    if (n == 1) {
      Solved solved = solve(equation);
      if (solved == null) {
        return Outcome.MALFORMED;
      }
      recoveredByPeeling++;
      learn(solved.seq, solved.frame, solved.crc, out, true);
      return Outcome.ACCEPTED;
    }
    if (equationCount >= equationsMax) {
      equationsRefused++;
      return Outcome.EQUATIONS_FULL;
    }
    index(equation);
    settle(new ArrayDeque<>(), List.of(equation), out);
    return Outcome.ACCEPTED;
  }

  /**
   * Forgets every frame below {@code newBase}. Only frames the owner has consumed may be
   * forgotten: every seq below newBase must be known.
   */
  public void forgetBefore(long newBase) {
    if (newBase <= base) {
      return;
    }
    for (long seq = base; seq < newBase && seq < base + windowPackets; seq++) {
      int slot = (int) (seq & mask);
      if (frames[slot] == null) {
        throw new IllegalStateException("forgetting seq " + seq + " which is not known yet");
      }
      frames[slot] = null;
    }
    base = newBase;
  }

  public Stats stats() {
    return new Stats(recoveredByPeeling, recoveredByElimination, repairsUseless, equationCount,
        equationsRefused, eliminationsSkipped, inconsistent);
  }

  // ---- peeling ----

  private record Solved(long seq, byte[] frame, int crc) {}

  /** Stores a known frame and peels: every equation it leaves with one unknown yields it. */
  private void learn(long seq, byte[] frame, int crc, List<Recovered> out, boolean recovered) {
    ArrayDeque<Solved> work = new ArrayDeque<>();
    work.add(new Solved(seq, frame, crc));
    List<Equation> touched = new ArrayList<>();
    boolean first = !recovered;
    while (!work.isEmpty()) {
      Solved s = work.poll();
      int slot = (int) (s.seq & mask);
      if (frames[slot] != null) {
        continue; // recovered twice through different equations: same bytes, checked by CRC
      }
      frames[slot] = s.frame;
      crcs[slot] = s.crc;
      if (!first) {
        out.add(new Recovered(s.seq, s.frame));
      }
      first = false;
      reduceBy(s, work, touched);
    }
    settle(work, touched, out);
  }

  /** XORs a newly known frame out of the equations that wait for it. */
  private void reduceBy(Solved s, ArrayDeque<Solved> work, List<Equation> touched) {
    List<Equation> waiting = byUnknown.remove(s.seq);
    if (waiting == null) {
      return;
    }
    for (Equation e : waiting) {
      if (!e.live) {
        continue;
      }
      e.remove(s.seq);
      if (s.frame.length > e.xor.length) {
        inconsistent++;
        unindex(e);
        continue;
      }
      xorInto(e.xor, s.frame);
      e.lengthXor ^= s.frame.length;
      e.crcXor ^= s.crc;
      if (e.n == 1) {
        unindex(e);
        Solved solved = solve(e);
        if (solved != null) {
          recoveredByPeeling++;
          work.add(solved);
        }
      } else if (e.n == 0) {
        unindex(e);
        if (!consistentEmpty(e)) {
          inconsistent++;
        }
      } else {
        touched.add(e);
      }
    }
  }

  /**
   * After peeling stalls: reduces the components of the touched equations by elimination, learns
   * what that determines (peeling again), until nothing changes.
   */
  private void settle(ArrayDeque<Solved> work, List<Equation> touched, List<Recovered> out) {
    List<Equation> pending = new ArrayList<>(touched);
    while (!pending.isEmpty()) {
      Set<Equation> seen = java.util.Collections.newSetFromMap(new IdentityHashMap<>());
      List<Solved> solvedAll = new ArrayList<>();
      for (Equation start : pending) {
        if (!start.live || seen.contains(start)) {
          continue;
        }
        List<Equation> component = component(start, seen);
        if (component == null) {
          eliminationsSkipped++;
          continue;
        }
        if (component.size() >= 2) {
          solvedAll.addAll(eliminate(component));
        }
      }
      pending = new ArrayList<>();
      for (Solved s : solvedAll) {
        int slot = (int) (s.seq & mask);
        if (frames[slot] != null) {
          continue;
        }
        frames[slot] = s.frame;
        crcs[slot] = s.crc;
        out.add(new Recovered(s.seq, s.frame));
        work.add(s);
      }
      // Peel what the new frames give, collecting the equations they reduce.
      while (!work.isEmpty()) {
        Solved s = work.poll();
        int slot = (int) (s.seq & mask);
        if (frames[slot] == null) {
          frames[slot] = s.frame;
          crcs[slot] = s.crc;
          out.add(new Recovered(s.seq, s.frame));
        } else if (frames[slot] != s.frame) {
          continue; // known through another equation already: its equations were reduced then
        }
        reduceBy(s, work, pending);
      }
    }
  }

  private Solved solve(Equation e) {
    assert e.n == 1;
    int length = e.lengthXor;
    if (length < 0 || length > e.xor.length || length > frameBytesMax) {
      inconsistent++;
      return null;
    }
    for (int i = length; i < e.xor.length; i++) {
      if (e.xor[i] != 0) {
        inconsistent++;
        return null;
      }
    }
    byte[] frame = Arrays.copyOf(e.xor, length);
    if (crc32c(frame) != e.crcXor) {
      inconsistent++;
      return null;
    }
    return new Solved(e.unknowns[0], frame, e.crcXor);
  }

  private static boolean consistentEmpty(Equation e) {
    if (e.lengthXor != 0 || e.crcXor != 0) {
      return false;
    }
    for (byte b : e.xor) {
      if (b != 0) {
        return false;
      }
    }
    return true;
  }

  // ---- elimination ----

  /** The live equations connected to start through shared unknowns, or null if too many. */
  private List<Equation> component(Equation start, Set<Equation> seen) {
    List<Equation> component = new ArrayList<>();
    ArrayDeque<Equation> queue = new ArrayDeque<>();
    queue.add(start);
    seen.add(start);
    while (!queue.isEmpty()) {
      Equation e = queue.poll();
      component.add(e);
      if (component.size() > eliminationEquationsMax) {
        return null; // stop early: the walk itself is bounded by the limit
      }
      for (int i = 0; i < e.n; i++) {
        for (Equation other : byUnknown.getOrDefault(e.unknowns[i], List.of())) {
          if (other.live && seen.add(other)) {
            queue.add(other);
          }
        }
      }
    }
    return component;
  }

  /**
   * Gauss–Jordan over GF(2) on one component: replaces its equations by the reduced rows and
   * returns the frames determined (rows left with one unknown).
   */
  private List<Solved> eliminate(List<Equation> component) {
    Map<Long, Integer> column = new HashMap<>();
    List<Long> variables = new ArrayList<>();
    for (Equation e : component) {
      for (int i = 0; i < e.n; i++) {
        if (!column.containsKey(e.unknowns[i])) {
          column.put(e.unknowns[i], variables.size());
          variables.add(e.unknowns[i]);
        }
      }
    }
    int words = (variables.size() + 63) >>> 6;
    int rows = component.size();
    long[][] bits = new long[rows][words];
    byte[][] xor = new byte[rows][];
    int[] lengthXor = new int[rows];
    int[] crcXor = new int[rows];
    for (int r = 0; r < rows; r++) {
      Equation e = component.get(r);
      for (int i = 0; i < e.n; i++) {
        int c = column.get(e.unknowns[i]);
        bits[r][c >>> 6] |= 1L << c;
      }
      xor[r] = e.xor;
      lengthXor[r] = e.lengthXor;
      crcXor[r] = e.crcXor;
    }
    int pivotRow = 0;
    for (int c = 0; c < variables.size() && pivotRow < rows; c++) {
      int w = c >>> 6;
      long bit = 1L << c;
      int p = -1;
      for (int r = pivotRow; r < rows; r++) {
        if ((bits[r][w] & bit) != 0) {
          p = r;
          break;
        }
      }
      if (p < 0) {
        continue;
      }
      swap(bits, p, pivotRow);
      swap(xor, p, pivotRow);
      swapInt(lengthXor, p, pivotRow);
      swapInt(crcXor, p, pivotRow);
      for (int r = 0; r < rows; r++) {
        if (r != pivotRow && (bits[r][w] & bit) != 0) {
          for (int k = 0; k < words; k++) {
            bits[r][k] ^= bits[pivotRow][k];
          }
          xor[r] = xorCopy(xor[r], xor[pivotRow]);
          lengthXor[r] ^= lengthXor[pivotRow];
          crcXor[r] ^= crcXor[pivotRow];
        }
      }
      pivotRow++;
    }
    for (Equation e : component) {
      unindex(e);
    }
    List<Solved> solved = new ArrayList<>();
    for (int r = 0; r < rows; r++) {
      int count = 0;
      for (long word : bits[r]) {
        count += Long.bitCount(word);
      }
      long[] unknowns = new long[count];
      int n = 0;
      for (int k = 0; k < words; k++) {
        long word = bits[r][k];
        while (word != 0) {
          int c = (k << 6) + Long.numberOfTrailingZeros(word);
          unknowns[n++] = variables.get(c);
          word &= word - 1;
        }
      }
      Equation e = new Equation(unknowns, n, xor[r], lengthXor[r], crcXor[r]);
      if (n == 0) {
        if (!consistentEmpty(e)) {
          inconsistent++;
        }
      } else if (n == 1) {
        Solved s = solve(e);
        if (s != null) {
          recoveredByElimination++;
          solved.add(s);
        }
      } else {
        index(e);
      }
    }
    return solved;
  }

  private void index(Equation e) {
    equationCount++;
    for (int i = 0; i < e.n; i++) {
      byUnknown.computeIfAbsent(e.unknowns[i], k -> new ArrayList<>(2)).add(e);
    }
  }

  private void unindex(Equation e) {
    if (!e.live) {
      return;
    }
    e.live = false;
    equationCount--;
    for (int i = 0; i < e.n; i++) {
      List<Equation> list = byUnknown.get(e.unknowns[i]);
      if (list != null) {
        list.remove(e);
        if (list.isEmpty()) {
          byUnknown.remove(e.unknowns[i]);
        }
      }
    }
  }

  private static void xorInto(byte[] into, byte[] from) {
    for (int i = 0; i < from.length; i++) {
      into[i] ^= from[i];
    }
  }

  private static byte[] xorCopy(byte[] a, byte[] b) {
    byte[] out = Arrays.copyOf(a, Math.max(a.length, b.length));
    xorInto(out, b);
    return out;
  }

  private static void swap(Object[] a, int i, int j) {
    Object t = a[i];
    a[i] = a[j];
    a[j] = t;
  }

  private static void swapInt(int[] a, int i, int j) {
    int t = a[i];
    a[i] = a[j];
    a[j] = t;
  }

  /** CRC-32C of bytes, as the wire format uses it. */
  public static int crc32c(byte[] bytes) {
    CRC32C crc = new CRC32C();
    crc.update(bytes, 0, bytes.length);
    return (int) crc.getValue();
  }

  /** Test hook: every pending equation's unknowns (for invariants in tests). */
  Set<Long> pendingUnknowns() {
    return new HashSet<>(byUnknown.keySet());
  }
}
