package io.respawn.server.cli;

import io.respawn.server.ServerConfig;
import io.respawn.server.solo.monitor.SoloStandbyTarget;
import io.respawn.server.solo.monitor.StandbyAgent;
import io.respawn.server.solo.monitor.StandbyProcess;
import io.respawn.server.solo.monitor.StandbyTarget;
import io.respawn.storage.KvStore;
import io.respawn.storage.LogFormat;
import io.respawn.storage.Mutation;
import io.respawn.storage.solo.SoloVolume;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import sun.misc.Signal;

/**
 * {@code respawn standby}: a warm standby for {@code respawn monitor}, which starts it. Loads and
 * warms the serving code (recovers, serves and closes a small scratch store), then listens on a
 * loopback control port, prints {@code respawn: standby ready, control port N (pid P)} and waits
 * for the monitor's orders ({@link StandbyAgent}). Takes the serving node's flags ({@code
 * --durability}, limits...); {@code --port} and {@code --data} are given by the monitor when it
 * picks this standby. Exit code 0 when released by the monitor or after serving stopped cleanly,
 * 3 when it served and was fenced (another standby took the volume over), 2 for bad flags or a
 * missing control token.
 */
@Command(name = "standby", mixinStandardHelpOptions = true,
    description = "A warm standby process for respawn monitor (started by the monitor).")
public final class StandbyCommand implements Callable<Integer> {
  private static final Logger log = LoggerFactory.getLogger(StandbyCommand.class);

  /** Writes the warm-up sends through the RESP path, enough for the JIT to compile it. */
  static final int WARMUP_WRITES = 3_000;

  /**
   * Keys of the store the warm-up then recovers {@link #RECOVERY_WARMUP_ROUNDS} times, as after
   * a crash: enough that the JIT compiles the replay and index-building loops before the real
   * recovery runs (a cold standby recovered a 2 M-key store in about twice the time of a warm
   * one). Values of 16 bytes: about 200,000 * 40 bytes of log, a few tenths of a second.
   */
  static final int RECOVERY_WARMUP_KEYS = 200_000;
  static final int RECOVERY_WARMUP_ROUNDS = 3;

  /** Exit code of a serving standby that found itself fenced (as {@code respawn solo}'s). */
  public static final int EXIT_FENCED = 3;

  @Mixin ServerOptions options = new ServerOptions();

  @Option(names = "--warmup", defaultValue = "true", negatable = true,
      description = "Warm the serving code up before reporting ready (default: ${DEFAULT-VALUE}).")
  boolean warmup;

  @Spec CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    String token = System.getenv("RESPAWN_STANDBY_TOKEN");
    if (token == null || token.isEmpty()) {
      System.err.println("respawn standby: started without a control token; standbys are started"
          + " by respawn monitor");
      return 2;
    }
    Path scratch = WarmupScratch.create();
    options.data = scratch.toString();
    ServerConfig config = options.toConfig(spec);
    ServerCommand.setLogLevel(options.logLevel);
    StandbyTarget target = new SoloStandbyTarget(config);
    try {
      if (warmup) {
        long t0 = System.nanoTime();
        Path store;
        try (SoloVolume scratchVolume = SoloVolume.at(scratch.resolve("volume"))) {
          store = scratchVolume.currentStore();
        }
        warmUp(target, store);
        log.info("warm-up took {} ms", (System.nanoTime() - t0) / 1_000_000);
      }
    } finally {
      WarmupScratch.delete(scratch);
    }
    StandbyAgent agent;
    try (ServerSocket control = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      agent = new StandbyAgent(control, token, target);
      System.out.println(StandbyProcess.READY_PREFIX + control.getLocalPort() + " (pid "
          + ProcessHandle.current().pid() + ")");
      System.out.flush();
      if (agent.run() == StandbyAgent.Outcome.RELEASED) {
        return 0;
      }
    }
    StandbyTarget.Serving serving = agent.serving();
    CountDownLatch stop = new CountDownLatch(1);
    Signal.handle(new Signal("TERM"), s -> stop.countDown());
    Signal.handle(new Signal("INT"), s -> stop.countDown());
    serving.stopRequested().thenRun(stop::countDown);
    stop.await();
    serving.close();
    if (serving.fenced()) {
      log.info("stopped: fenced");
      return EXIT_FENCED;
    }
    log.info("stopped cleanly");
    return 0;
  }

  /**
   * Runs the code a failover runs, on a scratch store: recovery, serving, pipelined writes and
   * reads over RESP, a clean close, then recoveries, as after a crash, of a store of {@link
   * #RECOVERY_WARMUP_KEYS} keys.
   */
  static void warmUp(StandbyTarget target, Path dir) throws IOException, InterruptedException {
    Files.createDirectories(dir);
    KvStore store = target.recover(dir);
    try (StandbyTarget.Serving serving = target.serve(store, dir, 0);
        java.net.Socket s = new java.net.Socket("127.0.0.1", serving.port())) {
      s.setSoTimeout(120_000); // a loaded machine is slow, not broken
      java.io.OutputStream out = new java.io.BufferedOutputStream(s.getOutputStream());
      java.io.InputStream in = new java.io.BufferedInputStream(s.getInputStream());
      String value = "v".repeat(100);
      int batch = 100;
      for (int sent = 0; sent < WARMUP_WRITES; sent += batch) {
        for (int i = sent; i < sent + batch; i++) {
          String key = "warmup:" + (i % 500);
          out.write(("*3\r\n$3\r\nSET\r\n$" + key.length() + "\r\n" + key + "\r\n$100\r\n"
              + value + "\r\n*2\r\n$3\r\nGET\r\n$" + key.length() + "\r\n" + key
              + "\r\n").getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        }
        out.flush();
        // +OK\r\n then $100\r\n<value>\r\n per pair
        int expect = batch * (5 + 6 + 100 + 2);
        if (in.readNBytes(expect).length != expect) {
          throw new IOException("warm-up server closed the connection");
        }
      }
    }
    KvStore big = target.recover(dir);
    try {
      byte[] value = new byte[16];
      List<Mutation> batch = new ArrayList<>();
      for (int k = 0; k < RECOVERY_WARMUP_KEYS; k++) {
        batch.add(Mutation.put(("warmup:r:" + k).getBytes(StandardCharsets.US_ASCII), value));
        if (batch.size() == 1_000) {
          big.apply(batch);
          batch = new ArrayList<>();
        }
      }
    } finally {
      big.close(); // writes everything out
    }
    for (int round = 0; round < RECOVERY_WARMUP_ROUNDS; round++) {
      // as after a crash: no clean-shutdown mark
      Files.deleteIfExists(dir.resolve(LogFormat.CLEAN_SHUTDOWN_FILE));
      target.recover(dir).close();
    }
  }
}
