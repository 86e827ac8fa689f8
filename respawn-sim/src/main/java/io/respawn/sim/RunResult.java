package io.respawn.sim;

import io.respawn.sim.invariant.Violation;
import io.respawn.sim.lin.Verdict;
import java.util.List;

/**
 * What one seed's run produced.
 *
 * @param seed the seed
 * @param events events run (faulty phase plus settling and final reads)
 * @param virtualMillis virtual time at the end
 * @param violations broken properties (empty for a clean run)
 * @param operations client operations in the history
 * @param acknowledgedWrites writes acknowledged to clients
 * @param linearizability the checker's verdict (UNKNOWN: search bound hit, not a violation)
 * @param linearizabilityStates states the checker explored
 * @param description shape, faults and node states, printed when the run failed
 */
public record RunResult(
    long seed,
    long events,
    long virtualMillis,
    List<Violation> violations,
    int operations,
    int acknowledgedWrites,
    Verdict linearizability,
    long linearizabilityStates,
    Stats stats,
    String description) {

  /**
   * What the run exercised.
   *
   * @param crashes node crashes
   * @param crashesLosingWrites crashes whose disk lost at least one unsynced batch
   * @param highestTerm highest term any node led
   * @param leaseReads reads the core allowed under a lease
   * @param membershipChanges membership changes started
   * @param standIns witnesses that stood in for a down backup
   * @param messagesDropped messages the network lost
   * @param machineCrashes crashes that were machine crashes (the others were kill -9)
   * @param durableAcks writes acknowledged DURABLE
   * @param orderedLosses committed entries lost as the ORDERED statement allows (a write-quorum
   *     member lost its copy in a machine crash)
   * @param lossesWithSurvivor of those, losses where some member of the committing write quorum
   *     still held its copy
   * @param transfers leadership transfers the nemesis started
   * @param hardTimeoutSeeds runs with a phi detector and hard-timeout takeover
   * @param speculativeSeeds runs with a phi detector and speculative takeover
   * @param primaryStalls pauses the nemesis aimed at the primary
   * @param primaryStallsPastLease of those, pauses longer than the lease
   * @param warmUps warm-ups a speculative witness reported done
   * @param snapshotsKept snapshot images nodes kept (each compacts that node's log)
   * @param snapshotsInstalled snapshots nodes received from a leader and installed
   * @param asyncFsyncs fsyncs the segmented log ran on a node's virtual-time executor
   *     (FsyncMode ASYNC)
   * @param asyncFsyncWaits of those, fsyncs a call on the node's thread had to wait for (it ran
   *     them itself and the node was busy until they would have ended)
   * @param snapshotTransfers snapshot transfers senders started
   * @param snapshotChunksSent snapshot chunks sent (first sends and resends)
   * @param snapshotChunksIgnored chunks receivers ignored (out of order, repeated, of an older
   *     image): each answered with the verified offset, where the transfer resumes
   * @param durableAcksTimed DURABLE acknowledgements after the faults stopped, timed from their
   *     entry's flush on a write quorum (durable-ack-late)
   * @param durableAckLatencyMaxMicros the longest of those times, in virtual microseconds (a max
   *     over seeds when summed)
   * @param fuzzyImagesKept of the images kept, those whose walk saw entries applied after its
   *     index (effects through a later index)
   * @param durableFlushesTimed DURABLE writes after the faults stopped, timed from written to
   *     flushed on a write quorum (durable-flush-late)
   * @param durableFlushLatencyMaxMicros the longest of those times, in virtual microseconds (a
   *     max over seeds when summed)
   * @param tightProposalSeeds runs whose runtimes had tight bounds on client writes ({@link
   *     SimProposalLimits#TIGHT})
   * @param queueFullRefusals client writes the runtimes refused QUEUE_FULL (each checked by
   *     queue-full-unjustified)
   * @param leaderStandIns stand-ins leaders started by themselves for a silent backup ({@code
   *     standInAfterMillis})
   * @param leaderStandInsEnded of those, stand-ins their leader ended once the backup had caught
   *     up (each checked by stand-in-ended-covered)
   * @param leaderHandBacks stand-ins their leader began to hand back (the backup had caught up;
   *     from then on writes needed it as well), each end checked by stand-in-ended-covered
   * @param leaderStandInsMoved stand-ins their leader moved to another witness because the one
   *     standing in fell silent too
   * @param spareSeeds runs in which the primary's spare policy changed the membership
   * @param spareSteps membership changes that policy proposed (add, promote, remove)
   * @param membersReplaced voters it removed as silent after a spare took their place (each
   *     checked by replaced-while-heard)
   * @param ticksWhenDueSeeds runs whose nodes ticked only when their runtime said something was
   *     due ({@code SimConfig.ticksWhenDue})
   * @param ticksSkipped driver ticks those nodes skipped (each checked by tick-skipped-when-due)
   * @param valueRecoveries recoveries that ended with every value here (the server's {@code
   *     ValueRecovery}: a new primary pulled what it held only as timestamps)
   * @param valuesPulled values new primaries installed from pulls
   * @param commandsHeldForValues client commands that waited for a value pull
   * @param offlineRecoverySeeds runs whose nodes recovered offline (serving nothing until every
   *     value was here)
   * @param giveBacks leaders (not the configured primary) that began to give leadership back to
   *     it (the server's {@code LeadershipHandOver})
   * @param drainTransfers leadership transfers drains ended in
   * @param primariesStranded runs that ended with the configured primary up and a voter but
   *     behind a witness leader's log start, which no member could catch up (exempt from
   *     primary-not-given-back)
   */
  public record Stats(long crashes, long crashesLosingWrites, long highestTerm, long leaseReads,
      long membershipChanges, long standIns, long messagesDropped, long machineCrashes,
      long durableAcks, long orderedLosses, long lossesWithSurvivor, long transfers,
      long hardTimeoutSeeds, long speculativeSeeds, long primaryStalls,
      long primaryStallsPastLease, long warmUps, long snapshotsKept, long snapshotsInstalled,
      long asyncFsyncs, long asyncFsyncWaits, long snapshotTransfers, long snapshotChunksSent,
      long snapshotChunksIgnored, long durableAcksTimed, long durableAckLatencyMaxMicros,
      long fuzzyImagesKept, long durableFlushesTimed, long durableFlushLatencyMaxMicros,
      long tightProposalSeeds, long queueFullRefusals, long leaderStandIns,
      long leaderStandInsEnded, long leaderHandBacks, long leaderStandInsMoved,
      long spareSeeds, long spareSteps, long membersReplaced, long ticksWhenDueSeeds,
      long ticksSkipped, long valueRecoveries, long valuesPulled, long commandsHeldForValues,
      long offlineRecoverySeeds, long giveBacks, long drainTransfers, long primariesStranded) {

    public Stats plus(Stats o) {
      return new Stats(crashes + o.crashes, crashesLosingWrites + o.crashesLosingWrites,
          Math.max(highestTerm, o.highestTerm), leaseReads + o.leaseReads,
          membershipChanges + o.membershipChanges, standIns + o.standIns,
          messagesDropped + o.messagesDropped, machineCrashes + o.machineCrashes,
          durableAcks + o.durableAcks, orderedLosses + o.orderedLosses,
          lossesWithSurvivor + o.lossesWithSurvivor, transfers + o.transfers,
          hardTimeoutSeeds + o.hardTimeoutSeeds, speculativeSeeds + o.speculativeSeeds,
          primaryStalls + o.primaryStalls, primaryStallsPastLease + o.primaryStallsPastLease,
          warmUps + o.warmUps, snapshotsKept + o.snapshotsKept,
          snapshotsInstalled + o.snapshotsInstalled, asyncFsyncs + o.asyncFsyncs,
          asyncFsyncWaits + o.asyncFsyncWaits, snapshotTransfers + o.snapshotTransfers,
          snapshotChunksSent + o.snapshotChunksSent,
          snapshotChunksIgnored + o.snapshotChunksIgnored, durableAcksTimed + o.durableAcksTimed,
          Math.max(durableAckLatencyMaxMicros, o.durableAckLatencyMaxMicros),
          fuzzyImagesKept + o.fuzzyImagesKept, durableFlushesTimed + o.durableFlushesTimed,
          Math.max(durableFlushLatencyMaxMicros, o.durableFlushLatencyMaxMicros),
          tightProposalSeeds + o.tightProposalSeeds, queueFullRefusals + o.queueFullRefusals,
          leaderStandIns + o.leaderStandIns, leaderStandInsEnded + o.leaderStandInsEnded,
          leaderHandBacks + o.leaderHandBacks, leaderStandInsMoved + o.leaderStandInsMoved,
          spareSeeds + o.spareSeeds, spareSteps + o.spareSteps,
          membersReplaced + o.membersReplaced, ticksWhenDueSeeds + o.ticksWhenDueSeeds,
          ticksSkipped + o.ticksSkipped, valueRecoveries + o.valueRecoveries,
          valuesPulled + o.valuesPulled, commandsHeldForValues + o.commandsHeldForValues,
          offlineRecoverySeeds + o.offlineRecoverySeeds, giveBacks + o.giveBacks,
          drainTransfers + o.drainTransfers, primariesStranded + o.primariesStranded);
    }

    public static final Stats NONE =
        new Stats(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);

    @Override
    public String toString() {
      return "crashes=" + crashes + " machine-crashes=" + machineCrashes
          + " crash-states-losing-writes=" + crashesLosingWrites
          + " lease-reads=" + leaseReads + " membership-changes=" + membershipChanges
          + " stand-ins=" + standIns + " transfers=" + transfers
          + " dropped-messages=" + messagesDropped + " durable-acks=" + durableAcks
          + " ordered-losses=" + orderedLosses + " ordered-losses-with-survivor="
          + lossesWithSurvivor + " hard-timeout-seeds=" + hardTimeoutSeeds
          + " speculative-seeds=" + speculativeSeeds + " primary-stalls=" + primaryStalls
          + " primary-stalls-past-lease=" + primaryStallsPastLease + " warm-ups=" + warmUps
          + " snapshots-kept=" + snapshotsKept + " fuzzy-images-kept=" + fuzzyImagesKept
          + " snapshots-installed=" + snapshotsInstalled
          + " snapshot-transfers=" + snapshotTransfers + " snapshot-chunks-sent="
          + snapshotChunksSent + " snapshot-chunks-ignored=" + snapshotChunksIgnored
          + " async-fsyncs=" + asyncFsyncs + " async-fsync-waits=" + asyncFsyncWaits
          + " durable-acks-timed=" + durableAcksTimed + " durable-ack-after-flush-max-ms="
          + String.format(java.util.Locale.ROOT, "%.1f", durableAckLatencyMaxMicros / 1000.0)
          + " durable-flushes-timed=" + durableFlushesTimed + " durable-flush-after-write-max-ms="
          + String.format(java.util.Locale.ROOT, "%.1f", durableFlushLatencyMaxMicros / 1000.0)
          + " tight-proposal-seeds=" + tightProposalSeeds
          + " queue-full-refusals=" + queueFullRefusals
          + " leader-stand-ins=" + leaderStandIns + " leader-stand-ins-ended="
          + leaderStandInsEnded + " leader-hand-backs=" + leaderHandBacks
          + " leader-stand-ins-moved=" + leaderStandInsMoved + " spare-seeds=" + spareSeeds
          + " spare-steps=" + spareSteps + " members-replaced=" + membersReplaced
          + " ticks-when-due-seeds=" + ticksWhenDueSeeds + " ticks-skipped=" + ticksSkipped
          + " value-recoveries=" + valueRecoveries + " values-pulled=" + valuesPulled
          + " commands-held-for-values=" + commandsHeldForValues
          + " offline-recovery-seeds=" + offlineRecoverySeeds + " give-backs=" + giveBacks
          + " drain-transfers=" + drainTransfers + " primaries-stranded=" + primariesStranded;
    }
  }

  public boolean clean() {
    return violations.isEmpty();
  }
}
