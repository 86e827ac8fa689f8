package io.respawn.core;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * The shard's configuration: who is a member, in which {@link Role}, voting or learner, and
 * (during joint consensus) the outgoing configuration as well.
 *
 * <p>Simple configuration: {@code outgoing} is empty. Joint configuration C(old,new):
 * {@code incoming} = C(new), {@code outgoing} = C(old); every decision (commit, election, lease)
 * needs a quorum in <em>both</em>. A configuration takes effect on a node as soon as its CONFIG
 * entry is in the node's log, committed or not (Raft's rule).
 *
 * <p>Invariants: member ids are unique within each half; {@code incoming} has at least one
 * voter; a node has one role (it may be voting in one half and a learner or absent in the
 * other).
 */
public final class Membership {
  private final List<Member> incoming;
  private final List<Member> outgoing;
  /*
   * Derived once: the leader asks for these on every commit, lease check and pass, and building
   * them anew each time was a third of a primary's allocation under a write load.
   */
  private final List<List<Member>> halves;
  private final Set<NodeId> allVoters;
  private final Set<NodeId> votingBackups;
  private final List<NodeId> nodes;
  /** {@link #allVoters} in its order; never handed out of the package, never modified. */
  private final NodeId[] voterIds;
  /** Per half: indices into {@link #voterIds} of the half's voters. */
  private final int[][] halfVoters;
  /** Per half: indices into {@link #voterIds} of the half's voting backups. */
  private final int[][] halfBackups;

  /**
   * One member of one half.
   *
   * @param voting false for a learner: it receives the log but counts in no quorum
   * @param address where the member can be reached, opaque to the core (the server writes its
   *     RESP and peer addresses here so that every member learns a member added online); empty
   *     when the members know each other's addresses from elsewhere (the simulator, a static
   *     configuration). At most {@value #ADDRESS_BYTES_MAX} bytes of UTF-8.
   */
  public record Member(NodeId id, Role role, boolean voting, String address) {
    public static final int ADDRESS_BYTES_MAX = 255;

    public Member {
      Objects.requireNonNull(id, "id");
      Objects.requireNonNull(role, "role");
      Objects.requireNonNull(address, "address");
      if (address.getBytes(java.nio.charset.StandardCharsets.UTF_8).length > ADDRESS_BYTES_MAX) {
        throw new IllegalArgumentException("member " + id + "'s address is longer than "
            + ADDRESS_BYTES_MAX + " bytes");
      }
    }

    /** A member whose address is known from elsewhere. */
    public Member(NodeId id, Role role, boolean voting) {
      this(id, role, voting, "");
    }

    /** The same member, voting or not. */
    public Member withVoting(boolean v) {
      return new Member(id, role, v, address);
    }

    public static Member voter(int id, Role role) {
      return new Member(NodeId.of(id), role, true);
    }

    public static Member learner(int id, Role role) {
      return new Member(NodeId.of(id), role, false);
    }
  }

  /**
   * @param incoming C(new), or the whole configuration when simple
   * @param outgoing C(old) while joint, else empty
   */
  public Membership(List<Member> incoming, List<Member> outgoing) {
    incoming = List.copyOf(incoming);
    outgoing = List.copyOf(outgoing);
    this.incoming = incoming;
    this.outgoing = outgoing;
    checkHalf(incoming, "incoming");
    checkHalf(outgoing, "outgoing");
    if (incoming.stream().noneMatch(Member::voting)) {
      throw new IllegalArgumentException("configuration needs at least one voter: " + incoming);
    }
    for (Member a : incoming) {
      for (Member b : outgoing) {
        if (a.id().equals(b.id()) && a.role() != b.role()) {
          throw new IllegalArgumentException("node " + a.id() + " changes role across halves");
        }
      }
    }
    halves = outgoing.isEmpty() ? List.of(incoming) : List.of(incoming, outgoing);
    Set<NodeId> voters = new LinkedHashSet<>(voters(incoming));
    voters.addAll(voters(outgoing));
    allVoters = Collections.unmodifiableSet(voters);
    Set<NodeId> backups = new LinkedHashSet<>();
    Set<NodeId> all = new LinkedHashSet<>();
    for (List<Member> half : halves) {
      for (Member m : half) {
        if (m.voting() && m.role() == Role.BACKUP) {
          backups.add(m.id());
        }
      }
    }
    incoming.forEach(m -> all.add(m.id()));
    outgoing.forEach(m -> all.add(m.id()));
    votingBackups = Collections.unmodifiableSet(backups);
    nodes = List.copyOf(all);
    voterIds = voters.toArray(new NodeId[0]);
    halfVoters = new int[halves.size()][];
    halfBackups = new int[halves.size()][];
    for (int h = 0; h < halves.size(); h++) {
      List<Member> half = halves.get(h);
      halfVoters[h] = half.stream().filter(Member::voting)
          .mapToInt(m -> voterIndex(m.id())).toArray();
      halfBackups[h] = half.stream().filter(m -> m.voting() && m.role() == Role.BACKUP)
          .mapToInt(m -> voterIndex(m.id())).toArray();
    }
  }

  /** C(new), or the whole configuration when simple. */
  public List<Member> incoming() {
    return incoming;
  }

  /** C(old) while joint, else empty. */
  public List<Member> outgoing() {
    return outgoing;
  }

  /** Position of {@code id} in {@link #voterIds}, -1 if it votes in no half. */
  int voterIndex(NodeId id) {
    for (int i = 0; i < voterIds.length; i++) {
      if (voterIds[i].equals(id)) {
        return i;
      }
    }
    return -1;
  }

  /** The voters in {@link #allVoters} order (shared: callers must not modify it). */
  NodeId[] voterIds() {
    return voterIds;
  }

  /** Indices into {@link #voterIds} of half {@code h}'s voters (shared, not to be modified). */
  int[] halfVoters(int h) {
    return halfVoters[h];
  }

  /** Indices into {@link #voterIds} of half {@code h}'s voting backups (shared). */
  int[] halfBackups(int h) {
    return halfBackups[h];
  }

  private static void checkHalf(List<Member> half, String name) {
    Set<NodeId> seen = new LinkedHashSet<>();
    for (Member m : half) {
      if (!seen.add(m.id())) {
        throw new IllegalArgumentException("duplicate member " + m.id() + " in " + name);
      }
    }
  }

  /** A simple (non-joint) configuration. */
  public static Membership of(List<Member> members) {
    return new Membership(members, List.of());
  }

  /** A simple configuration from members. */
  public static Membership of(Member... members) {
    return of(List.of(members));
  }

  /** The joint configuration moving from {@code from} (must be simple) to {@code to}. */
  public static Membership joint(Membership from, List<Member> to) {
    if (from.isJoint()) {
      throw new IllegalArgumentException("already joint: " + from);
    }
    return new Membership(to, from.incoming);
  }

  public boolean isJoint() {
    return !outgoing.isEmpty();
  }

  /** The simple configuration this joint one leads to. */
  public Membership leaveJoint() {
    return of(incoming);
  }

  /** Every node in either half, in a stable order. */
  public List<NodeId> nodes() {
    return nodes;
  }

  /** The member record for {@code id} (incoming half preferred). */
  public Optional<Member> member(NodeId id) {
    for (Member m : incoming) {
      if (m.id().equals(id)) {
        return Optional.of(m);
      }
    }
    for (Member m : outgoing) {
      if (m.id().equals(id)) {
        return Optional.of(m);
      }
    }
    return Optional.empty();
  }

  public boolean contains(NodeId id) {
    return member(id).isPresent();
  }

  /** Voting in at least one half. */
  public boolean isVoter(NodeId id) {
    return allVoters.contains(id);
  }

  /** The role of {@code id}; throws if not a member. */
  public Role role(NodeId id) {
    return member(id).orElseThrow(() -> new IllegalArgumentException(id + " not a member")).role();
  }

  /** The halves that quorums are computed over: one when simple, two when joint. */
  public List<List<Member>> halves() {
    return halves;
  }

  static Set<NodeId> voters(List<Member> half) {
    Set<NodeId> s = new LinkedHashSet<>();
    for (Member m : half) {
      if (m.voting()) {
        s.add(m.id());
      }
    }
    return s;
  }

  /** Voters that are backups, in either half. */
  public Set<NodeId> votingBackups() {
    return votingBackups;
  }

  /** Voters in either half. */
  public Set<NodeId> allVoters() {
    return allVoters;
  }

  /** Learners: members that vote in no half. */
  public List<NodeId> learners() {
    List<NodeId> out = new ArrayList<>();
    for (NodeId id : nodes()) {
      if (!isVoter(id)) {
        out.add(id);
      }
    }
    return out;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Membership m && incoming.equals(m.incoming) && outgoing.equals(m.outgoing);
  }

  @Override
  public int hashCode() {
    return 31 * incoming.hashCode() + outgoing.hashCode();
  }

  @Override
  public String toString() {
    StringBuilder sb = new StringBuilder("{");
    appendHalf(sb, incoming);
    if (isJoint()) {
      sb.append(" <- ");
      appendHalf(sb, outgoing);
    }
    return sb.append('}').toString();
  }

  private static void appendHalf(StringBuilder sb, List<Member> half) {
    sb.append('[');
    for (int i = 0; i < half.size(); i++) {
      Member m = half.get(i);
      if (i > 0) {
        sb.append(' ');
      }
      sb.append(m.id()).append(':').append(m.role().name().charAt(0));
      if (!m.voting()) {
        sb.append("(l)");
      }
    }
    sb.append(']');
  }
}
