package io.respawn.server.command;

import io.respawn.server.resp.ClientConnection;
import io.respawn.server.resp.CommandSink;
import io.respawn.server.resp.Reply;
import io.respawn.server.resp.Request;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Owns the single command thread ({@code respawn-command}), which executes every command, like
 * Redis' main thread: I/O threads {@link #submit} one batch per read; the thread drains everything
 * queued, executes it through the {@link Dispatcher}, and hands each connection its replies in
 * one {@link ClientConnection#deliver} per pass. When idle it parks, waking {@link
 * #TICKS_PER_SECOND} times a second for active expiry.
 *
 * <p>The queue is bounded by the connections' back-pressure: each connection stops reading at
 * {@code pipelineDepthMax} unanswered requests, so at most about clientsMax × pipelineDepthMax
 * requests are ever queued. {@link #queuedRequests} is kept to watch that bound.
 */
public final class CommandLoop implements CommandSink, AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(CommandLoop.class);

  /** Active-expiry passes per second (Redis' default hz). */
  static final int TICKS_PER_SECOND = 10;
  /** Keys examined per active-expiry pass. */
  static final int EXPIRY_KEYS_PER_TICK = 200;
  /** Requests executed before replies are handed out, so a flood cannot delay them for long. */
  static final int REQUESTS_PER_PASS_MAX = 4096;
  /** How long the idle command thread polls before parking. */
  static final long SPIN_NANOS = Long.getLong("respawn.commandSpinNanos", 20_000);

  private record Submission(ClientConnection connection, List<Request> requests) {}

  private final Dispatcher dispatcher;
  private final ConcurrentLinkedQueue<Submission> queue = new ConcurrentLinkedQueue<>();
  private final AtomicInteger queuedRequests = new AtomicInteger();
  private final Thread thread;
  private volatile boolean running = true;
  private volatile boolean parked;

  private final List<Session> touched = new ArrayList<>();
  private long expiryCursor;
  private long nextTickNanos;

  public CommandLoop(Dispatcher dispatcher) {
    this.dispatcher = dispatcher;
    this.thread = new Thread(this::run, "respawn-command");
  }

  public void start() {
    nextTickNanos = System.nanoTime();
    thread.start();
  }

  @Override
  public void submit(ClientConnection connection, List<Request> requests) {
    queuedRequests.addAndGet(requests.size());
    queue.offer(new Submission(connection, requests));
    if (parked) {
      LockSupport.unpark(thread);
    }
  }

  public int queuedRequests() {
    return queuedRequests.get();
  }

  private void run() {
    log.debug("command thread started");
    while (running) {
      try {
        int executed = drainOnce();
        dispatcher.endPass();
        deliverReplies();
        maybeTick();
        if (executed == 0) {
          parkUntilWork();
        }
      } catch (Throwable t) {
        // The command thread must survive anything a single command does.
        log.error("command loop error", t);
      }
    }
    log.debug("command thread stopped");
  }

  private int drainOnce() {
    int executed = 0;
    Submission sub;
    while (executed < REQUESTS_PER_PASS_MAX && (sub = queue.poll()) != null) {
      Session session = dispatcher.sessionOf(sub.connection());
      for (Request request : sub.requests()) {
        Reply reply = dispatcher.execute(session, request);
        if (session.outbox == null) {
          touched.add(session);
        }
        session.addReply(reply);
      }
      executed += sub.requests().size();
      queuedRequests.addAndGet(-sub.requests().size());
    }
    return executed;
  }

  /**
   * Hands every touched connection its replies: one task per event loop (not per connection),
   * so a pass answering fifty clients costs one queue hand-off and at most one wake-up.
   */
  private void deliverReplies() {
    if (touched.size() == 1) {
      Session s = touched.get(0);
      List<Reply> replies = s.outbox;
      s.outbox = null;
      s.connection.deliver(replies);
      touched.clear();
      return;
    }
    IdentityHashMap<Executor, List<Runnable>> byLoop = new IdentityHashMap<>(4);
    for (Session s : touched) {
      List<Reply> replies = s.outbox;
      s.outbox = null;
      ClientConnection c = s.connection;
      byLoop.computeIfAbsent(c.eventLoop(), k -> new ArrayList<>()).add(() -> c.onReplies(replies));
    }
    touched.clear();
    byLoop.forEach((loop, tasks) -> loop.execute(() -> {
      for (Runnable task : tasks) {
        task.run();
      }
    }));
  }

  private void maybeTick() {
    long now = System.nanoTime();
    if (now - nextTickNanos >= 0) {
      nextTickNanos = now + TimeUnit.SECONDS.toNanos(1) / TICKS_PER_SECOND;
      try {
        expiryCursor = dispatcher.keyspace.sweepExpired(expiryCursor, EXPIRY_KEYS_PER_TICK);
      } catch (RuntimeException e) {
        log.debug("active expiry pass failed: {}", e.toString());
      }
    }
  }

  private void parkUntilWork() {
    // A short spin first: under load the next submission usually arrives within microseconds,
    // and catching it here saves both the producer's unpark and our wake-up.
    long spinUntil = System.nanoTime() + SPIN_NANOS;
    while (SPIN_NANOS > 0 && queue.isEmpty() && System.nanoTime() - spinUntil < 0) {
      Thread.onSpinWait();
    }
    if (!queue.isEmpty()) {
      return;
    }
    parked = true;
    try {
      if (queue.isEmpty() && running) {
        long waitNanos = Math.max(0, nextTickNanos - System.nanoTime());
        LockSupport.parkNanos(this, waitNanos);
      }
    } finally {
      parked = false;
    }
  }

  /** Stops the thread after the pass in progress; queued requests are not executed. */
  @Override
  public void close() throws InterruptedException {
    running = false;
    LockSupport.unpark(thread);
    thread.join(TimeUnit.SECONDS.toMillis(10));
    if (thread.isAlive()) {
      log.warn("command thread did not stop within 10 s");
    }
  }
}
