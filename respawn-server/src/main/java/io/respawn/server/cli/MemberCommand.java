package io.respawn.server.cli;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code respawn member list|add|promote|remove}: changes a running shard's membership online
 * (RESPAWN MEMBER on the primary; docs/operations.md, "Replacing a member"). Asks the member at
 * {@code --host:--port}; when that is not the primary, asks the primary it names. {@code
 * promote} waits (up to {@code --wait-ms}) while the learner is still catching up. Prints the
 * outcome; exit code 0 on success, 1 on an error (printed on one line).
 */
@Command(name = "member", mixinStandardHelpOptions = true,
    description = "Change a running shard's membership: list | add | promote | remove.")
public final class MemberCommand implements Callable<Integer> {
  @Parameters(index = "0", description = "list, add, promote or remove")
  String action;

  @Option(names = "--host", defaultValue = "127.0.0.1",
      description = "Any member's host (default ${DEFAULT-VALUE}).")
  String host;

  @Option(names = "--port", defaultValue = "7379",
      description = "Any member's RESP port (default ${DEFAULT-VALUE}).")
  int port;

  @Option(names = "--id", description = "The member's id (add, promote, remove).")
  Integer id;

  @Option(names = "--role",
      description = "backup, witness, or primary in place of a lost primary removed first (add).")
  String role;

  @Option(names = "--resp", description = "The new member's RESP address HOST:PORT (add).")
  String resp;

  @Option(names = "--peer", description = "The new member's peer address HOST:PORT (add).")
  String peer;

  @Option(names = "--wait-ms", defaultValue = "120000",
      description = "How long promote waits for the learner to catch up (default ${DEFAULT-VALUE}).")
  long waitMillis;

  @Option(names = "--timeout-ms", defaultValue = "15000",
      description = "Per-request timeout (default ${DEFAULT-VALUE}).")
  int timeoutMillis;

  @Override
  public Integer call() {
    String op = action.toUpperCase(java.util.Locale.ROOT);
    List<String> args = new ArrayList<>(List.of("RESPAWN", "MEMBER", op));
    switch (op) {
      case "LIST" -> { }
      case "ADD" -> {
        if (id == null || role == null || resp == null || peer == null) {
          return fail("add needs --id, --role, --resp and --peer");
        }
        args.addAll(List.of(id.toString(), role, resp, peer));
      }
      case "PROMOTE", "REMOVE" -> {
        if (id == null) {
          return fail(action + " needs --id");
        }
        args.add(id.toString());
      }
      default -> {
        return fail("unknown action '" + action + "'; use list, add, promote or remove");
      }
    }
    long deadline = System.nanoTime() + waitMillis * 1_000_000L;
    String target = host + ":" + port;
    while (true) {
      try {
        Object reply = ask(target, args);
        if (reply instanceof List<?> lines) {
          lines.forEach(System.out::println);
        } else {
          System.out.println(reply);
        }
        return 0;
      } catch (RespClient.RespError e) {
        String text = e.getMessage();
        if (text.contains("not the primary")) {
          String primary = primaryOf(target);
          if (primary != null && !primary.equals(target)) {
            target = primary;
            continue;
          }
        }
        if (op.equals("PROMOTE") && text.contains("still catching up")
            && System.nanoTime() < deadline) {
          sleep();
          continue;
        }
        return fail(text);
      } catch (IOException | RuntimeException e) {
        return fail("cannot reach " + target + ": " + e.getMessage());
      }
    }
  }

  private Object ask(String address, List<String> args) throws IOException {
    int colon = address.lastIndexOf(':');
    try (RespClient c = new RespClient(address.substring(0, colon),
        Integer.parseInt(address.substring(colon + 1)), timeoutMillis)) {
      return c.call(args.toArray(String[]::new));
    }
  }

  /** The primary's RESP address as {@code address}'s INFO names it, or null. */
  private String primaryOf(String address) {
    try {
      Map<String, String> info = StatusCommand.parseInfo((String) ask(address,
          List.of("INFO", "shard")));
      String p = info.get("respawn_primary");
      return p == null || p.equals("none") ? null : p;
    } catch (IOException | RuntimeException e) {
      return null;
    }
  }

  private static void sleep() {
    try {
      Thread.sleep(500);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static int fail(String why) {
    System.err.println("respawn member: " + why);
    return 1;
  }
}
