package io.respawn.server.cli;

import io.respawn.mirror.WanLink;
import io.respawn.server.mirror.WanRelay;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;
import sun.misc.Signal;

/**
 * {@code respawn wan}: runs a {@link WanRelay} (an emulated long-distance link) until SIGTERM or
 * SIGINT. Prints one line when ready: {@code respawn wan: relaying LISTEN -> TARGET from FAR
 * (control on PORT)} — FAR is the address the target sees, the peer it must be configured with.
 */
@Command(name = "wan", mixinStandardHelpOptions = true,
    description = "Emulate a WAN link: a UDP relay with delay, loss, bursty loss, a bandwidth cap"
        + " and a cut switch, deterministic under --seed.")
public final class WanCommand implements Callable<Integer> {
  @Option(names = "--listen", required = true,
      description = "host:port the sending side sends to (port 0 = any).")
  String listen;

  @Option(names = "--to", required = true, description = "host:port datagrams are relayed to.")
  String to;

  @Option(names = "--delay-ms", defaultValue = "0", description = "One-way delay in ms, each direction (default ${DEFAULT-VALUE}).")
  double delayMillis;

  @Option(names = "--jitter-ms", defaultValue = "0", description = "Extra delay, uniform in [0, jitter) ms; reorders (default ${DEFAULT-VALUE}).")
  double jitterMillis;

  @Option(names = "--loss", defaultValue = "0", description = "Independent loss probability, 0..1, each direction (default ${DEFAULT-VALUE}).")
  double loss;

  @Option(names = "--burst-enter", defaultValue = "0", description = "Gilbert-Elliott: probability per datagram of entering a loss burst (default ${DEFAULT-VALUE}: none).")
  double burstEnter;

  @Option(names = "--burst-exit", defaultValue = "0.25", description = "Gilbert-Elliott: probability per datagram of leaving it; mean burst 1/exit datagrams (default ${DEFAULT-VALUE}).")
  double burstExit;

  @Option(names = "--burst-loss", defaultValue = "1", description = "Loss probability inside a burst (default ${DEFAULT-VALUE}).")
  double burstLoss;

  @Option(names = "--bandwidth-mbit", defaultValue = "0", description = "Bandwidth cap in Mbit/s, each direction; 0 = none (default ${DEFAULT-VALUE}).")
  double bandwidthMbit;

  @Option(names = "--queue-bytes", converter = SizeConverter.class, defaultValue = "4m", description = "Bytes queued behind the bandwidth cap before datagrams are dropped (default ${DEFAULT-VALUE}).")
  long queueBytes;

  @Option(names = "--seed", defaultValue = "1", description = "Seed of every loss and jitter decision (default ${DEFAULT-VALUE}).")
  long seed;

  @Option(names = "--control-port", defaultValue = "0", description = "TCP port for control commands (cut, restore, loss P, ...); 0 = any (default ${DEFAULT-VALUE}).")
  int controlPort;

  @Spec CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    InetSocketAddress listenAddress = address("--listen", listen, true);
    InetSocketAddress target = address("--to", to, false);
    WanLink.Settings settings;
    try {
      settings = new WanLink.Settings((long) (delayMillis * 1e6), (long) (jitterMillis * 1e6),
          loss, burstEnter, burstExit, burstLoss, WanRelay.bytesPerSecond(bandwidthMbit),
          queueBytes, false);
    } catch (IllegalArgumentException e) {
      throw new ParameterException(spec.commandLine(), e.getMessage());
    }
    if (controlPort < 0 || controlPort > 65535) {
      throw new ParameterException(spec.commandLine(),
          "--control-port must be between 0 and 65535, got " + controlPort);
    }
    CountDownLatch stop = new CountDownLatch(1);
    Signal.handle(new Signal("TERM"), s -> stop.countDown());
    Signal.handle(new Signal("INT"), s -> stop.countDown());
    try (WanRelay relay = WanRelay.start(listenAddress, target, settings, seed,
        new InetSocketAddress(listenAddress.getAddress(), controlPort))) {
      System.out.println("respawn wan: relaying " + hostPort(relay.listenAddress()) + " -> "
          + hostPort(target) + " from " + hostPort(relay.farAddress()) + " (control on "
          + relay.controlPort() + ")");
      System.out.flush();
      stop.await();
    }
    return 0;
  }

  private InetSocketAddress address(String flag, String value, boolean portZeroOk) {
    return parseAddress(spec, flag, value, portZeroOk);
  }

  /** Parses host:port into a resolved address, or a usage error naming the flag. */
  static InetSocketAddress parseAddress(CommandSpec spec, String flag, String value,
      boolean portZeroOk) {
    int colon = value.lastIndexOf(':');
    if (colon <= 0 || colon == value.length() - 1) {
      throw new ParameterException(spec.commandLine(), flag + " must be host:port, got " + value);
    }
    int port;
    try {
      port = Integer.parseInt(value.substring(colon + 1));
    } catch (NumberFormatException e) {
      throw new ParameterException(spec.commandLine(), flag + " has a bad port: " + value);
    }
    if (port < (portZeroOk ? 0 : 1) || port > 65535) {
      throw new ParameterException(spec.commandLine(), flag + " port must be between "
          + (portZeroOk ? 0 : 1) + " and 65535, got " + port);
    }
    try {
      return new InetSocketAddress(InetAddress.getByName(value.substring(0, colon)), port);
    } catch (UnknownHostException e) {
      throw new ParameterException(spec.commandLine(), flag + " host is unknown: " + value);
    }
  }

  static String hostPort(InetSocketAddress a) {
    return a.getAddress().getHostAddress() + ":" + a.getPort();
  }
}
