package io.respawn.sim;

import io.respawn.sim.lin.Verdict;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * Runs a range of seeds under one config and totals the results. Used by the CLI and the JUnit
 * sweeps. Seeds run one after another on the calling thread, so output order is stable.
 */
public final class Sweep {

  /**
   * Totals of a sweep.
   *
   * @param seeds seeds run
   * @param events events over all seeds
   * @param failedSeeds seeds with at least one violation, in order
   * @param linUnknown seeds whose linearizability search hit its bound (not a failure)
   * @param operations client operations over all seeds
   * @param failures the failing runs
   */
  public record Summary(long seeds, long events, List<Long> failedSeeds, long linUnknown,
      long operations, RunResult.Stats stats, List<RunResult> failures) {

    public long violations() {
      return failedSeeds.size();
    }
  }

  private Sweep() {}

  public static Summary run(long firstSeed, long lastSeed, SimConfig config,
      Consumer<RunResult> eachRun) {
    long events = 0;
    long linUnknown = 0;
    long operations = 0;
    List<Long> failed = new ArrayList<>();
    List<RunResult> failures = new ArrayList<>();
    RunResult.Stats stats = RunResult.Stats.NONE;
    for (long seed = firstSeed; seed <= lastSeed; seed++) {
      RunResult r = Simulation.run(seed, config);
      events += r.events();
      stats = stats.plus(r.stats());
      operations += r.operations();
      if (r.linearizability() == Verdict.UNKNOWN && r.clean()) {
        linUnknown++;
      }
      if (!r.clean()) {
        failed.add(seed);
        if (failures.size() < 20) {
          failures.add(r);
        }
      }
      eachRun.accept(r);
    }
    return new Summary(lastSeed - firstSeed + 1, events, failed, linUnknown, operations,
        stats, failures);
  }
}
