package io.respawn.bench.e1;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import org.HdrHistogram.Histogram;
import site.ycsb.WorkloadException;
import site.ycsb.measurements.Measurements;

/**
 * Runs a YCSB workload with closed-loop client threads (each its own {@link KvDb}, one request
 * at a time): first unmeasured for the warm-up, then measured for the given time. Latency is
 * one YCSB operation as the client sees it (for {@code redis-replica-wait} the SET and its
 * WAIT), recorded in nanoseconds.
 */
final class ClosedLoop {
  /** Longest latency the histograms hold; a slower operation is recorded as this. */
  static final long LATENCY_NANOS_MAX = TimeUnit.SECONDS.toNanos(60);

  /** One measured cell. */
  record Result(long operations, long errors, long redirects, String firstError, double seconds,
      Histogram latencyNanos, long serverCpuMicros, long clientCpuMicros) {
    double opsPerSec() {
      return operations / seconds;
    }

    /** CPU the servers used per measured operation, in microseconds; -1 if unknown. */
    double serverCpuMicrosPerOp() {
      return serverCpuMicros < 0 || operations == 0 ? -1 : (double) serverCpuMicros / operations;
    }

    /**
     * CPU the client threads used per measured operation (YCSB's workload, the binding, the
     * client library and its system calls; not the benchmark JVM's collector or compiler), in
     * microseconds; -1 if unknown.
     */
    double clientCpuMicrosPerOp() {
      return clientCpuMicros < 0 || operations == 0 ? -1 : (double) clientCpuMicros / operations;
    }

    double percentileMillis(double p) {
      return latencyNanos.getTotalCount() == 0 ? 0
          : latencyNanos.getValueAtPercentile(p) / 1e6;
    }
  }

  private ClosedLoop() {}

  static {
    // CoreWorkload reads YCSB's measurement singleton when it is built.
    Measurements.setProperties(new Properties());
  }

  /** Inserts records 0 .. recordcount-1 of {@code workload} through {@code threads} threads. */
  static Result load(Supplier<KvDb> dbs, Properties workload, int threads)
      throws WorkloadException, InterruptedException {
    E1Workload w = new E1Workload();
    w.init(workload);
    long records = Long.parseLong(workload.getProperty("recordcount"));
    return drive(dbs, threads, (db, i) -> {
      long share = records / threads + (i < records % threads ? 1 : 0);
      long done = 0;
      for (long k = 0; k < share; k++) {
        w.doInsert(db, null);
        done++;
      }
      return done;
    });
  }

  /**
   * Runs {@code workload} for {@code warmupSeconds} unmeasured, then {@code seconds} measured;
   * {@code serverCpuMicros} (the servers' CPU so far, -1 if unknown) is read when the
   * measurement starts and when it ends.
   */
  static Result run(Supplier<KvDb> dbs, Properties workload, int threads, double warmupSeconds,
      double seconds, LongSupplier serverCpuMicros)
      throws WorkloadException, InterruptedException {
    E1Workload w = new E1Workload();
    w.init(workload);
    long warmupNanos = (long) (warmupSeconds * 1e9);
    long measureNanos = (long) (seconds * 1e9);
    Histogram[] histograms = new Histogram[threads];
    long[] clientCpuNanos = new long[threads];
    ThreadMXBean threadCpu = ManagementFactory.getThreadMXBean();
    boolean clientCpuKnown =
        threadCpu.isCurrentThreadCpuTimeSupported() && threadCpu.isThreadCpuTimeEnabled();
    long[] cpu = {-1, -1};
    CountDownLatch started = new CountDownLatch(1);
    long[] startNanos = new long[1];
    Thread cpuProbe = new Thread(() -> {
      try {
        started.await();
        sleepUntil(startNanos[0] + warmupNanos);
        cpu[0] = serverCpuMicros.getAsLong();
        sleepUntil(startNanos[0] + warmupNanos + measureNanos);
        cpu[1] = serverCpuMicros.getAsLong();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }, "e1-cpu-probe");
    cpuProbe.start();
    Result r = drive(dbs, threads, (db, i) -> {
      Histogram h = new Histogram(LATENCY_NANOS_MAX, 3);
      histograms[i] = h;
      long start = System.nanoTime();
      if (i == 0) {
        startNanos[0] = start;
        started.countDown();
      }
      long measureFrom = start + warmupNanos;
      long end = measureFrom + measureNanos;
      long ops = 0;
      long cpuFrom = -1;
      for (long now = start; now < end; ) {
        if (cpuFrom < 0 && now >= measureFrom && clientCpuKnown) {
          cpuFrom = threadCpu.getCurrentThreadCpuTime();
        }
        w.doTransaction(db, null);
        long after = System.nanoTime();
        if (now >= measureFrom) {
          h.recordValue(Math.min(after - now, LATENCY_NANOS_MAX));
          ops++;
        }
        now = after;
      }
      clientCpuNanos[i] = cpuFrom < 0 ? 0 : threadCpu.getCurrentThreadCpuTime() - cpuFrom;
      return ops;
    });
    started.countDown(); // if thread 0 never ran its body
    cpuProbe.join();
    long serverCpu = cpu[0] < 0 || cpu[1] < 0 ? -1 : cpu[1] - cpu[0];
    long clientCpu = clientCpuKnown ? Arrays.stream(clientCpuNanos).sum() / 1_000 : -1;
    Histogram all = new Histogram(LATENCY_NANOS_MAX, 3);
    for (Histogram h : histograms) {
      if (h != null) {
        all.add(h);
      }
    }
    return new Result(Math.max(0, r.operations() - r.errors()), r.errors(), r.redirects(),
        r.firstError(), seconds, all, serverCpu, clientCpu);
  }

  private static void sleepUntil(long nanos) throws InterruptedException {
    for (long left; (left = nanos - System.nanoTime()) > 0; ) {
      TimeUnit.NANOSECONDS.sleep(left);
    }
  }

  private interface Body {
    long run(KvDb db, int thread) throws Exception;
  }

  /** Runs {@code body} on {@code threads} threads, each with its own initialised DB. */
  private static Result drive(Supplier<KvDb> dbs, int threads, Body body)
      throws InterruptedException {
    CyclicBarrier go = new CyclicBarrier(threads);
    long[] ops = new long[threads];
    KvDb[] used = new KvDb[threads];
    Exception[] failures = new Exception[threads];
    List<Thread> running = new ArrayList<>();
    long started = System.nanoTime();
    for (int t = 0; t < threads; t++) {
      int i = t;
      Thread th = new Thread(() -> {
        try {
          KvDb db = dbs.get();
          used[i] = db;
          db.init();
          go.await();
          ops[i] = body.run(db, i);
        } catch (Exception e) {
          failures[i] = e;
          go.reset();
        } finally {
          if (used[i] != null) {
            try {
              used[i].cleanup();
            } catch (Exception e) {
              // closing a connection: nothing to keep
            }
          }
        }
      }, "e1-client-" + t);
      running.add(th);
      th.start();
    }
    for (Thread th : running) {
      th.join();
    }
    double seconds = (System.nanoTime() - started) / 1e9;
    long total = 0;
    long errors = 0;
    long redirects = 0;
    String firstError = null;
    for (int t = 0; t < threads; t++) {
      if (failures[t] != null && !(failures[t] instanceof java.util.concurrent.BrokenBarrierException)) {
        throw new IllegalStateException("client thread " + t + " failed: " + failures[t],
            failures[t]);
      }
      total += ops[t];
      if (used[t] != null) {
        errors += used[t].errors();
        redirects += used[t].redirects();
        if (firstError == null) {
          firstError = used[t].firstError();
        }
      }
    }
    for (Exception f : failures) {
      if (f != null) {
        throw new IllegalStateException("client threads failed: " + f, f);
      }
    }
    return new Result(total, errors, redirects, firstError, seconds,
        new Histogram(LATENCY_NANOS_MAX, 3), -1, -1);
  }
}
