package io.respawn.node;

import io.respawn.core.Command;
import io.respawn.storage.Durability;
import java.util.concurrent.CompletableFuture;

/**
 * One client write given to {@link NodeRuntime#propose}: the (term, index) the core assigned once
 * the batch holding it was proposed, and the two acknowledgement levels.
 *
 * <ul>
 *   <li>{@link #ordered()} completes with the state machine's result when the entry is committed
 *       (written in order on a write quorum) and applied on this node; exceptionally with a
 *       {@link Refusal} otherwise.
 *   <li>{@link #durable()} completes with the index when, in addition, a write quorum has flushed
 *       it, so that no crash of any kind can lose it; exceptionally with {@link
 *       Refusal.Reason#OUTCOME_UNKNOWN} if this node stops leading first. Every proposal gets this
 *       notice; only a proposal asked for at {@link Durability#DURABLE} makes the leader flush at
 *       once rather than within its flush interval.
 * </ul>
 *
 * Futures complete on the driver's thread, inside a runtime call, in log order. Callbacks must be
 * short and must not call back into the runtime.
 *
 * @param <R> the state machine's result type
 */
public final class ProposalHandle<R> {
  /** The write, until the core appended it (its log entry holds it then); null after. */
  private Command command;
  private final Durability level;
  private final CompletableFuture<R> ordered = new CompletableFuture<>();
  private final CompletableFuture<Long> durable = new CompletableFuture<>();
  private long term;
  private long index;

  ProposalHandle(Command command, Durability level) {
    this.command = command;
    this.level = level;
  }

  /** The write; null once the core appended it (the log entry holds it). */
  public Command command() {
    return command;
  }

  /**
   * Drops the reference to the write once its entry was appended: an applied proposal may wait
   * for its durable notice for a while, and its value is in the log and the store.
   */
  void releaseCommand() {
    command = null;
  }

  /** The level the client asked for; DURABLE makes the leader flush without waiting. */
  public Durability level() {
    return level;
  }

  /** The term the entry was appended in; 0 until the batch holding it was proposed. */
  public long term() {
    return term;
  }

  /** The entry's index; 0 until the batch holding it was proposed (or if it was refused). */
  public long index() {
    return index;
  }

  public CompletableFuture<R> ordered() {
    return ordered;
  }

  public CompletableFuture<Long> durable() {
    return durable;
  }

  /** The future for {@link #level()}: ordered, or durable. */
  public CompletableFuture<?> acknowledged() {
    return level == Durability.DURABLE ? durable : ordered;
  }

  void assign(long term, long index) {
    this.term = term;
    this.index = index;
  }

  void refuse(Refusal refusal) {
    ordered.completeExceptionally(refusal);
    durable.completeExceptionally(refusal);
  }

  @Override
  public String toString() {
    return "Proposal[" + term + "/" + index + " " + level + " "
        + (command == null ? "appended" : command) + "]";
  }
}
