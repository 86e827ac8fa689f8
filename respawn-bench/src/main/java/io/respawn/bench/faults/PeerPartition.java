package io.respawn.bench.faults;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntUnaryOperator;

/**
 * Network partitions between shard members on one machine's loopback, for the fault campaign:
 * a member cut off from the others (both directions), or one member's messages to another
 * dropped while the other way still flows. Clients are never cut off: they keep reaching every
 * member, so a member that was the primary when it was cut off still receives commands, which is
 * what a partition tests (a stale read or a lost write there is a violation the campaign's
 * checker sees).
 *
 * <p>How. Each member runs in a cgroup (version 2) of its own, {@code
 * <cgroup2 mount>/respawn-faults-<pid>/m<id>}, which a shell wrapper joins before it becomes the
 * member's JVM ({@link #wrap}), so every socket the member opens is tagged with it. A partition
 * is a set of iptables rules: in the chain {@code RESPAWN-FAULTS-<pid>} (jumped to from {@code
 * OUTPUT}, loopback TCP only), rules that mark what one member's sockets send to another
 * member's peer port with this campaign's mark, and in {@code RESPAWN-FAULTS-<pid>-IN} (jumped
 * to from {@code INPUT}) one rule that drops marked packets. Members send protocol messages
 * only on connections they dialled (docs/shard.md, "Between members"), so A's packets to B's
 * peer port are all that A tells B, whatever A's ephemeral port is; the pair of rules silences
 * both ways. Dropped on the way in, not refused and not on the way out: the sender's kernel
 * believes the packet left, as on a real network, so TCP backs off its retransmissions
 * exponentially (a drop in {@code OUTPUT} is a local failure, which Linux retries every 500 ms
 * without backing off, and would hide what a long partition does to a connection). Each side
 * sees the other go silent, as with a cut cable; TCP retransmits what was in flight once the
 * rules are gone ({@link #heal}), at its next backed-off attempt.
 *
 * <p>Worst case: a campaign killed before {@link #close} leaves its chain, its jump and its
 * cgroups behind; the rules only ever match its own (dead) members' cgroups, and the next
 * campaign removes what belongs to campaigns whose process is gone. Needs root, {@code
 * iptables} (Debian package {@code iptables}) and a cgroup2 mount; {@link #missing} says which
 * is missing. Not thread-safe: the campaign's event thread owns it.
 */
final class PeerPartition implements AutoCloseable {
  private static final String CHAIN_PREFIX = "RESPAWN-FAULTS-";
  private static final String CGROUP_PREFIX = "respawn-faults-";
  private static final String INPUT_SUFFIX = "-IN";

  private final int members;
  private final IntUnaryOperator peerPortOf;
  private final Path cgroupRoot;
  private final String group;
  private final String chain;
  private final String inputChain;
  private final String mark;
  private boolean cut;

  private PeerPartition(int members, IntUnaryOperator peerPortOf, Path cgroupRoot) {
    this.members = members;
    this.peerPortOf = peerPortOf;
    this.cgroupRoot = cgroupRoot;
    long pid = ProcessHandle.current().pid();
    this.group = CGROUP_PREFIX + pid;
    this.chain = CHAIN_PREFIX + pid;
    this.inputChain = chain + INPUT_SUFFIX;
    // One mark per campaign (its pid's low 24 bits under a fixed top byte).
    this.mark = "0x" + Long.toHexString(0x5e000000L | (pid & 0xffffffL));
  }

  /**
   * Prepares partitions among members {@code 1..members} whose peer ports {@code peerPortOf}
   * gives: a cgroup per member and an empty chain. Throws {@link IllegalStateException} naming
   * what this machine lacks.
   */
  static PeerPartition open(int members, IntUnaryOperator peerPortOf)
      throws IOException, InterruptedException {
    String missing = missing();
    if (missing != null) {
      throw new IllegalStateException(missing);
    }
    Path root = cgroup2Mount();
    removeLeftovers(root);
    PeerPartition p = new PeerPartition(members, peerPortOf, root);
    for (int id = 1; id <= members; id++) {
      Files.createDirectories(p.memberGroupDir(id));
    }
    p.iptables("-N", p.chain);
    p.iptables("-N", p.inputChain);
    p.iptables("-A", p.inputChain, "-m", "mark", "--mark", p.mark, "-j", "DROP");
    p.iptables("-I", "INPUT", "-i", "lo", "-p", "tcp", "-j", p.inputChain);
    p.iptables("-I", "OUTPUT", "-o", "lo", "-p", "tcp", "-j", p.chain);
    return p;
  }

  /** What this machine lacks for partitions, in one line, or null when it has everything. */
  static String missing() throws IOException, InterruptedException {
    if (!Integer.valueOf(0).equals(Files.getAttribute(Path.of("/proc/self"), "unix:uid"))) {
      return "partition faults need root (iptables rules and cgroups)";
    }
    if (run(List.of("iptables", "-V")) != 0) {
      return "partition faults need iptables (Debian package iptables;"
          + " scripts/install-test-deps.sh installs it)";
    }
    if (cgroup2Mount() == null) {
      return "partition faults need a cgroup2 file system mounted (none in /proc/mounts)";
    }
    return null;
  }

  /**
   * The member's command, run so that it first joins the member's cgroup: {@code sh -c 'echo $$
   * > PROCS && exec "$@"'}, so the supervisor's pid for it is the JVM's.
   */
  ProcessBuilder wrap(int id, ProcessBuilder member) {
    List<String> cmd = new ArrayList<>();
    cmd.add("sh");
    cmd.add("-c");
    cmd.add("echo $$ > \"$0\" && exec \"$@\"");
    cmd.add(memberGroupDir(id).resolve("cgroup.procs").toString());
    cmd.addAll(member.command());
    member.command(cmd);
    return member;
  }

  /**
   * Member {@code id} hears nothing from the others and they nothing from it, until {@link
   * #heal}.
   */
  void isolate(int id) throws IOException, InterruptedException {
    for (int other = 1; other <= members; other++) {
      if (other != id) {
        drop(id, other);
        drop(other, id);
      }
    }
  }

  /** What member {@code from} sends to member {@code to} is lost, until {@link #heal}. */
  void dropOneWay(int from, int to) throws IOException, InterruptedException {
    drop(from, to);
  }

  /** Removes every cut: members hear each other again (TCP retransmits what was lost). */
  void heal() throws IOException, InterruptedException {
    if (cut) {
      iptables("-F", chain);
      cut = false;
    }
  }

  /** Heals, removes the chain and its jump, and the cgroups once their members are gone. */
  @Override
  public void close() throws IOException, InterruptedException {
    heal();
    removeChain(chain);
    removeChain(inputChain);
    removeGroups(cgroupRoot.resolve(group));
  }

  private void drop(int from, int to) throws IOException, InterruptedException {
    iptables("-A", chain, "-o", "lo", "-p", "tcp", "-m", "cgroup", "--path",
        group + "/m" + from, "--dport", Integer.toString(peerPortOf.applyAsInt(to)), "-j", "MARK",
        "--set-mark", mark);
    cut = true;
  }

  private Path memberGroupDir(int id) {
    return cgroupRoot.resolve(group).resolve("m" + id);
  }

  private void iptables(String... args) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>(List.of("iptables", "-w"));
    cmd.addAll(List.of(args));
    if (run(cmd) != 0) {
      throw new IOException("failed: " + String.join(" ", cmd));
    }
  }

  /** Runs a command, its output discarded; its exit code. */
  private static int run(List<String> cmd) throws InterruptedException {
    try {
      return new ProcessBuilder(cmd).redirectErrorStream(true)
          .redirectOutput(ProcessBuilder.Redirect.DISCARD).start().waitFor();
    } catch (IOException e) {
      return -1; // not installed
    }
  }

  /** The mount point of the first cgroup2 file system, or null. */
  private static Path cgroup2Mount() throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc/mounts"), StandardCharsets.UTF_8)) {
      String[] f = line.split(" ");
      if (f.length > 2 && f[2].equals("cgroup2")) {
        return Path.of(f[1]);
      }
    }
    return null;
  }

  /** Chains and cgroups of campaigns whose process is gone. */
  private static void removeLeftovers(Path cgroupRoot) throws IOException, InterruptedException {
    Process p = new ProcessBuilder("iptables", "-w", "-S").redirectErrorStream(true).start();
    String rules = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    p.waitFor();
    for (String line : rules.split("\n")) {
      if (line.startsWith("-N " + CHAIN_PREFIX)) {
        String name = line.substring(3).trim();
        String pid = name.substring(CHAIN_PREFIX.length());
        if (pid.endsWith(INPUT_SUFFIX)) {
          pid = pid.substring(0, pid.length() - INPUT_SUFFIX.length());
        }
        if (!alive(pid)) {
          removeChain(name);
        }
      }
    }
    try (var dirs = Files.list(cgroupRoot)) {
      for (Path d : dirs.toList()) {
        String n = d.getFileName().toString();
        if (n.startsWith(CGROUP_PREFIX) && !alive(n.substring(CGROUP_PREFIX.length()))) {
          removeGroups(d);
        }
      }
    }
  }

  private static boolean alive(String pid) {
    try {
      return ProcessHandle.of(Long.parseLong(pid)).isPresent();
    } catch (NumberFormatException e) {
      return true; // not ours to judge
    }
  }

  private static void removeChain(String name) throws InterruptedException {
    boolean in = name.endsWith(INPUT_SUFFIX);
    // The jump may be there more than once only if someone added it by hand: remove all.
    while (run(List.of("iptables", "-w", "-D", in ? "INPUT" : "OUTPUT", in ? "-i" : "-o", "lo",
        "-p", "tcp", "-j", name)) == 0) {
      // removed one
    }
    run(List.of("iptables", "-w", "-F", name));
    run(List.of("iptables", "-w", "-X", name));
  }

  /** Removes a campaign's cgroup directories; those still holding a process stay. */
  private static void removeGroups(Path dir) throws IOException {
    if (!Files.isDirectory(dir)) {
      return;
    }
    try (var children = Files.list(dir)) {
      for (Path c : children.toList()) {
        if (Files.isDirectory(c)) {
          try {
            Files.delete(c);
          } catch (IOException e) {
            // a process is still in it (a member not stopped yet): left for the next campaign
          }
        }
      }
    }
    try {
      Files.delete(dir);
    } catch (IOException e) {
      // not empty: left for the next campaign
    }
  }
}
