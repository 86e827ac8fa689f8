package io.respawn.server.shard;

import io.respawn.core.NodeId;
import io.respawn.core.Replica;
import io.respawn.core.Status;
import io.respawn.node.recovery.ValuePull.PopularityReport;
import io.respawn.node.recovery.ValuePull.PullMessage;
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
 * <p>A report holds at most {@link io.respawn.node.recovery.ValuePull#REPORT_HASHES_MAX} hashes
 * (the sampler drops samples past that until the next drain, and counts them). Only a leader
 * reports: another member's sampler sees no requests (its store refuses reads and writes). A
 * leader that is still recovering values reports nothing (DESIGN §5.3: sampling stays paused
 * during recovery): its requests then are the recovery's priority pulls and the reads that wait
 * for them, and the backups' GC, which would act on a report, is paused for the BatchPull scan.
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
  private final AtomicLong skippedRecovering = new AtomicLong();

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

  /**
   * On the leader, once per interval: sends what was sampled to every voting backup, unless it
   * is {@code recovering} values (then the samples are dropped).
   */
  void tick(Replica replica, boolean recovering, long nowNanos) {
    tick(replica.status() == Status.LEADER, replica.membership().votingBackups(), recovering,
        nowNanos);
  }

  /** {@link #tick(Replica, boolean, long)} with what it reads of the replica. */
  void tick(boolean leading, java.util.Collection<NodeId> votingBackups, boolean recovering,
      long nowNanos) {
    if (nextReportNanos != Long.MIN_VALUE && nowNanos < nextReportNanos) {
      return;
    }
    nextReportNanos = nowNanos + reportIntervalNanos;
    long[] hashes = sampler.drainReport(); // drained on every member: a follower's stays empty
    long samples = sampler.samples();
    if (recovering && leading) {
      sampledAtLastReport = samples;
      if (hashes.length > 0) {
        skippedRecovering.incrementAndGet();
      }
      return;
    }
    if (!leading || hashes.length == 0) {
      return;
    }
    long sampled = samples - sampledAtLastReport;
    sampledAtLastReport = samples;
    reportSeq++;
    for (NodeId backup : votingBackups) {
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

  /** Reports a recovering leader dropped instead of sending. */
  long reportsSkippedRecovering() {
    return skippedRecovering.get();
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
