package io.respawn.sim.nemesis;

import io.respawn.sim.event.EventQueue;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Injects faults on a random schedule drawn from the run's seed: crashes and restarts,
 * partitions and heals, one-way link cuts, pauses, membership changes and leadership transfers.
 *
 * <p>It never takes down more than {@code downMax} replicas at once, so the shard can make
 * progress between faults; safety must hold regardless. Every action is logged to a short
 * in-memory trace that failure reports print. Single-threaded.
 */
public final class Nemesis {

  private final EventQueue events;
  private final SplittableRandom random;
  private final NemesisConfig config;
  private final FaultTarget target;
  private final List<String> trace = new ArrayList<>();
  private boolean stopped;

  public Nemesis(EventQueue events, SplittableRandom random, NemesisConfig config,
      FaultTarget target) {
    this.events = events;
    this.random = random;
    this.config = config;
    this.target = target;
  }

  public void start() {
    scheduleNext();
  }

  /** No more faults are injected after this (the quiet period before final checks). */
  public void stop() {
    stopped = true;
  }

  public List<String> trace() {
    return trace;
  }

  private void scheduleNext() {
    long delayNanos = (1 + random.nextLong(config.intervalMillisMax())) * 1_000_000;
    events.after(delayNanos, this::act);
  }

  private void act() {
    if (stopped) {
      return;
    }
    int total = config.crashWeight() + config.partitionWeight() + config.oneWayWeight()
        + config.pauseWeight() + config.membershipWeight() + config.transferWeight()
        + config.healWeight();
    if (total > 0) {
      int pick = random.nextInt(total);
      if ((pick -= config.crashWeight()) < 0) {
        crashOne();
      } else if ((pick -= config.partitionWeight()) < 0) {
        partition();
      } else if ((pick -= config.oneWayWeight()) < 0) {
        cutOneWay();
      } else if ((pick -= config.pauseWeight()) < 0) {
        pauseOne();
      } else if ((pick -= config.membershipWeight()) < 0) {
        String change = target.changeMembership(random);
        if (change != null) {
          log(change);
        }
      } else if ((pick -= config.transferWeight()) < 0) {
        String transfer = target.transferLeadership(random);
        if (transfer != null) {
          log(transfer);
        }
      } else {
        healEverything();
      }
    }
    scheduleNext();
  }

  private long faultNanos() {
    return (1 + random.nextLong(config.faultMillisMax())) * 1_000_000;
  }

  private int downCount(int[] replicas) {
    int down = 0;
    for (int r : replicas) {
      if (!target.isUp(r) || target.isPaused(r)) {
        down++;
      }
    }
    return down;
  }

  private void crashOne() {
    int[] replicas = target.replicas();
    if (downCount(replicas) >= config.downMax()) {
      return;
    }
    int pick = replicas[random.nextInt(replicas.length)];
    // Half the time prefer a node in the middle of an fsync, so crash states with unsynced
    // writes (the storage engine's hard case) come up often rather than by luck.
    if (random.nextBoolean()) {
      for (int r : replicas) {
        if (target.isUp(r) && target.isSyncing(r)) {
          pick = r;
          break;
        }
      }
    }
    int node = pick;
    if (!target.isUp(node)) {
      return;
    }
    boolean midSync = target.isSyncing(node);
    boolean machine = random.nextInt(100) < config.machineCrashPercent();
    target.crash(node, machine);
    log((machine ? "machine crash n" : "kill -9 n") + node + (midSync ? " (mid-fsync)" : ""));
    events.after(faultNanos(), () -> {
      if (!target.isUp(node)) {
        target.restart(node);
        log("restart n" + node);
      }
    });
  }

  private void pauseOne() {
    int[] replicas = target.replicas();
    if (downCount(replicas) >= config.downMax()) {
      return;
    }
    int node = replicas[random.nextInt(replicas.length)];
    long stallMax = target.primaryStallMillisMax();
    boolean primaryStall = false;
    if (stallMax > 0 && random.nextBoolean() && target.primary() >= 0) {
      node = target.primary(); // a SIGSTOP of the primary: does a stall cause a failover?
      primaryStall = true;
    }
    if (!target.isUp(node) || target.isPaused(node)) {
      return;
    }
    long duration = primaryStall ? (1 + random.nextLong(stallMax)) * 1_000_000 : faultNanos();
    target.pause(node, duration);
    log((primaryStall ? "stall primary n" : "pause n") + node + " for "
        + duration / 1_000_000 + "ms");
  }

  private void partition() {
    int[] replicas = target.replicas();
    List<Integer> a = new ArrayList<>();
    List<Integer> b = new ArrayList<>();
    for (int r : replicas) {
      (random.nextBoolean() ? a : b).add(r);
    }
    if (a.isEmpty() || b.isEmpty()) {
      return;
    }
    int[] sideA = a.stream().mapToInt(Integer::intValue).toArray();
    int[] sideB = b.stream().mapToInt(Integer::intValue).toArray();
    target.partition(sideA, sideB);
    log("partition " + a + " | " + b);
    scheduleHeal();
  }

  private void cutOneWay() {
    int[] replicas = target.replicas();
    int from = replicas[random.nextInt(replicas.length)];
    int to = replicas[random.nextInt(replicas.length)];
    if (from == to) {
      return;
    }
    target.cutOneWay(from, to);
    log("cut n" + from + " -> n" + to);
    scheduleHeal();
  }

  private void scheduleHeal() {
    events.after(faultNanos(), () -> {
      target.heal();
      log("heal");
    });
  }

  private void healEverything() {
    target.heal();
    for (int r : target.replicas()) {
      if (!target.isUp(r)) {
        target.restart(r);
      }
    }
    log("heal all");
  }

  private void log(String what) {
    trace.add(events.nowNanos() / 1_000_000 + "ms " + what);
  }
}
