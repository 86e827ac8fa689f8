package io.respawn.server.shard;

import io.respawn.core.Membership;
import io.respawn.core.Membership.Member;
import io.respawn.core.NodeId;
import io.respawn.server.shard.ShardConfig.MemberAddress;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where every member of the shard can be reached, as the current membership says: a member
 * record's own addresses (members added online carry them, see {@link ShardConfig#addressText}),
 * else this member's config file. Starts from the config file's members; {@link #update} follows
 * the membership as it changes (members added online appear, removed ones disappear), so
 * redirects, INFO and the peer transport name the shard as it is now.
 *
 * <p>Updated by the node loop thread; read from any thread (one volatile, immutable map).
 */
final class MemberDirectory {
  private static final Logger log = LoggerFactory.getLogger(MemberDirectory.class);

  private final ShardConfig config;
  private volatile Map<NodeId, MemberAddress> members;

  MemberDirectory(ShardConfig config) {
    this.config = config;
    this.members = Map.copyOf(config.members());
  }

  /**
   * Takes {@code membership} as the shard's members now; returns every other member's peer
   * address (what the transport should dial and accept). A member with no address anywhere is
   * left out and logged (it cannot be reached until its record carries one).
   */
  Map<NodeId, InetSocketAddress> update(Membership membership) {
    Map<NodeId, MemberAddress> next = new TreeMap<>();
    for (NodeId id : membership.nodes()) {
      Member m = membership.member(id).orElseThrow();
      MemberAddress a;
      try {
        a = ShardConfig.fromMember(m);
      } catch (IllegalArgumentException e) {
        log.warn("{}; using the config file's address if it has one", e.getMessage());
        a = null;
      }
      if (a == null) {
        MemberAddress configured = config.members().get(id);
        a = configured == null ? null
            : new MemberAddress(id, m.role(), configured.resp(), configured.peer());
      }
      if (a == null) {
        log.warn("member {} has no known address; it cannot be reached", id);
        continue;
      }
      next.put(id, a);
    }
    members = Map.copyOf(next);
    Map<NodeId, InetSocketAddress> peers = new TreeMap<>();
    next.forEach((id, a) -> {
      if (!id.equals(config.self())) {
        peers.put(id, a.peer());
      }
    });
    return peers;
  }

  /** The member's addresses, or null when it is not a member (any more). */
  MemberAddress get(NodeId id) {
    return members.get(id);
  }

  /** Every member, by id. */
  List<MemberAddress> ordered() {
    return List.copyOf(new TreeMap<>(members).values());
  }
}
