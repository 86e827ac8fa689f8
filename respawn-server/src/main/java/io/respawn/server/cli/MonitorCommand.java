package io.respawn.server.cli;

import io.respawn.server.DataDirInUseException;
import io.respawn.server.DataDirLock;
import io.respawn.server.solo.monitor.FailoverMode;
import io.respawn.server.solo.monitor.FailureDetector;
import io.respawn.server.solo.monitor.SoloTakeoverVolume;
import io.respawn.server.solo.monitor.SoloMonitor;
import io.respawn.server.solo.monitor.StandbyPool;
import io.respawn.server.solo.monitor.StandbyProcess;
import io.respawn.server.solo.monitor.TakeoverPhases;
import io.respawn.server.solo.monitor.TakeoverVolume;
import io.respawn.server.solo.sentinel.SentinelEndpoint;
import io.respawn.server.solo.sentinel.SoloMonitorMasters;
import io.respawn.storage.solo.SoloVolume;
import io.respawn.storage.solo.VolumeFormat;
import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;
import sun.misc.Signal;

/**
 * {@code respawn monitor --data DIR}: a solo deployment on a durable volume — starts warm standby
 * processes, makes the first one the serving node of the volume, heartbeats it, and fails over to
 * another standby in the chosen {@code --mode}. Prints {@code respawn: monitor (MODE) watching
 * HOST:PORT (pid P)} once the node serves, and one line per takeover or aborted speculation.
 * SIGTERM or SIGINT stops the monitor, its standbys and the serving node (cleanly: writes are
 * made durable). With {@code --sentinel-port} it also answers Redis Sentinel clients there and
 * prints {@code respawn: sentinel on HOST:PORT (master NAME)}. With {@code --primary HOST:PORT}
 * it watches a node it did not start ({@code respawn solo} on the same volume) instead of
 * starting one, and leaves that node running when it stops. After each takeover it prints
 * {@code respawn: phases key=value...} ({@link io.respawn.server.solo.monitor.TakeoverPhases}).
 * Exit code 2 for bad flags, 1 if the first node (or the Sentinel endpoint) cannot start or the
 * {@code --primary} node does not serve the volume.
 */
@Command(name = "monitor", mixinStandardHelpOptions = true,
    description = "Serve a solo volume with a failure monitor and warm standbys (REDS/SpecREDS).")
public final class MonitorCommand implements Callable<Integer> {
  private static final Logger log = LoggerFactory.getLogger(MonitorCommand.class);

  @Option(names = "--data", required = true, description = "The volume's data directory.")
  Path data;

  @Option(names = "--mode", defaultValue = "SPECREDS",
      description = "reds (timeout, then recover), specreds (recover speculatively at the first suspicion) or oracle (the node's process exit, for experiments). Default: ${DEFAULT-VALUE}.")
  FailoverMode mode;

  @Option(names = "--primary",
      description = "Watch the node serving the volume at HOST:PORT (a respawn solo this monitor did not start) instead of starting one; it must hold the volume's current store. Takeovers serve on --port.")
  String watchPrimary;

  @Option(names = "--port", defaultValue = "7379",
      description = "RESP port of the serving node; a new node takes it when it is free, else any port (clients follow through Sentinel). Default: ${DEFAULT-VALUE}.")
  int port;

  @Option(names = "--bind", defaultValue = "127.0.0.1", description = "Address the serving node listens on (default: ${DEFAULT-VALUE}).")
  String bind;

  @Option(names = "--timeout-ms", defaultValue = "5000",
      description = "REDS: silence after which the node is declared down (default: ${DEFAULT-VALUE}).")
  long timeoutMillis;

  @Option(names = "--suspect-ms", defaultValue = "300",
      description = "SpecREDS: silence after which speculation starts; a lost or refused connection starts it at once (default: ${DEFAULT-VALUE}).")
  long suspectMillis;

  @Option(names = "--heartbeat-ms", defaultValue = "50", description = "PING interval (default: ${DEFAULT-VALUE}).")
  long heartbeatMillis;

  @Option(names = "--standbys", defaultValue = "1", description = "Warm standbys kept ready (default: ${DEFAULT-VALUE}).")
  int standbys;

  @Option(names = "--node-arg", description = "A flag passed to every serving node (repeatable), e.g. --node-arg=--durability=DURABLE.")
  List<String> nodeArgs = new ArrayList<>();

  @Option(names = "--node-jvm-opt", description = "A JVM option for every standby (repeatable). Default: -XX:+UseParallelGC -Xmn128m.")
  List<String> nodeJvmOpts;

  @Option(names = "--sentinel-port", defaultValue = "-1",
      description = "Answer Redis Sentinel clients (Jedis's JedisSentinelPool, Lettuce, redis-py) on this port, 0 for any free one; off when negative (default). Redis Sentinel's own port is 26379.")
  int sentinelPort;

  @Option(names = "--sentinel-bind",
      description = "Address the Sentinel endpoint listens on (default: the --bind address).")
  String sentinelBind;

  @Option(names = "--master-name", defaultValue = "mymaster",
      description = "The service name Sentinel clients ask for (default: ${DEFAULT-VALUE}).")
  String masterName;
  @Option(names = "--log-dir", description = "Where each standby's log (standby-N.log) goes (default: the data directory).")
  Path logDir;

  @Option(names = "--log-level", defaultValue = "INFO",
      description = "TRACE, DEBUG, INFO, WARN or ERROR (default: ${DEFAULT-VALUE}).")
  String logLevel;

  @Spec CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    ServerCommand.setLogLevel(logLevel);
    FailureDetector detector;
    SoloMonitor.Config config;
    try {
      detector = new FailureDetector(Math.min(suspectMillis, timeoutMillis), timeoutMillis);
      if (heartbeatMillis < 1 || heartbeatMillis > 60_000) {
        throw new IllegalArgumentException("--heartbeat-ms must be 1..60000, got "
            + heartbeatMillis);
      }
      if (standbys < 1 || standbys > StandbyPool.SIZE_MAX) {
        throw new IllegalArgumentException("--standbys must be 1.." + StandbyPool.SIZE_MAX
            + ", got " + standbys);
      }
      InetAddress.getByName(bind);
      if (sentinelPort > 65_535) {
        throw new IllegalArgumentException("--sentinel-port must be 0..65535 (negative: off), got "
            + sentinelPort);
      }
      if (sentinelPort > 0 && sentinelPort == port) {
        throw new IllegalArgumentException("--sentinel-port must differ from --port " + port);
      }
      if (sentinelBind != null) {
        InetAddress.getByName(sentinelBind);
      }
      if (masterName.isEmpty() || !masterName.chars().allMatch(c -> c > ' ' && c < 0x7f)) {
        throw new IllegalArgumentException("--master-name must be one word of printable ASCII, "
            + "got '" + masterName + "'");
      }
      config = new SoloMonitor.Config(mode, detector, heartbeatMillis, bind, port,
          watchPrimary == null ? null
              : WanCommand.parseAddress(spec, "--primary", watchPrimary, false));
    } catch (IllegalArgumentException e) {
      throw new ParameterException(spec.commandLine(), e.getMessage());
    } catch (UnknownHostException e) {
      throw new ParameterException(spec.commandLine(), "--bind " + bind + " or --sentinel-bind "
          + sentinelBind + " is not a known address");
    }
    Files.createDirectories(data);
    Path logs = Files.createDirectories(logDir != null ? logDir : data);
    List<String> standbyArgs = new ArrayList<>(nodeArgs);
    standbyArgs.add("--bind=" + bind);
    List<String> jvm = nodeJvmOpts != null ? nodeJvmOpts
        : List.of("-XX:+UseParallelGC", "-Xmn128m");
    StandbyProcess.Launch launch = new StandbyProcess.Launch(jvm, standbyArgs, logs, 120_000);
    SoloVolume soloVolume = SoloVolume.at(data);
    TakeoverVolume volume = new SoloTakeoverVolume(soloVolume);
    CountDownLatch stop = new CountDownLatch(1);
    Signal.handle(new Signal("TERM"), s -> stop.countDown());
    Signal.handle(new Signal("INT"), s -> stop.countDown());
    try (StandbyPool pool = new StandbyPool(standbys, launch)) {
      SoloMonitor monitor = new SoloMonitor(config, volume, pool);
      SoloMonitorMasters sentinelView =
          sentinelPort >= 0 ? new SoloMonitorMasters(masterName, monitor) : null;
      pool.onReady(n -> {
        System.out.println("respawn: standbys ready " + n);
        System.out.flush();
      });
      monitor.addListener(new SoloMonitor.Listener() {
        @Override
        public void switched(SoloMonitor.Primary from, SoloMonitor.Primary to, FailoverMode how,
            long tookMillis, long recoveryMillis) {
          System.out.println("respawn: +switch-master " + from.address().getHostString() + " "
              + from.address().getPort() + " " + to.address().getHostString() + " "
              + to.address().getPort() + " (" + how.name().toLowerCase(java.util.Locale.ROOT)
              + ", pid " + to.pid() + ", " + tookMillis + " ms after detection, recovery "
              + recoveryMillis + " ms)");
          System.out.flush();
        }

        @Override
        public void phases(TakeoverPhases phases) {
          System.out.println("respawn: phases " + phases.line());
          System.out.flush();
        }

        @Override
        public void speculationAborted(String why) {
          System.out.println("respawn: speculation aborted: " + why);
          System.out.flush();
        }
      });
      try {
        monitor.start();
      } catch (IOException | TimeoutException e) {
        System.err.println("respawn monitor: cannot start the serving node: " + e.getMessage());
        return 1;
      }
      SoloMonitor.Primary p = monitor.primary();
      if (config.watch() != null) {
        String why = notServing(soloVolume, p.pid());
        if (why != null) {
          System.err.println("respawn monitor: --primary " + watchPrimary + " " + why);
          monitor.close();
          return 1;
        }
      }
      System.out.println("respawn: monitor (" + mode.name().toLowerCase(java.util.Locale.ROOT)
          + ") watching " + p.address().getHostString() + ":" + p.address().getPort() + " (pid "
          + p.pid() + ", data " + data + ")");
      System.out.flush();
      SentinelEndpoint sentinel = null;
      if (sentinelView != null) {
        String host = sentinelBind != null ? sentinelBind : bind;
        try {
          sentinel = SentinelEndpoint.start(host, sentinelPort, sentinelView);
        } catch (Exception e) { // a BindException arrives unchecked from Netty
          System.err.println("respawn monitor: cannot listen for Sentinel clients on " + host
              + ":" + sentinelPort + ": " + e.getMessage());
          monitor.close();
          ProcessHandle.of(monitor.primary().pid()).ifPresent(ProcessHandle::destroy);
          return 1;
        }
        System.out.println("respawn: sentinel on " + host + ":" + sentinel.port() + " (master "
            + masterName + ")");
        System.out.flush();
      }
      stop.await();
      log.info("signal received: stopping the monitor, its standbys and the serving node");
      if (sentinel != null) {
        sentinel.close();
      }
      if (sentinelView != null) {
        sentinelView.close();
      }
      monitor.close();
      SoloMonitor.Primary last = monitor.primary();
      if (last.started()) { // a node this monitor did not start is not its to stop
        ProcessHandle.of(last.pid()).ifPresent(h -> {
          h.destroy();
          h.onExit().orTimeout(60, java.util.concurrent.TimeUnit.SECONDS).exceptionally(e -> h)
              .join();
        });
      }
    } finally {
      soloVolume.close();
    }
    return 0;
  }

  /**
   * Null if the process {@code pid} (what the {@code --primary} node reported) holds the lock of
   * the volume's current store, as a serving {@code respawn solo} does; else why not. A node that
   * serves another directory would be "taken over" by a standby serving this volume's older data.
   */
  static String notServing(SoloVolume volume, long pid) throws IOException {
    Path dir = volume.currentStore().getParent();
    String lockName = VolumeFormat.lockFile(volume.currentStore().getFileName().toString());
    try (DataDirLock free = DataDirLock.acquire(dir, lockName)) {
      return "does not serve volume " + dir + ": no process holds its current store's lock "
          + lockName;
    } catch (DataDirInUseException held) {
      String owner = Files.readString(dir.resolve(lockName)).trim();
      if (pid >= 0 && !owner.equals(Long.toString(pid))) {
        return "(pid " + pid + ") does not serve volume " + dir + ": pid " + owner
            + " holds its current store's lock";
      }
      return null;
    }
  }

  /** The store directory a new volume's first serving node recovers (created if new). */
  public static Path firstStore(Path data) throws IOException {
    try (SoloVolume v = SoloVolume.at(data)) {
      return v.currentStore();
    }
  }
}
