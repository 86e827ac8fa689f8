package io.respawn.core;

/**
 * Deliberately broken behaviours for the simulator's "does the checker have teeth" test. Never
 * use anything but {@link #CORRECT} outside tests.
 */
public enum Variant {
  /** The protocol as specified. */
  CORRECT,
  /** Commit on a plain majority of voters, ignoring the every-voting-backup rule. */
  COMMIT_WITHOUT_BACKUP,
  /**
   * Grant (pre-)votes without checking that the candidate's log is at least as up to date; and
   * campaign without catching up first (otherwise catch-up would hide the broken vote rule).
   */
  VOTE_STALE_LOG,
  /** Serve local reads even when the leader's lease has expired. */
  READ_AFTER_LEASE,
  /**
   * A leader that starts a leadership transfer keeps its lease (and so keeps serving local reads)
   * although the voters break their lease promise for the transfer candidate.
   */
  TRANSFER_KEEPS_LEASE,
  /**
   * A follower told its leader is unreachable also drops its lease promise to it (votes at once)
   * instead of treating the hint as a liveness hint only.
   */
  HINT_VOIDS_PROMISE,
  /**
   * Under {@link TakeoverMode#SPECULATIVE} a voter grants (pre-)votes although its lease promise
   * to the leader still runs: a backup that votes while the primary still heartbeats it.
   */
  SPECULATIVE_VOTE_IN_LEASE,
  /**
   * Under {@link TakeoverMode#SPECULATIVE} a warmed-up follower takes over a silent leader as
   * soon as its lease promise has run out, ignoring {@link
   * ReplicaConfig#speculativeSilenceMillis()}: a stall of the primary longer than the lease but
   * shorter than the bound fails over (the simulator's {@code TakeoverScenarioTest} catches it).
   */
  SPECULATIVE_IGNORES_SILENCE,
  /**
   * A follower keeps its failure detector's window for a peer across that peer's leaderships: a
   * primary that leads again after a failover carries the time it was away as one interval of
   * its heartbeats, and a later stall of it is suspected seconds late, or not at all (the
   * simulator's {@code TakeoverScenarioTest} catches it).
   */
  DETECTOR_KEEPS_OLD_WINDOW,
  /**
   * A follower installs a snapshot even when it is not newer than what it has already committed
   * and applied (a late or duplicated transfer), so its applied state goes back.
   */
  INSTALL_STALE_SNAPSHOT,
  /**
   * The compactable index ignores what is durable on the shard: a node keeps a snapshot image
   * and drops its log behind it once the entries are applied and flushed here, although a crash
   * of the write quorum may still take them back (ORDERED commits are durable only once flushed
   * on a write quorum).
   */
  COMPACT_BEYOND_DURABLE,
  /**
   * During a membership change, commit (and count the lease) on a write quorum of the incoming
   * configuration alone, ignoring the outgoing one (joint consensus skipped).
   */
  JOINT_NEW_ONLY,
  /**
   * A follower reports its log flushed only in the answer to an AppendEntries that carries
   * entries: not on its own when its fsync ends, and a heartbeat's answer repeats the flushed
   * index it last reported. Safe, but the leader's DURABLE index waits for the next write: in a
   * quiet shard the last DURABLE write is never acknowledged (the class of the runtime's unreported
   * append flush, fixed in NodeRuntime.persist).
   */
  WITHHOLD_FLUSH_REPORT,
  /**
   * The runtime keeps a fuzzy snapshot image once its own index is durable on the shard,
   * ignoring the entries past it whose effects the walk may have copied in ({@code
   * SnapshotImage.effectsThroughIndex}): a machine crash of the write quorum can then take back
   * an entry the kept image holds. Consulted by respawn-node's NodeRuntime.
   */
  KEEP_FUZZY_AT_INDEX,
  /**
   * A follower ignores its leader's {@code flushWanted} ({@link Replica#flushWantedByLeader()}
   * reports 0): it flushes only when the runtime's flush interval is up. Safe, and the DURABLE
   * acknowledgements still come, each up to a flush interval late; the simulator's
   * durable-flush-late check must see it.
   */
  IGNORE_FLUSH_WANTED,
  /**
   * The runtime counts applied proposals that wait only for their durable notice against {@code
   * proposalsInFlightMax}, as it did before that bound was given its own: while a flush lags, an
   * ORDERED write is refused {@code QUEUE_FULL} although few writes wait to be applied. Safe (a
   * refused write is definitely not applied); the simulator's queue-full-unjustified check must
   * see it. Consulted by respawn-node's NodeRuntime (its Proposals).
   */
  COUNT_DURABLE_NOTICES_IN_FLIGHT,
  /**
   * The runtime never refuses a client write for room: its queue, the writes it holds unapplied
   * and those waiting for their durable notice grow without bound while commits or flushes lag
   * (memory, not safety: every write is still committed or refused as the protocol says). The
   * simulator's write-bound-exceeded check must see it. Consulted by respawn-node's NodeRuntime
   * (its Proposals).
   */
  IGNORE_PROPOSAL_BOUNDS,
  /**
   * The runtime's snapshot sender takes no hold on the images it sends ({@code
   * SnapshotImage.retain}): a store that frees a replaced image once nobody holds it (a member
   * closes its file) frees one a transfer is still reading. The simulator's images count holds
   * and report a read of a freed one (snapshot-read-released). Consulted by respawn-node's
   * NodeRuntime (its SnapshotSender).
   */
  SENDER_HOLDS_NO_IMAGE,
  /**
   * A stand-in the leader started by itself ({@link ReplicaConfig#standInAfterMillis()}) ends at
   * the backup's first successful answer, whether or not the backup holds everything committed:
   * entries committed under the stand-in may then rest on the witness's copy alone, which it
   * may compact away. The simulator checks, when a stand-in ends, that the backup holds every
   * committed entry flushed (stand-in-ended-covered).
   */
  STAND_IN_ENDS_BEHIND,
  /**
   * While a stand-in is handed back (its backup answers and has received what is committed),
   * commits, durable acknowledgements and keys-only copies go on resting on the witness alone
   * instead of needing the backup as well, yet the stand-in still ends once the backup flushed
   * what was committed when the hand-back began: entries committed since then may be on neither
   * the backup's disk nor, once the witness gets keys-only copies again, anywhere but the
   * leader. The simulator checks, when a stand-in ends, that the backup holds the entry at the
   * commit index (stand-in-ended-covered).
   */
  HAND_BACK_UNCAPPED,
  /**
   * The leader pipelines AppendEntries to a follower with no bound on what is in flight: a
   * follower that stopped answering gets every write, and on its return each acknowledgement
   * makes the leader read and encode the whole backlog behind it in one pass. The simulator's
   * appends-in-flight invariant counts the entries sent between two of a follower's answers.
   */
  UNBOUNDED_PIPELINE,
  /**
   * Every heartbeat round restarts the pipeline to every follower from its match, whether it
   * answered since the last round or not: a follower that stopped answering is sent a fresh
   * in-flight budget of entries at every round (the same ones again), so what piles up behind it
   * grows with the length of its silence. Caught by appends-in-flight, which allows one restart
   * between two of a follower's answers.
   */
  PROBE_SILENT_FOLLOWERS,
  /**
   * A stand-in stays with its witness when that witness falls silent too: with another voting
   * witness answering, writes still wait for the silent backup or the silent witness (safe;
   * the simulator's StandInScenarioTest counts the writes acknowledged meanwhile).
   */
  STAND_IN_STAYS_WITH_SILENT_WITNESS,
  /**
   * The primary's replacement of silent members ({@link MemberReplacement}) takes a member
   * silent for one heartbeat interval as gone: members that are up but slow to answer (a lost or
   * late heartbeat, a short pause) are replaced and removed. Safe (every change goes through
   * joint consensus), but the shard loses members it had; the simulator's replaced-while-heard
   * check counts removals of members that were up and connected to the primary throughout.
   */
  REPLACE_AFTER_ONE_HEARTBEAT,
  /**
   * The primary's replacement of silent members ({@link MemberReplacement}) uses a spare of role
   * primary as it uses a spare witness: for any member that may lead, beside a primary that
   * answers, promoted even when there is no silent member left to replace. The shard then has
   * two voters of role primary, two members meant to hold every value in memory and to be
   * handed leadership back; the simulator's two-primaries check catches the configuration.
   */
  PRIMARY_SPARE_BESIDE_PRIMARY,
  /**
   * {@link Replica#tickDueNanos} of a follower ignores its leader's silence (the failure
   * detector's next rise and the election deadline): a driver that ticks only when due looks at
   * a silent leader only at its idle cap, up to a heartbeat interval late, and suspicion (then
   * the failover) comes that much later. Safe; the simulator's tick-skipped-when-due check sees
   * the tick it skipped while the detector's φ was already past the soft threshold.
   */
  TICK_DUE_IGNORES_SILENCE,
  /**
   * A leader's writes in flight ({@code InFlightWrites} in the runtime) are invisible to the
   * commands after them: a read-modify-write (INCR) is computed on the applied state alone, so
   * two increments proposed before the first applies both read the same old value and one is
   * lost; the linearizability checker sees two INCRs return the same result.
   */
  IN_FLIGHT_INVISIBLE,
  /**
   * A read that returned a leader's write still in flight is answered at once instead of after
   * that write commits ({@code InFlightWrites.gateOf} gives no gate): a failover that then loses
   * the write leaves a client that saw a value no later read sees; the linearizability checker
   * catches the read.
   */
  OVERLAY_READ_UNGATED,
  /**
   * Value recovery ({@code ValueRecovery} in the runtime) forgets that a source may be behind: a
   * member answers a pull from whatever it has applied, even below the index the asker needs,
   * and the new primary installs every answer as if its source had applied everything. A new
   * primary then serves a value older than a write it knows of (an entry of the old term that its
   * election committed and a lagging backup had not applied yet); the linearizability checker
   * catches the read.
   */
  PULL_IGNORES_APPLIED_INDEX,
  /**
   * A leader that is not the configured primary never gives leadership back to it ({@code
   * LeadershipHandOver} in the runtime): after a failover the shard stays led by a witness, which
   * holds the values it pulled but is not the member meant to lead. Safe; the simulator's end
   * check that the configured primary leads again after settling catches it.
   */
  NEVER_GIVE_BACK;

  /** Parses the config spelling, e.g. {@code commit-without-backup}. */
  public static Variant parse(String text) {
    return valueOf(text.trim().toUpperCase(java.util.Locale.ROOT).replace('-', '_'));
  }
}
