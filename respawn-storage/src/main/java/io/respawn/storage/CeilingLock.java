package io.respawn.storage;

import java.util.concurrent.locks.ReentrantLock;

/**
 * A {@link ReentrantLock} that a thread under {@code SCHED_IDLE} ({@link
 * BackgroundPriority#idleCurrentThread}) holds at normal priority: the thread leaves the idle
 * policy before it waits for the lock and returns to it once it holds no such lock any more (a
 * priority ceiling). For every other thread it is a plain reentrant lock.
 *
 * <p>Why: the scheduler runs a {@code SCHED_IDLE} thread only when nothing else wants its CPU,
 * so one preempted inside a plain lock keeps it, and everyone waiting for it waits, for as long
 * as the machine is busy; measured at 8-20 ms per stall on a backup during recovery ({@link
 * BackgroundPriority#idleCurrentThread}). With this lock the holder is preempted no longer than
 * any thread of normal priority.
 *
 * <p>Only {@link #lock()} and {@link #unlock()} raise and lower: {@code tryLock} and {@code
 * lockInterruptibly} are plain (the idle threads that take this lock use neither). A thread that
 * waits on one of its conditions keeps the normal policy while it waits.
 */
public final class CeilingLock extends ReentrantLock {
  private static final long serialVersionUID = 1L;

  @Override
  public void lock() {
    BackgroundPriority.aboveIdleWhileLocked();
    super.lock();
  }

  @Override
  public void unlock() {
    super.unlock();
    BackgroundPriority.backToIdleAfterLocked();
  }
}
