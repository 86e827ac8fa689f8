package io.respawn.server.cli;

import java.io.IOException;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code respawn mirror status|promote}: the operator's view of a mirror link, on either site
 * ({@code RESPAWN MIRROR STATUS}: applied position, lag in writes and bytes, loss, repairs,
 * NACKs, dropped datagrams by reason), and the failover of the site ({@code RESPAWN MIRROR
 * PROMOTE} on the mirror: stops applying, reports the last applied position, serves writes).
 * Exit code 0 on success, 1 if the node cannot be reached or refuses.
 */
@Command(name = "mirror", mixinStandardHelpOptions = true,
    description = "Mirror link status, and promotion of a mirror site.",
    subcommands = {MirrorCommand.Status.class, MirrorCommand.Promote.class})
public final class MirrorCommand implements Runnable {
  @Override
  public void run() {
    System.err.println("respawn mirror: say status or promote (see --help)");
  }

  /** The options both subcommands share. */
  static class Target {
    @Option(names = "--host", defaultValue = "127.0.0.1", description = "The node's host (default ${DEFAULT-VALUE}).")
    String host;

    @Option(names = "--port", defaultValue = "7379", description = "The node's RESP port (default ${DEFAULT-VALUE}).")
    int port;

    @Option(names = "--timeout-ms", defaultValue = "5000", description = "Timeout (default ${DEFAULT-VALUE}).")
    int timeoutMillis;

    int call(String name, String sub) {
      try (RespClient c = new RespClient(host, port, timeoutMillis)) {
        Object reply = c.call("RESPAWN", "MIRROR", sub);
        System.out.print(String.valueOf(reply).replace("\r\n", "\n"));
        if (!String.valueOf(reply).endsWith("\n")) {
          System.out.println();
        }
        return 0;
      } catch (IOException | RuntimeException e) {
        System.err.println("respawn mirror " + name + ": " + host + ":" + port + ": "
            + e.getMessage());
        return 1;
      }
    }
  }

  @Command(name = "status", mixinStandardHelpOptions = true,
      description = "Applied position, lag in writes and bytes, loss, repairs, NACKs.")
  static final class Status extends Target implements Callable<Integer> {
    @Override
    public Integer call() {
      return call("status", "STATUS");
    }
  }

  @Command(name = "promote", mixinStandardHelpOptions = true,
      description = "On the mirror: stop applying, report the last applied position, serve writes.")
  static final class Promote extends Target implements Callable<Integer> {
    @Override
    public Integer call() {
      return call("promote", "PROMOTE");
    }
  }
}
