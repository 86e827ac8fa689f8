package io.respawn.server.command;

import io.netty.channel.SingleThreadEventLoop;
import io.netty.util.concurrent.ScheduledFuture;
import io.respawn.server.resp.ClientConnection;
import io.respawn.server.resp.CommandSink;
import io.respawn.server.resp.Reply;
import io.respawn.server.resp.Request;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Executes every command on <b>one Netty event loop thread</b>, like Redis' main thread: that
 * thread is the single owner of command semantics (the {@link Dispatcher}, its keyspace and every
 * {@link Session}). A connection served by this loop has its requests executed directly in
 * {@code channelReadComplete}, with no thread hand-off; a connection on another loop (only with
 * {@code --io-threads} > 1) has them queued onto this loop as a task, and its replies hop back.
 *
 * <p>One <em>pass</em> is one event-loop iteration: all requests read from all connections in
 * that iteration are executed, then a tail task ({@link #endPass}, run after the iteration's I/O
 * and tasks) hands their writes to the engine as one batch and gives each connection its replies
 * in request order. An ORDERED write's reply usually goes out in the same pass (the engine writes
 * the batch on this thread). If the pass holds DURABLE writes, this thread then leads the
 * engine's group commit itself and blocks for that fsync ({@link Dispatcher#awaitDurableWrites}),
 * like Redis with appendfsync always: the replies go out in the same pass with no wake-up of, or
 * hand-off from, another thread (an earlier design left the fsync to the engine's flusher and
 * lost most of the time to cross-thread wake-ups on a busy machine), and the requests arriving
 * meanwhile make the next pass's batch. Active expiry runs as a task {@link #TICKS_PER_SECOND}
 * times a second.
 *
 * <p>CLIENT PAUSE: a request the pause holds back stays with its session (with every later one of
 * that client) and runs when the pause allows: right after the pass that ran CLIENT UNPAUSE, or at
 * the next tick after the timeout. MONITOR lines go to the monitors' sessions like replies and
 * leave with the pass.
 *
 * <p>Bounds: each connection stops reading at {@code pipelineDepthMax} unanswered requests, so a
 * pass executes at most about clientsMax × pipelineDepthMax requests; a pass's engine batch is
 * handed over early at {@link Dispatcher#PASS_BYTES_MAX}. A connection's requests wait (in its
 * {@link Session#held}) while its replies not yet taken by its socket, counting those produced
 * in this pass, reach {@code outputPauseBytes} (see {@link ClientConnection}): a client that
 * pipelines many large GETs gets them executed as fast as it reads the replies, never faster.
 */
public final class CommandLoop implements CommandSink, AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(CommandLoop.class);

  /** Active-expiry passes per second (Redis' default hz). */
  static final int TICKS_PER_SECOND = 10;
  /** Keys examined per active-expiry pass. */
  static final int EXPIRY_KEYS_PER_TICK = 200;

  /**
   * How long a pass holding DURABLE writes stays open for more requests before its fsync, when
   * the previous such pass answered several clients (group-commit delay, like PostgreSQL's
   * commit_delay): the fsync dominates a DURABLE write's cost, so the more clients share one,
   * the higher the throughput. A lone writer never waits, and the pass closes before the delay
   * once it has as many clients as the previous such pass answered (closed-loop clients answered
   * together come back together: waiting longer would only add to every one's latency).
   */
  static final long DURABLE_COMMIT_DELAY_NANOS =
      Long.getLong("respawn.durableCommitDelayNanos", 200_000);

  private final Dispatcher dispatcher;
  private final SingleThreadEventLoop loop;
  private final Runnable endPass = this::endPass;
  private final java.util.function.BiConsumer<Session, Reply> deliver = this::deliver;
  /** Sessions with replies produced in the current pass; owned by the loop thread. */
  private final List<Session> touched = new ArrayList<>();
  private boolean passScheduled;
  /** The group-commit delay's end of the current pass, while it is pending; else null. */
  private ScheduledFuture<?> delayedPassEnd;
  /** Clients answered by the last pass that held DURABLE writes. */
  private int lastDurablePassClients;
  private long expiryCursor;
  private ScheduledFuture<?> ticker;

  /** {@code loop} is the event loop whose thread will own command execution. */
  public CommandLoop(Dispatcher dispatcher, SingleThreadEventLoop loop) {
    this.dispatcher = dispatcher;
    this.loop = loop;
    // Inline only where the wait is a local fsync: a replicated store's durable notice waits on
    // other members, and blocking this thread on it would stall every client (for good if the
    // write quorum is gone).
    dispatcher.awaitDurableInline(dispatcher.keyspace.store().durableNoticeIsLocal());
    // Online recovery: a command held for a value still on a backup runs once it has arrived.
    dispatcher.wakeHeld(() -> {
      try {
        loop.execute(() -> {
          dispatcher.resumeHeld(deliver);
          schedulePassEnd();
        });
      } catch (RejectedExecutionException e) {
        // The server is stopping: the held requests go with their connections.
      }
    });
  }

  public void start() {
    long periodNanos = TimeUnit.SECONDS.toNanos(1) / TICKS_PER_SECOND;
    ticker = loop.scheduleAtFixedRate(this::tick, periodNanos, periodNanos, TimeUnit.NANOSECONDS);
  }

  @Override
  public void submit(ClientConnection connection, List<Request> requests) {
    if (loop.inEventLoop()) {
      execute(connection, requests);
    } else {
      loop.execute(() -> execute(connection, requests));
    }
  }

  @Override
  public void resume(ClientConnection connection) {
    // Always as a task: the connection asks from its reply path, which may run inside endPass.
    try {
      loop.execute(() -> executeHeld(connection));
    } catch (RejectedExecutionException e) {
      // The server is stopping: the held requests go with the connection.
    }
  }

  @Override
  public void closed(ClientConnection connection) {
    if (loop.inEventLoop()) {
      forget(connection);
    } else {
      try {
        loop.execute(() -> forget(connection));
      } catch (RejectedExecutionException e) {
        // The server is stopping: the command-side state goes with it.
      }
    }
  }

  private void forget(ClientConnection connection) {
    dispatcher.connectionClosed(connection);
    if (connection.commandState() instanceof Session session) {
      session.held = null;
    }
  }

  @Override
  public String clientName(ClientConnection connection) {
    // Read from another thread for a log line: a possibly stale name is fine.
    return connection.commandState() instanceof Session session ? session.name : "";
  }

  /**
   * Executes a read's requests in order, unless the client's output is full: then the rest wait
   * in {@link Session#held} (behind any already held) until the connection resumes. The first
   * request always runs, so each submission makes progress. Nothing after QUIT (or a protocol
   * error) runs: Redis closes the connection after that reply and ignores the rest.
   */
  private void execute(ClientConnection connection, List<Request> requests) {
    assert loop.inEventLoop() : "commands run on the command loop's thread only";
    long executedBytes = 0;
    try {
      Session session = dispatcher.sessionOf(connection);
      if (session.held != null) {
        session.held.addAll(requests);
        return;
      }
      for (int i = 0; i < requests.size(); i++) {
        if (session.closeRequested) {
          executedBytes += droppedBytes(requests.subList(i, requests.size()));
          break;
        }
        if (i > 0 && mustHold(session, connection)) {
          session.held = new ArrayDeque<>(requests.subList(i, requests.size()));
          break;
        }
        Request request = requests.get(i);
        executedBytes += ClientConnection.requestBytes(request);
        executeOne(session, request);
      }
      dispatcher.resumeHeld(deliver); // after CLIENT UNPAUSE
    } catch (Throwable t) {
      // Dispatcher.execute answers everything a client sends; this is a bug, not input.
      log.error("command execution error", t);
    } finally {
      connection.inputExecuted(executedBytes);
    }
    schedulePassEnd();
  }

  /** Executes requests held for a connection whose output has drained, until it is full again. */
  private void executeHeld(ClientConnection connection) {
    if (!(connection.commandState() instanceof Session session) || session.held == null) {
      return;
    }
    ArrayDeque<Request> held = session.held;
    session.held = null;
    long executedBytes = 0;
    try {
      boolean first = true;
      while (!held.isEmpty()) {
        if (session.closeRequested) {
          executedBytes += droppedBytes(held);
          break;
        }
        if (!first && mustHold(session, connection)) {
          session.held = held;
          break;
        }
        first = false;
        Request request = held.pollFirst();
        executedBytes += ClientConnection.requestBytes(request);
        executeOne(session, request);
      }
    } catch (Throwable t) {
      log.error("command execution error", t);
    } finally {
      connection.inputExecuted(executedBytes);
    }
    schedulePassEnd();
  }

  private static boolean mustHold(Session session, ClientConnection connection) {
    return connection.outputFull(session.outboxBytes) && connection.inputHeld(session.outboxBytes);
  }

  private static long droppedBytes(Iterable<Request> dropped) {
    long bytes = 0;
    for (Request r : dropped) {
      bytes += ClientConnection.requestBytes(r);
    }
    return bytes;
  }

  /** Executes one request, or holds it while a CLIENT PAUSE holds this client. */
  private void executeOne(Session session, Request request) {
    if (session.postponed != null) {
      dispatcher.hold(session, request); // behind the client's requests a pause holds
      return;
    }
    Reply reply = dispatcher.execute(session, request);
    if (reply == null) {
      dispatcher.hold(session, request);
      return;
    }
    deliver(session, reply);
    if (reply.closeAfter()) {
      session.closeRequested = true;
    }
  }

  private void schedulePassEnd() {
    if (passScheduled) {
      if (delayedPassEnd != null && touched.size() >= lastDurablePassClients) {
        endPassNowInsteadOfDelayed();
      }
      return;
    }
    passScheduled = true;
    if (DURABLE_COMMIT_DELAY_NANOS > 0 && lastDurablePassClients > 1
        && touched.size() < lastDurablePassClients && dispatcher.passWantsDurable()) {
      delayedPassEnd = loop.schedule(endPass, DURABLE_COMMIT_DELAY_NANOS, TimeUnit.NANOSECONDS);
      dispatcher.stats.groupCommitsDelayed++;
    } else {
      loop.executeAfterEventLoopIteration(endPass);
    }
  }

  /** The group is whole before its delay ran out: the pass ends after this loop iteration. */
  private void endPassNowInsteadOfDelayed() {
    delayedPassEnd.cancel(false);
    delayedPassEnd = null;
    dispatcher.stats.groupCommitsClosedEarly++;
    loop.executeAfterEventLoopIteration(endPass);
  }

  /** Queues a reply for the end of the pass. */
  private void deliver(Session session, Reply reply) {
    if (session.outbox == null) {
      touched.add(session);
    }
    session.addReply(reply);
  }

  /** Ends a pass: hands the pass's writes to the engine, then gives out the replies. */
  private void endPass() {
    passScheduled = false;
    if (delayedPassEnd != null) {
      delayedPassEnd.cancel(false); // no-op when this is the delayed end itself
      delayedPassEnd = null;
    }
    try {
      boolean durable = dispatcher.passWantsDurable();
      if (durable) {
        lastDurablePassClients = touched.size();
      }
      dispatcher.endPass();
      long start = System.nanoTime();
      dispatcher.awaitDurableWrites();
      if (durable) {
        dispatcher.recordLatency("durable-fsync",
            TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start));
      }
    } catch (Throwable t) {
      log.error("command loop error", t);
    }
    touched.addAll(dispatcher.takeMonitorsFed()); // their outbox was empty: not yet listed
    for (int i = 0; i < touched.size(); i++) {
      Session s = touched.get(i);
      List<Reply> replies = s.outbox;
      s.outbox = null;
      s.outboxBytes = 0;
      ClientConnection c = s.connection;
      if (c.eventLoop() == loop) {
        c.onReplies(replies);
      } else {
        c.deliver(replies);
      }
    }
    touched.clear();
  }

  private void tick() {
    try {
      if (!dispatcher.expiryPaused()) {
        long start = System.nanoTime();
        expiryCursor = dispatcher.keyspace.sweepExpired(expiryCursor, EXPIRY_KEYS_PER_TICK);
        dispatcher.recordLatency("expire-cycle",
            TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start));
      }
    } catch (RuntimeException e) {
      // On a member that does not serve, the sweep is refused (TRYAGAIN): nothing to expire.
      log.debug("active expiry pass failed: {}", e.toString());
    }
    // A CLIENT PAUSE timed out, or a held command waited its longest: also where the sweep
    // failed, else commands held on a member that never comes to serve would wait for good.
    dispatcher.resumeHeld(deliver);
    if (!passScheduled && (dispatcher.keyspace.hasPendingWrites() || !touched.isEmpty())) {
      passScheduled = true;
      loop.executeAfterEventLoopIteration(endPass);
    }
  }

  /** Stops active expiry; requests still arriving are executed until the event loop stops. */
  @Override
  public void close() {
    if (ticker != null) {
      ticker.cancel(false);
    }
  }
}
