package io.respawn.server.cli;

import io.respawn.server.command.CommandSettings;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * {@code respawn}: the launcher's entry point for running the store. Subcommands: {@code up} (the
 * default deployment; today one node) and {@code server} (one node, explicitly), {@code solo}
 * (the serving node of a solo volume). Exit codes: 0 after a clean stop (SIGTERM/SIGINT), 1 if
 * the store fails at run time, 2 for invalid flags or a configuration that cannot start (port
 * taken, data directory not writable), 3 when a solo node finds itself fenced.
 */
@Command(
    name = "respawn",
    mixinStandardHelpOptions = true,
    versionProvider = RespawnCommand.Version.class,
    description = "Respawn: a replicated key-value store that speaks the Redis protocol.",
    subcommands = {UpCommand.class, ServerCommand.class, NodeCommand.class, StatusCommand.class,
        MemberCommand.class,
        WanCommand.class, MirrorCommand.class, MonitorCommand.class, StandbyCommand.class,
        SoloCommand.class,
        RespawnCommand.VersionCommand.class, AotTrainCommand.class,
        CommandLine.HelpCommand.class})
public final class RespawnCommand implements Runnable {
  private static final String NETTY_JFR = "io.netty.jfr.enabled";

  @picocli.CommandLine.Spec
  CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(System.err);
  }

  public static void main(String[] args) {
    if (System.getProperty(NETTY_JFR) == null) {
      // Netty's allocator asks at class initialization whether Flight Recorder is available, which
      // initializes JFR's event metadata: ~114 classes and ~20,000 objects of start-up state that
      // every young collection then copies until tenured. -Dio.netty.jfr.enabled=true restores
      // Netty's buffer events for a recording.
      System.setProperty(NETTY_JFR, "false");
    }
    if (System.getProperty("io.netty.leakDetection.level") == null) {
      // Leak tracking wraps every aggregated argument buffer; tests keep it, production need not.
      io.netty.util.ResourceLeakDetector.setLevel(io.netty.util.ResourceLeakDetector.Level.DISABLED);
    }
    // Before any hot code is compiled: see SegmentKinds for the deoptimization storm it prevents.
    io.respawn.storage.memory.SegmentKinds.loadAll();
    // A serving command defers its run until the command line is garbage (DeferredServe).
    System.exit(DeferredServe.runPending(newCommandLine().execute(args)));
  }

  /**
   * The configured command line (tests call this to check parsing and validation). Executing a
   * serving command ({@code server}, {@code node}) on it checks the flags and returns; the server
   * itself runs only from {@link #main} (see {@link DeferredServe}).
   */
  public static CommandLine newCommandLine() {
    DeferredServe.forget();
    return new CommandLine(new RespawnCommand()).setCaseInsensitiveEnumValuesAllowed(true);
  }

  /** {@code respawn version}: the launcher passes this word through. */
  @Command(name = "version", description = "Print the version.")
  static final class VersionCommand implements Runnable {
    @Override
    public void run() {
      System.out.println("respawn " + CommandSettings.RESPAWN_VERSION);
    }
  }

  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      return new String[] {"respawn " + CommandSettings.RESPAWN_VERSION};
    }
  }
}
