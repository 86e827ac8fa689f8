package io.respawn.bench;

import io.respawn.bench.storage.StorageBench;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code respawn bench ...}: benchmarks, experiments and their charts. */
@Command(
    name = "respawn bench",
    mixinStandardHelpOptions = true,
    description = "Benchmarks and experiments. Each prints a table; charts are PNG files.",
    subcommands = {StorageBench.class, io.respawn.bench.memory.WitnessMemoryBench.class, io.respawn.bench.memory.WitnessApplyBench.class, CsvChart.class, io.respawn.bench.faults.FaultCampaign.class,
        io.respawn.bench.faults.TakeoverBench.class,
        io.respawn.bench.mirror.MirrorDisasterBench.class,
        io.respawn.bench.mirror.MirrorThroughputBench.class,
        io.respawn.bench.e1.E1Bench.class,
        io.respawn.bench.e2.E2Bench.class,
        io.respawn.bench.solo.SoloBench.class,
        io.respawn.bench.snapshot.CompactionBench.class})
public final class BenchCommand {

  public static void main(String[] args) {
    System.setProperty("java.awt.headless", "true");
    System.exit(new CommandLine(new BenchCommand()).execute(args));
  }
}
