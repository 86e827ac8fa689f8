package io.respawn.sim.lin;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Decides whether a history of {@link Op}s is linearizable against {@link RegisterMapModel}.
 *
 * <p>The search is Wing and Gong's, with Lowe's memoization: walk the invoke/complete entries in
 * time order, tentatively linearize any pending operation whose model step is legal, and backtrack
 * when a completed operation cannot be placed; a (linearized set, model state) pair seen before
 * is never explored again.
 *
 * <p>Linearizability is local for single-object operations, but MSET touches several keys at
 * once and a per-key check would miss a torn MSET. So keys are grouped into connected components
 * (two keys are joined when some MSET touches both) and each component is checked on its own with
 * a model over all its keys. Workloads keep components small by drawing MSET keys from fixed
 * groups.
 *
 * <p>Outcomes: FAIL operations never took effect and are dropped. UNKNOWN operations have no
 * completion: they stay pending to the end of the history, so the search may place them anywhere
 * after their invocation, including after every observation, which is indistinguishable from
 * never taking effect. An UNKNOWN GET constrains nothing and is dropped.
 *
 * <p>The search is bounded by {@code statesMax}: when the memo table reaches it, the answer is
 * {@link Verdict#UNKNOWN} instead of a long hang. The bound is a count, not a wall-clock time, so
 * the answer is the same on every run. Not thread-safe; one instance per calling thread.
 */
public final class LinearizabilityChecker {

  private final long statesMax;
  private long statesExplored;

  /** @param statesMax memo entries allowed over the whole check before giving up with UNKNOWN */
  public LinearizabilityChecker(long statesMax) {
    if (statesMax < 1) {
      throw new IllegalArgumentException("statesMax must be >= 1: " + statesMax);
    }
    this.statesMax = statesMax;
  }

  public CheckResult check(List<Op> history) {
    statesExplored = 0;
    List<List<Op>> components = partitionByKeys(history);
    boolean gaveUp = false;
    for (List<Op> component : components) {
      ComponentResult r = null;
      List<Op> reduced = withoutUnobservedUnknownWrites(component);
      if (reduced.size() < component.size()) {
        r = checkComponent(reduced);
      }
      if (r == null || r.verdict != Verdict.LINEARIZABLE) {
        r = checkComponent(component);
      }
      if (r.verdict == Verdict.NOT_LINEARIZABLE) {
        return new CheckResult(Verdict.NOT_LINEARIZABLE, statesExplored, components.size(),
            r.description, r.culprits);
      }
      gaveUp |= r.verdict == Verdict.UNKNOWN;
    }
    return gaveUp
        ? new CheckResult(Verdict.UNKNOWN, statesExplored, components.size(),
            "search exceeded statesMax " + statesMax, List.of())
        : new CheckResult(Verdict.LINEARIZABLE, statesExplored, components.size(), "", List.of());
  }

  /**
   * Fast path: the component without the UNKNOWN SET/MSET operations whose value no result ever
   * showed. Sound for a LINEARIZABLE answer (an unknown op may never take effect, so an order of
   * the rest is an order of the whole); a worse answer is re-checked on the full component.
   * Values are unique per run and INCR adds one, so "showed" means some GET or INCR result on
   * the key lies in [value, value + {@link #INCREMENTS_PER_VALUE_MAX}).
   */
  static List<Op> withoutUnobservedUnknownWrites(List<Op> ops) {
    Map<Integer, List<Long>> seen = new HashMap<>();
    for (Op op : ops) {
      if (op.outcome() == Outcome.OK && (op.kind() == OpKind.GET || op.kind() == OpKind.INCR)
          && op.result() != Op.ABSENT) {
        seen.computeIfAbsent(op.keys()[0], k -> new ArrayList<>()).add(op.result());
      }
    }
    List<Op> kept = new ArrayList<>(ops.size());
    for (Op op : ops) {
      boolean blindWrite = op.kind() == OpKind.SET || op.kind() == OpKind.MSET;
      if (op.outcome() != Outcome.UNKNOWN || !blindWrite || observed(op, seen)) {
        kept.add(op);
      }
    }
    return kept;
  }

  /** Workloads space written values at least this far apart. */
  public static final long INCREMENTS_PER_VALUE_MAX = 1000;

  private static boolean observed(Op write, Map<Integer, List<Long>> seen) {
    for (int i = 0; i < write.keys().length; i++) {
      long v = write.values()[i];
      for (long r : seen.getOrDefault(write.keys()[i], List.of())) {
        if (r >= v && r - v < INCREMENTS_PER_VALUE_MAX) {
          return true;
        }
      }
    }
    return false;
  }

  /** Drops ops that cannot matter, then groups the rest by connected components of keys. */
  static List<List<Op>> partitionByKeys(List<Op> history) {
    Map<Integer, Integer> parent = new HashMap<>();
    List<Op> relevant = new ArrayList<>();
    for (Op op : history) {
      if (op.outcome() == Outcome.FAIL
          || (op.outcome() == Outcome.UNKNOWN && op.kind() == OpKind.GET)) {
        continue;
      }
      relevant.add(op);
      int first = find(parent, op.keys()[0]);
      for (int i = 1; i < op.keys().length; i++) {
        int other = find(parent, op.keys()[i]);
        if (other != first) {
          parent.put(other, first);
        }
      }
    }
    Map<Integer, List<Op>> byRoot = new HashMap<>();
    for (Op op : relevant) {
      byRoot.computeIfAbsent(find(parent, op.keys()[0]), r -> new ArrayList<>()).add(op);
    }
    List<Integer> roots = new ArrayList<>(byRoot.keySet());
    roots.sort(Comparator.naturalOrder());
    List<List<Op>> out = new ArrayList<>();
    for (int root : roots) {
      out.add(byRoot.get(root));
    }
    return out;
  }

  private static int find(Map<Integer, Integer> parent, int key) {
    int root = key;
    Integer p;
    while ((p = parent.get(root)) != null && p != root) {
      root = p;
    }
    parent.putIfAbsent(key, key);
    if (root != key) {
      parent.put(key, root);
    }
    return root;
  }

  private record ComponentResult(Verdict verdict, String description, List<Op> culprits) {}

  /** One invoke or complete in the doubly linked list the search lifts entries out of. */
  private static final class Entry {
    final int op;
    final boolean call;
    final long stamp;
    Entry match;
    Entry prev;
    Entry next;

    Entry(int op, boolean call, long stamp) {
      this.op = op;
      this.call = call;
      this.stamp = stamp;
    }
  }

  /** Memo key: which ops are linearized, and the model state they led to. */
  private static final class Config {
    final long[] linearized;
    final long[] state;
    final int hash;

    Config(long[] linearized, long[] state) {
      this.linearized = linearized;
      this.state = state;
      this.hash = 31 * Arrays.hashCode(linearized) + Arrays.hashCode(state);
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Config c && c.hash == hash && Arrays.equals(c.linearized, linearized)
          && Arrays.equals(c.state, state);
    }

    @Override
    public int hashCode() {
      return hash;
    }
  }

  private ComponentResult checkComponent(List<Op> ops) {
    int n = ops.size();
    Map<Integer, Integer> localOf = new HashMap<>();
    int[][] localKeys = new int[n][];
    for (int i = 0; i < n; i++) {
      int[] keys = ops.get(i).keys();
      localKeys[i] = new int[keys.length];
      for (int j = 0; j < keys.length; j++) {
        localKeys[i][j] = localOf.computeIfAbsent(keys[j], k -> localOf.size());
      }
    }

    Entry head = buildEntryList(ops);
    long[] linearized = new long[(n + 63) / 64];
    long[] state = RegisterMapModel.initial(localOf.size());
    Set<Config> seen = new HashSet<>();
    Entry[] stackEntry = new Entry[n];
    long[][] stackState = new long[n][];
    int depth = 0;
    int deepest = -1;
    int stuckOp = -1;

    Entry entry = head.next;
    while (head.next != null) {
      if (entry.call) {
        long[] next = RegisterMapModel.step(state, ops.get(entry.op), localKeys[entry.op]);
        if (next != null) {
          long[] lin = linearized.clone();
          lin[entry.op >>> 6] |= 1L << entry.op;
          if (seen.add(new Config(lin, next))) {
            statesExplored++;
            if (statesExplored >= statesMax) {
              return new ComponentResult(Verdict.UNKNOWN, "statesMax", List.of());
            }
            stackEntry[depth] = entry;
            stackState[depth] = state;
            depth++;
            state = next;
            linearized = lin;
            lift(entry);
            entry = head.next;
            continue;
          }
        }
        entry = entry.next;
      } else {
        // A completed op that nothing placed before its completion: undo the latest choice.
        if (depth > deepest) {
          deepest = depth;
          stuckOp = entry.op;
        }
        if (depth == 0) {
          return notLinearizable(ops, stuckOp, deepest);
        }
        depth--;
        Entry undone = stackEntry[depth];
        state = stackState[depth];
        linearized[undone.op >>> 6] &= ~(1L << undone.op);
        unlift(undone);
        entry = undone.next;
      }
    }
    return new ComponentResult(Verdict.LINEARIZABLE, "", List.of());
  }

  private static ComponentResult notLinearizable(List<Op> ops, int stuckOp, int deepest) {
    Op stuck = ops.get(stuckOp);
    List<Op> culprits = new ArrayList<>();
    culprits.add(stuck);
    for (Op op : ops) {
      boolean overlaps = op.invokeStamp() < stuck.completeStamp()
          && (op.outcome() == Outcome.UNKNOWN || op.completeStamp() > stuck.invokeStamp());
      if (op != stuck && overlaps) {
        culprits.add(op);
      }
    }
    Set<Integer> keys = new HashSet<>();
    ops.forEach(o -> Arrays.stream(o.keys()).forEach(keys::add));
    String description = "keys " + keys + ": after linearizing " + deepest + " of " + ops.size()
        + " ops, no legal placement for " + stuck;
    return new ComponentResult(Verdict.NOT_LINEARIZABLE, description, culprits);
  }

  /**
   * Builds head → entries in stamp order. An UNKNOWN op's completion goes after every real
   * stamp: it never forces the op to be placed early.
   */
  private static Entry buildEntryList(List<Op> ops) {
    List<Entry> entries = new ArrayList<>(2 * ops.size());
    for (int i = 0; i < ops.size(); i++) {
      Op op = ops.get(i);
      Entry call = new Entry(i, true, op.invokeStamp());
      long end = op.outcome() == Outcome.UNKNOWN ? Long.MAX_VALUE : op.completeStamp();
      Entry ret = new Entry(i, false, end);
      call.match = ret;
      ret.match = call;
      entries.add(call);
      entries.add(ret);
    }
    // Ties only happen among UNKNOWN completions at the end; keep them in op order.
    entries.sort(Comparator.comparingLong((Entry e) -> e.stamp).thenComparingInt(e -> e.op));
    Entry head = new Entry(-1, false, Long.MIN_VALUE);
    Entry prev = head;
    for (Entry e : entries) {
      prev.next = e;
      e.prev = prev;
      prev = e;
    }
    return head;
  }

  /** Removes a call and its completion from the list. */
  private static void lift(Entry call) {
    call.prev.next = call.next;
    if (call.next != null) {
      call.next.prev = call.prev;
    }
    Entry ret = call.match;
    ret.prev.next = ret.next;
    if (ret.next != null) {
      ret.next.prev = ret.prev;
    }
  }

  /** Reinserts what {@link #lift} removed, in reverse order so the neighbours are valid. */
  private static void unlift(Entry call) {
    Entry ret = call.match;
    ret.prev.next = ret;
    if (ret.next != null) {
      ret.next.prev = ret;
    }
    call.prev.next = call;
    if (call.next != null) {
      call.next.prev = call;
    }
  }
}
