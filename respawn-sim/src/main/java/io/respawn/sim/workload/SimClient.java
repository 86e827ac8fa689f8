package io.respawn.sim.workload;

import io.respawn.sim.event.EventQueue;
import io.respawn.sim.lin.HistoryRecorder;
import io.respawn.sim.lin.OpKind;
import io.respawn.sim.lin.Outcome;
import io.respawn.sim.net.SimNetwork;
import io.respawn.sim.node.ClientReply;
import io.respawn.sim.node.ClientRequest;
import java.util.SplittableRandom;

/**
 * A closed-loop client: one operation at a time, sent to the replica it believes is primary.
 *
 * <p>A FAIL answer (rejected, definitely not applied) moves it to the hinted leader, or to
 * another replica if there is no hint. A timeout records the operation as UNKNOWN (it may still
 * take effect) and moves it to another replica. A late answer to an operation it gave up on is
 * ignored: the history already says UNKNOWN. Every operation, including retries, is a new
 * history entry. Owned by the simulation thread.
 */
public final class SimClient {

  private final int client;
  private final int endpoint;
  private final int replicaCount;
  private final EventQueue events;
  private final SimNetwork<Object> network;
  private final SplittableRandom random;
  private final Workload workload;
  private final HistoryRecorder history;
  private final long timeoutNanos;
  private int believedPrimary;
  /** Pause between final reads (and their retries). */
  private static final long FINAL_READ_PAUSE_NANOS = 10_000_000;

  private int currentOp = -1;
  private boolean stopped;
  private long completed;
  // final phase: after the faults stop, write (then read) every key once
  private int[] finalReads;
  private int finalReadNext;
  private int finalReadAttemptsLeft;
  private int finalReadAttemptsMax;
  private int finalReadsOk;
  private final java.util.List<Integer> finalReadsFailed = new java.util.ArrayList<>();
  private final java.util.List<Integer> finalWritesFailed = new java.util.ArrayList<>();
  /** The final phase writes (DURABLE SETs) rather than reads. */
  private boolean finalWrites;

  public SimClient(int client, int endpoint, int replicaCount, EventQueue events,
      SimNetwork<Object> network, SplittableRandom random, Workload workload,
      HistoryRecorder history, long timeoutNanos) {
    this.client = client;
    this.endpoint = endpoint;
    this.replicaCount = replicaCount;
    this.events = events;
    this.network = network;
    this.random = random;
    this.workload = workload;
    this.history = history;
    this.timeoutNanos = timeoutNanos;
  }

  public void start() {
    events.after(workload.thinkNanos(), this::issueNext);
  }

  /** Issues no new operations; the one in flight still completes or times out. */
  public void stop() {
    stopped = true;
  }

  public boolean idle() {
    return currentOp < 0;
  }

  public long completed() {
    return completed;
  }

  private void issueNext() {
    if (stopped || currentOp >= 0) {
      return;
    }
    issue(workload.next());
  }

  /** Sends command now and tracks it until it completes or times out. */
  public void issue(Command command) {
    int opId = history.invoke(client, command.kind(), command.keys(), command.values());
    currentOp = opId;
    boolean durable = command.kind().writes()
        && random.nextInt(100) < workload.config().durablePercent();
    network.send(endpoint, believedPrimary, new ClientRequest(client, opId, command, durable));
    events.after(timeoutNanos, () -> timedOut(opId));
  }

  private void timedOut(int opId) {
    if (currentOp != opId) {
      return;
    }
    history.timeout(opId);
    currentOp = -1;
    believedPrimary = random.nextInt(replicaCount);
    events.after(workload.thinkNanos(), this::issueNext);
  }

  public void onReply(ClientReply reply) {
    if (reply.opId() != currentOp) {
      return;
    }
    history.complete(reply.opId(), reply.outcome(), reply.result());
    currentOp = -1;
    completed++;
    if (reply.outcome() == Outcome.FAIL) {
      believedPrimary = reply.leaderHint() >= 0 && reply.leaderHint() != believedPrimary
          ? reply.leaderHint() : random.nextInt(replicaCount);
    }
    if (finalReads != null) {
      finalReadDone(reply.outcome() == Outcome.OK);
      return;
    }
    events.after(workload.thinkNanos(), this::issueNext);
  }

  // ---- final phase: after the faults stop, write every key DURABLE once, then read every key ----

  /** Reads every key in turn, retrying each up to attemptsMax times; stops the workload. */
  public void readAllKeys(int keyCount, int attemptsMax) {
    startFinal(keyCount, attemptsMax, false);
  }

  /**
   * Writes every key in turn, a fresh value each, asking for a DURABLE acknowledgement; retries
   * each (with a new value) up to attemptsMax times after a FAIL or a timeout. Stops the
   * workload. Then {@link #readAllKeys} reads them back.
   */
  public void writeAllKeysDurable(int keyCount, int attemptsMax) {
    startFinal(keyCount, attemptsMax, true);
  }

  private void startFinal(int keyCount, int attemptsMax, boolean writes) {
    stopped = true;
    finalWrites = writes;
    finalReads = new int[keyCount];
    for (int k = 0; k < keyCount; k++) {
      finalReads[k] = k;
    }
    finalReadAttemptsMax = attemptsMax;
    finalReadAttemptsLeft = attemptsMax;
    finalReadNext = 0;
    issueFinalRead();
  }

  private void issueFinalRead() {
    if (finalReadNext >= finalReads.length) {
      return;
    }
    int key = finalReads[finalReadNext];
    Command command = finalWrites ? workload.set(key)
        : new Command(OpKind.GET, new int[] {key}, new long[0]);
    int opId = history.invoke(client, command.kind(), command.keys(), command.values());
    currentOp = opId;
    network.send(endpoint, believedPrimary, new ClientRequest(client, opId, command,
        finalWrites));
    events.after(timeoutNanos, () -> {
      if (currentOp == opId) {
        history.timeout(opId);
        currentOp = -1;
        believedPrimary = random.nextInt(replicaCount);
        finalReadDone(false);
      }
    });
  }

  private void finalReadDone(boolean ok) {
    if (ok || --finalReadAttemptsLeft <= 0) {
      if (!ok) {
        (finalWrites ? finalWritesFailed : finalReadsFailed).add(finalReads[finalReadNext]);
      }
      finalReadNext++;
      finalReadsOk += ok && !finalWrites ? 1 : 0;
      finalReadAttemptsLeft = finalReadAttemptsMax;
    }
    events.after(FINAL_READ_PAUSE_NANOS, this::issueFinalRead);
  }

  /** Keys whose final read failed after every attempt. */
  public java.util.List<Integer> finalReadsFailed() {
    return finalReadsFailed;
  }

  /** Keys whose final DURABLE write failed (or timed out) after every attempt. */
  public java.util.List<Integer> finalWritesFailed() {
    return finalWritesFailed;
  }

  /** Keys whose final read succeeded. */
  public int finalReadsOk() {
    return finalReadsOk;
  }

  public boolean finalReadsDone() {
    return finalReads != null && !finalWrites && finalReadNext >= finalReads.length;
  }

  public boolean finalWritesDone() {
    return finalReads != null && finalWrites && finalReadNext >= finalReads.length;
  }
}
