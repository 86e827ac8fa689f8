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
public record Membership(List<Member> incoming, List<Member> outgoing) {

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

  public Membership {
    incoming = List.copyOf(incoming);
    outgoing = List.copyOf(outgoing);
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
    Set<NodeId> s = new LinkedHashSet<>();
    incoming.forEach(m -> s.add(m.id()));
    outgoing.forEach(m -> s.add(m.id()));
    return List.copyOf(s);
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
    return voters(incoming).contains(id) || voters(outgoing).contains(id);
  }

  /** The role of {@code id}; throws if not a member. */
  public Role role(NodeId id) {
    return member(id).orElseThrow(() -> new IllegalArgumentException(id + " not a member")).role();
  }

  /** The halves that quorums are computed over: one when simple, two when joint. */
  public List<List<Member>> halves() {
    return isJoint() ? List.of(incoming, outgoing) : List.of(incoming);
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
    Set<NodeId> s = new LinkedHashSet<>();
    for (List<Member> half : halves()) {
      for (Member m : half) {
        if (m.voting() && m.role() == Role.BACKUP) {
          s.add(m.id());
        }
      }
    }
    return Collections.unmodifiableSet(s);
  }

  /** Voters in either half. */
  public Set<NodeId> allVoters() {
    Set<NodeId> s = new LinkedHashSet<>(voters(incoming));
    s.addAll(voters(outgoing));
    return Collections.unmodifiableSet(s);
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
