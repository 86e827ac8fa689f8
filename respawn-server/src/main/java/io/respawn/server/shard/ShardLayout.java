package io.respawn.server.shard;

import io.respawn.core.Role;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * The local shard {@code respawn up} runs: its shape (primaries + backups + witnesses, e.g.
 * {@code 1+1+1}), one data directory per member under a root, consecutive RESP ports from the
 * first one, and peer ports 10000 above them (Redis Cluster's bus offset). {@link #prepare}
 * writes each member's config file; running it again on the same root resumes the same shard
 * (the cluster id is kept in {@code <root>/cluster-id}; a different shape is refused).
 *
 * <pre>
 * data/
 *   cluster-id            the shard's name, made once
 *   shape                 e.g. 1+1+1, checked on every start
 *   spares                how many spares (--spares) ran here: a later start runs at least as many
 *   primary-spares        how many spare primaries (--primary-spares) ran here: likewise
 *   node-1/respawn.conf   member 1's config (ShardConfig format), rewritten on every start
 *   node-1/...            member 1's data
 *   node-2/...
 *   node-4/respawn.conf   a spare's (--spares): join = true, its own member line
 * </pre>
 *
 * <p>Spare witnesses ({@code spares}) take the ids after the members', spare primaries ({@code
 * primarySpares}) the ids after those.
 */
public record ShardLayout(Path root, String bindHost, int firstPort, int backups, int witnesses,
    int spares, int primarySpares) {
  public static final int PEER_PORT_OFFSET = 10_000;
  /** Spare witnesses {@code respawn up --spares} runs at most. */
  public static final int SPARES_MAX = 4;

  public ShardLayout {
    if (backups < 0 || witnesses < 0 || backups + witnesses > 8) {
      throw new IllegalArgumentException("shape 1+" + backups + "+" + witnesses
          + ": backups and witnesses must be >= 0 and at most 8 in all");
    }
    if (spares < 0 || spares > SPARES_MAX) {
      throw new IllegalArgumentException("--spares " + spares + ": between 0 and " + SPARES_MAX);
    }
    if (primarySpares < 0 || primarySpares > SPARES_MAX) {
      throw new IllegalArgumentException("--primary-spares " + primarySpares + ": between 0 and "
          + SPARES_MAX);
    }
    if (firstPort < 1 || firstPort + processes() - 1 + PEER_PORT_OFFSET > 65535) {
      throw new IllegalArgumentException("--port " + firstPort + " leaves no room for "
          + processes() + " RESP ports and their peer ports (+" + PEER_PORT_OFFSET + ")");
    }
  }

  public ShardLayout(Path root, String bindHost, int firstPort, int backups, int witnesses) {
    this(root, bindHost, firstPort, backups, witnesses, 0, 0);
  }

  /**
   * The same shard with {@code n} spare witnesses besides its members: processes with ids after
   * the members' that wait to be added ({@code join = true}); every member's file names them as
   * {@code spare.N}, so the primary adds one in place of a member that stays silent.
   */
  public ShardLayout withSpares(int n) {
    return new ShardLayout(root, bindHost, firstPort, backups, witnesses, n, primarySpares);
  }

  /**
   * The same shard with {@code n} spare primaries too (ids after the spare witnesses'): the
   * primary's spare policy adds one only in place of a lost primary, and the witness that took
   * over gives leadership to it once it is caught up, so the shard has a primary that holds
   * every value in memory (and in its images) again.
   */
  public ShardLayout withPrimarySpares(int n) {
    return new ShardLayout(root, bindHost, firstPort, backups, witnesses, spares, n);
  }

  /** Members and spares: the processes {@code respawn up} runs, ids 1..processes(). */
  public int processes() {
    return members() + spares + primarySpares;
  }

  /** Whether process {@code id} is a spare. */
  public boolean isSpare(int id) {
    return id > members();
  }

  /** Parses {@code P+B+W}; P must be 1. */
  public static ShardLayout of(Path root, String bindHost, int firstPort, String shape) {
    String[] parts = shape.trim().split("\\+");
    if (parts.length != 3) {
      throw new IllegalArgumentException("--shape '" + shape
          + "' is not PRIMARIES+BACKUPS+WITNESSES, e.g. 1+1+1 or 1+2+2");
    }
    int[] n = new int[3];
    for (int i = 0; i < 3; i++) {
      try {
        n[i] = Integer.parseInt(parts[i]);
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("--shape '" + shape + "': '" + parts[i]
            + "' is not a number");
      }
    }
    if (n[0] != 1) {
      throw new IllegalArgumentException("--shape '" + shape + "': a shard has exactly 1 primary");
    }
    return new ShardLayout(root, bindHost, firstPort, n[1], n[2]);
  }

  public String shape() {
    return "1+" + backups + "+" + witnesses;
  }

  public int members() {
    return 1 + backups + witnesses;
  }

  /**
   * Member ids are 1..members(): 1 the primary, then the backups, then the witnesses; spare
   * witnesses follow, then spare primaries.
   */
  public Role roleOf(int id) {
    return id == 1 || id > members() + spares ? Role.PRIMARY
        : id <= 1 + backups ? Role.BACKUP : Role.WITNESS;
  }

  /** A process's line: ROLE RESP_HOST:PORT PEER_HOST:PORT. */
  private String line(int id) {
    int port = respPort(id);
    return roleOf(id).name().toLowerCase(java.util.Locale.ROOT) + ' ' + bindHost + ':' + port
        + ' ' + bindHost + ':' + peerPort(id);
  }

  /** The count a root's file keeps (spares run before), 0 if there is no file yet. */
  private static int countIn(Path file) throws IOException {
    return Files.exists(file)
        ? Integer.parseInt(Files.readString(file, StandardCharsets.UTF_8).trim()) : 0;
  }

  public int respPort(int id) {
    return firstPort + id - 1;
  }

  /** Member (or spare) {@code id}'s peer port: {@link #PEER_PORT_OFFSET} above its RESP port. */
  public int peerPort(int id) {
    return respPort(id) + PEER_PORT_OFFSET;
  }

  public Path memberDir(int id) {
    return root.resolve("node-" + id);
  }

  public Path configFile(int id) {
    return memberDir(id).resolve("respawn.conf");
  }

  /**
   * Creates the directories and writes every member's config; returns the config files in id
   * order. Refuses a root that holds a shard of another shape.
   */
  public List<Path> prepare() throws IOException {
    return prepare(java.util.Map.of());
  }

  /** Keys {@link #prepare} writes itself, which {@code settings} may not set. */
  static final java.util.Set<String> LAYOUT_KEYS = java.util.Set.of("cluster-id", "node-id",
      "data", "bind");

  /**
   * As {@link #prepare()}, and writes {@code settings} (ShardConfig keys such as {@code takeover}
   * or {@code phi-soft}, and those of {@code respawn up --member-config}, in key order) into every
   * member's config; a key the layout writes itself, or a member line, is refused here, and
   * {@link ShardConfig#load} validates the rest.
   */
  public List<Path> prepare(java.util.Map<String, String> settings) throws IOException {
    for (String key : settings.keySet()) {
      if (LAYOUT_KEYS.contains(key) || key.startsWith("member.") || key.startsWith("spare.")
          || key.equals("join") || key.isBlank()
          || key.contains("=") || key.contains("\n") || settings.get(key).contains("\n")) {
        throw new IllegalArgumentException("--member-config " + key + ": 'respawn up' writes this "
            + "key itself (or it is not a key); set it with its own flag");
      }
    }
    Files.createDirectories(root);
    Path shapeFile = root.resolve("shape");
    if (Files.exists(shapeFile)) {
      String existing = Files.readString(shapeFile, StandardCharsets.UTF_8).trim();
      if (!existing.equals(shape())) {
        throw new IllegalArgumentException(root + " holds a shard of shape " + existing
            + ", not " + shape() + ": use --shape " + existing + " or another --data");
      }
    } else {
      Files.writeString(shapeFile, shape() + "\n", StandardCharsets.UTF_8);
    }
    Path sparesFile = root.resolve("spares");
    Path primarySparesFile = root.resolve("primary-spares");
    int ran = countIn(sparesFile);
    int ranPrimaries = countIn(primarySparesFile);
    if (spares < ran) {
      throw new IllegalArgumentException(root + " ran " + ran + " spare(s), which may be members"
          + " of the shard now: use --spares " + ran + " (or more), or another --data");
    }
    if (primarySpares < ranPrimaries) {
      throw new IllegalArgumentException(root + " ran " + ranPrimaries + " spare primar"
          + (ranPrimaries == 1 ? "y" : "ies") + ", which may be members of the shard now: use "
          + "--primary-spares " + ranPrimaries + " (or more), or another --data");
    }
    if (ranPrimaries > 0 && spares != ran) {
      // Spare primaries take the ids after the spare witnesses': more witnesses would give
      // those ids (perhaps members by now, holding a primary's data) the role witness.
      throw new IllegalArgumentException(root + " ran " + ran + " spare witness(es) and "
          + ranPrimaries + " spare primar" + (ranPrimaries == 1 ? "y" : "ies") + " after them"
          + ": --spares must stay " + ran + " (spare primaries' ids would change role); use "
          + "another --data for more spare witnesses");
    }
    Files.writeString(sparesFile, spares + "\n", StandardCharsets.UTF_8);
    Files.writeString(primarySparesFile, primarySpares + "\n", StandardCharsets.UTF_8);
    Path idFile = root.resolve("cluster-id");
    String clusterId;
    if (Files.exists(idFile)) {
      clusterId = Files.readString(idFile, StandardCharsets.UTF_8).trim();
    } else {
      byte[] r = new byte[6];
      new SecureRandom().nextBytes(r);
      clusterId = "local-" + HexFormat.of().formatHex(r);
      Files.writeString(idFile, clusterId + "\n", StandardCharsets.UTF_8);
    }
    List<Path> out = new ArrayList<>();
    for (int id = 1; id <= processes(); id++) {
      Files.createDirectories(memberDir(id));
      StringBuilder b = new StringBuilder();
      b.append("# Written by 'respawn up' on every start; edit the flags of 'respawn up' instead.\n");
      b.append("cluster-id = ").append(clusterId).append('\n');
      b.append("node-id = ").append(id).append('\n');
      b.append("data = .\n");
      b.append("bind = ").append(bindHost).append('\n');
      for (var e : new java.util.TreeMap<>(settings).entrySet()) {
        if (e.getKey().contains("=") || e.getValue().contains("\n")) {
          throw new IllegalArgumentException("setting '" + e.getKey() + "' cannot be written");
        }
        b.append(e.getKey()).append(" = ").append(e.getValue().trim()).append('\n');
      }
      for (int m = 1; m <= members(); m++) {
        b.append("member.").append(m).append(" = ").append(line(m)).append('\n');
      }
      if (isSpare(id)) {
        b.append("join = true\n");
        b.append("member.").append(id).append(" = ").append(line(id)).append('\n');
      }
      for (int m = members() + 1; m <= processes(); m++) {
        if (m != id) {
          b.append("spare.").append(m).append(" = ").append(line(m)).append('\n');
        }
      }
      Path f = configFile(id);
      Files.writeString(f, b.toString(), StandardCharsets.UTF_8);
      out.add(f);
    }
    return out;
  }
}
