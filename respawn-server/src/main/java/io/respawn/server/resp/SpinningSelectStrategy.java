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
 *
 * <p>The loop spins only while spinning pays ({@link SpinGate}): a spin that finds nothing costs
 * the whole {@code spinNanos} of CPU, a wake-up saved is worth a few microseconds. A shard's
 * primary under a closed-loop write load finds work in about half of its spins (the next
 * client's command, within ~3 µs on average); its backup in a fifth and its witness in under one
 * in a hundred, since their next message comes a whole replication round later. Those loops stop
 * spinning and give the CPU to the threads that have work; a probe every {@link
 * SpinGate#PROBE_EVERY_PASSES} passes notices when spinning would pay again.
 */
public final class SpinningSelectStrategy implements SelectStrategy {
  /**
   * Whether the spin is gated by its recent outcomes ({@link SpinGate});
   * {@code -Drespawn.ioSpinAdaptive=false} spins before every block, as before (for comparisons).
   */
  static final boolean ADAPTIVE =
      Boolean.parseBoolean(System.getProperty("respawn.ioSpinAdaptive", "true"));

  private final long spinNanos;
  private final SpinGate gate = new SpinGate();
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
    if (ADAPTIVE && !gate.spinNow()) {
      return SelectStrategy.SELECT;
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
        gate.spun(true);
        return ready;
      }
      Thread.onSpinWait();
    } while (System.nanoTime() - deadline < 0);
    gate.spun(false);
    return SelectStrategy.SELECT;
  }

  /** This loop's gate (tests). */
  SpinGate gate() {
    return gate;
  }
}
