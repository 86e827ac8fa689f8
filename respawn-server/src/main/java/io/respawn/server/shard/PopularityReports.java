package io.respawn.server.shard;

import io.respawn.core.NodeId;
import io.respawn.core.Replica;
import io.respawn.core.Status;
import io.respawn.server.peer.ValuePull.PopularityReport;
import io.respawn.server.peer.ValuePull.PullMessage;
import io.respawn.storage.backup.PopularitySampler;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * Popularity end to end (DESIGN §3): on the primary, the {@link PopularitySampler} the command
 * layer feeds ({@link ReplicatedStore} samples every read and written key with a small
 * probability) is drained every {@code reportIntervalNanos} into one {@link PopularityReport}
 * per voting backup, sent on the value-pull channel; on a backup, a report that arrives goes to
 * the state machine, whose backup store feeds its most-popular set, which writeback and GC
 * consult to place records in the hot or the cold log.
 *
 * <p>A report holds at most {@link io.respawn.server.peer.ValuePull#REPORT_HASHES_MAX} hashes
 * (the sampler drops samples past that until the next drain, and counts them). Only a leader
 * reports: another member's sampler sees no requests (its store refuses reads and writes).
 *
 * <p>Owned by the node loop thread; the counters may be read from any thread.
 */
final class PopularityReports {
  private final NodeId self;
  private final PopularitySampler sampler;
  private final long reportIntervalNanos;
  private final EngineStateMachine stateMachine;
  private final Consumer<PullMessage> send;
  private long nextReportNanos = Long.MIN_VALUE;
  private long reportSeq;
  private long sampledAtLastReport;
  private final AtomicLong sent = new AtomicLong();
  private final AtomicLong received = new AtomicLong();
  private final AtomicLong hashesReceived = new AtomicLong();

  /**
   * @param sampler the primary's sampler (the same one the command layer observes into)
   * @param reportIntervalNanos how often a leader drains it into reports, > 0
   */
  PopularityReports(NodeId self, PopularitySampler sampler, long reportIntervalNanos,
      EngineStateMachine stateMachine, Consumer<PullMessage> send) {
    if (reportIntervalNanos <= 0) {
      throw new IllegalArgumentException(
          "reportIntervalNanos " + reportIntervalNanos + " must be > 0");
    }
    this.self = self;
    this.sampler = sampler;
    this.reportIntervalNanos = reportIntervalNanos;
    this.stateMachine = stateMachine;
    this.send = send;
  }

  /** On the leader, once per interval: sends what was sampled to every voting backup. */
  void tick(Replica replica, long nowNanos) {
    if (nextReportNanos != Long.MIN_VALUE && nowNanos < nextReportNanos) {
      return;
    }
    nextReportNanos = nowNanos + reportIntervalNanos;
    long[] hashes = sampler.drainReport(); // drained on every member: a follower's stays empty
    if (replica.status() != Status.LEADER || hashes.length == 0) {
      return;
    }
    long samples = sampler.samples();
    long sampled = samples - sampledAtLastReport;
    sampledAtLastReport = samples;
    reportSeq++;
    for (NodeId backup : replica.membership().votingBackups()) {
      if (!backup.equals(self)) {
        send.accept(new PopularityReport(self, backup, reportSeq, sampled, hashes));
        sent.incrementAndGet();
      }
    }
  }

  /** A report from the primary: its hashes feed this member's backup store, if it has one. */
  void onReport(PopularityReport report) {
    received.incrementAndGet();
    hashesReceived.addAndGet(report.keyHashes().length);
    stateMachine.reportPopularity(report.keyHashes());
  }

  long reportsSent() {
    return sent.get();
  }

  long reportsReceived() {
    return received.get();
  }

  long hashesReceived() {
    return hashesReceived.get();
  }
}
