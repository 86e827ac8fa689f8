package io.respawn.server.shard;

import io.netty.channel.EventLoop;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Queues the node loop's passes on the event loop it shares with the peer connections and the
 * member's clients, at most one at a time, by one of two routes:
 *
 * <ul>
 *   <li>{@link #queue}: as a task, ahead of the loop's next I/O poll. For new input (a message,
 *       a write, a tick): it is stepped without waiting for anything else.
 *   <li>{@link #queueAfterIo}: after the loop's next I/O poll, so the reads that are ready
 *       (clients' commands, peers' messages) are handled first. For work a pass left over on
 *       purpose (the rest of a flood of BatchPull chunks): a command waits for one pass, not all.
 * </ul>
 *
 * <p>Why two: Netty's event loop runs its task queue until it is empty (checking the time every
 * 64 tasks against a quantum of at least 100 ms) before it polls I/O again, so a pass that
 * re-queues itself as a task runs again at once, and the clients' commands read on the same loop
 * wait for every pass of the flood. A task scheduled with no delay is moved into the task queue
 * only at the start of the next round of tasks, after the I/O poll (which does not block while it
 * is due).
 *
 * <p>Threads: {@link #queue} from any thread; {@link #queueAfterIo} on the loop (from a pass).
 */
final class PassQueue {
  private final AtomicBoolean queued = new AtomicBoolean();
  private final Runnable task;
  private volatile EventLoop loop;

  /** {@code pass} runs on the loop; a pass queued while it runs runs after it. */
  PassQueue(Runnable pass) {
    this.task = () -> {
      queued.set(false); // input offered from here on queues another pass
      pass.run();
    };
  }

  /** Passes go to {@code l} from now on; before this, queueing does nothing. */
  void attach(EventLoop l) {
    loop = l;
  }

  /** Queues a pass ahead of the loop's next I/O poll, unless one is queued. Any thread. */
  void queue() {
    EventLoop l = loop;
    if (l != null && !queued.getAndSet(true)) {
      l.execute(task);
    }
  }

  /** Queues a pass after the loop's next I/O poll, unless one is queued. */
  void queueAfterIo() {
    EventLoop l = loop;
    if (l != null && !queued.getAndSet(true)) {
      l.schedule(task, 0, TimeUnit.NANOSECONDS);
    }
  }
}
