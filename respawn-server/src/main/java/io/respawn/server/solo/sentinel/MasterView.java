package io.respawn.server.solo.sentinel;

import java.util.List;
import java.util.Set;

/**
 * One watched master as the monitor sees it at one moment: what SENTINEL MASTER answers (Redis'
 * field names in brackets). Ages are milliseconds before the moment the view was taken.
 *
 * @param name the service name clients ask for ({@code name}); no space or control character
 * @param address where clients write now ({@code ip}, {@code port})
 * @param runId the serving node's run id, or "" if not known yet ({@code runid})
 * @param flags its states besides being a master ({@code flags})
 * @param quorum monitors that must agree it is down ({@code quorum}), at least 1
 * @param configEpoch increases with every failover ({@code config-epoch})
 * @param downAfterMillis the detector's timeout ({@code down-after-milliseconds})
 * @param failoverTimeoutMillis how long a failover may take ({@code failover-timeout})
 * @param lastOkPingAgoMillis since the last heartbeat the node answered ({@code last-ok-ping-reply})
 * @param downAgoMillis since the detector first suspected it ({@code s-down-time}, {@code
 *     o-down-time}); 0 unless flagged down
 * @param failoverState the step a failover under way is at ({@code failover-state}), "" if none
 * @param replicas instances that hold this master's data and serve reads ({@code num-slaves})
 * @param otherSentinels other monitors watching it ({@code num-other-sentinels})
 */
public record MasterView(
    String name,
    HostPort address,
    String runId,
    Set<InstanceFlag> flags,
    int quorum,
    long configEpoch,
    long downAfterMillis,
    long failoverTimeoutMillis,
    long lastOkPingAgoMillis,
    long downAgoMillis,
    String failoverState,
    List<ReplicaView> replicas,
    List<SentinelPeer> otherSentinels) {

  public MasterView {
    SentinelEvent.requireWord("name", name);
    if (address == null) {
      throw new IllegalArgumentException("master " + name + " needs an address");
    }
    if (quorum < 1) {
      throw new IllegalArgumentException("quorum must be at least 1, got " + quorum);
    }
    if (configEpoch < 0 || downAfterMillis < 0 || failoverTimeoutMillis < 0
        || lastOkPingAgoMillis < 0 || downAgoMillis < 0) {
      throw new IllegalArgumentException("master " + name + ": epochs and times are not negative");
    }
    runId = runId == null ? "" : runId;
    failoverState = failoverState == null ? "" : failoverState;
    flags = Set.copyOf(flags);
    replicas = List.copyOf(replicas);
    otherSentinels = List.copyOf(otherSentinels);
  }

  /** A healthy master with no replicas and no other sentinel: what a solo deployment has. */
  public static MasterView serving(String name, HostPort address, int quorum, long configEpoch,
      long downAfterMillis, long failoverTimeoutMillis) {
    return new MasterView(name, address, "", Set.of(), quorum, configEpoch, downAfterMillis,
        failoverTimeoutMillis, 0, 0, "", List.of(), List.of());
  }

  /** This view with the master at {@code newAddress} and the next config epoch. */
  public MasterView switchedTo(HostPort newAddress) {
    return new MasterView(name, newAddress, "", Set.of(), quorum, configEpoch + 1,
        downAfterMillis, failoverTimeoutMillis, 0, 0, "", replicas, otherSentinels);
  }

  /** This view with {@code newFlags} (and the time since the node went down). */
  public MasterView withFlags(Set<InstanceFlag> newFlags, long newDownAgoMillis) {
    return new MasterView(name, address, runId, newFlags, quorum, configEpoch, downAfterMillis,
        failoverTimeoutMillis, lastOkPingAgoMillis, newDownAgoMillis, failoverState, replicas,
        otherSentinels);
  }

  /**
   * One replica ({@code SENTINEL REPLICAS}).
   *
   * @param linkOk whether its replication link to the master is up ({@code master-link-status})
   * @param replOffset replication offset reached ({@code slave-repl-offset})
   * @param priority promotion priority, 0 never ({@code slave-priority})
   */
  public record ReplicaView(HostPort address, String runId, Set<InstanceFlag> flags,
      boolean linkOk, long replOffset, int priority) {
    public ReplicaView {
      if (address == null) {
        throw new IllegalArgumentException("a replica needs an address");
      }
      runId = runId == null ? "" : runId;
      flags = Set.copyOf(flags);
    }
  }

  /**
   * Another monitor watching the same master ({@code SENTINEL SENTINELS}).
   *
   * @param lastHelloAgoMillis since its last hello ({@code last-hello-message})
   */
  public record SentinelPeer(HostPort address, String runId, Set<InstanceFlag> flags,
      long lastHelloAgoMillis) {
    public SentinelPeer {
      if (address == null) {
        throw new IllegalArgumentException("a sentinel needs an address");
      }
      runId = runId == null ? "" : runId;
      flags = Set.copyOf(flags);
    }
  }
}
