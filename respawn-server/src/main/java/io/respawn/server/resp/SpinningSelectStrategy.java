package io.respawn.server.resp;

import io.netty.channel.SelectStrategy;
import io.netty.channel.SelectStrategyFactory;
import io.netty.util.IntSupplier;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.SingleThreadEventExecutor;
import io.netty.util.internal.ThreadExecutorMap;
import io.respawn.storage.ForegroundPriority;

/**
 * An event-loop select strategy that polls (non-blocking) for up to {@code spinNanos} before the
 * loop blocks in epoll_wait. Under load the next request (or a task from another thread: replies
 * handed over with {@code --io-threads} &gt; 1, a DURABLE completion from the engine's flusher)
 * usually arrives within microseconds; catching it while still awake saves a wake-up and a
 * context switch. Runs on each event loop's own thread; 0 disables the spin (Netty's default
 * behaviour), and so does a loop under the real-time policy ({@link
 * ForegroundPriority#currentThreadRealtime}: a member's, while it takes part in a recovery).
 */
public final class SpinningSelectStrategy implements SelectStrategy {
  private final long spinNanos;
  private SingleThreadEventExecutor loop;
  private boolean loopLookedUp;

  private SpinningSelectStrategy(long spinNanos) {
    this.spinNanos = spinNanos;
  }

  public static SelectStrategyFactory factory(long spinNanos) {
    return () -> new SpinningSelectStrategy(spinNanos);
  }

  @Override
  public int calculateStrategy(IntSupplier selectSupplier, boolean hasTasks) throws Exception {
    if (hasTasks) {
      return selectSupplier.get();
    }
    if (spinNanos <= 0 || ForegroundPriority.currentThreadRealtime()) {
      return SelectStrategy.SELECT; // a real-time loop wakes at once: polling only costs others
    }
    if (!loopLookedUp) {
      EventExecutor current = ThreadExecutorMap.currentExecutor();
      loop = current instanceof SingleThreadEventExecutor s ? s : null;
      loopLookedUp = true;
    }
    long deadline = System.nanoTime() + spinNanos;
    do {
      int ready = selectSupplier.get();
      if (ready > 0 || (loop != null && loop.pendingTasks() > 0)) {
        return ready;
      }
      Thread.onSpinWait();
    } while (System.nanoTime() - deadline < 0);
    return SelectStrategy.SELECT;
  }
}
