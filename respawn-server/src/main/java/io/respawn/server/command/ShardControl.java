package io.respawn.server.command;

import java.util.concurrent.CompletableFuture;

/**
 * What a member of a replicated shard lets its commands ask of the runtime that drives it
 * (RESPAWN HANDOVER, RESPAWN MEMBER, WAIT, WAITAOF), so the command layer does not depend on the shard's classes. The shard
 * member implements it; a standalone server has none.
 *
 * <p>Called on the command thread; the futures complete on any thread.
 */
public interface ShardControl {
  /**
   * Hands leadership to a caught-up member that may lead. Completes with null once this member
   * no longer leads, or with the error text a client should see (starting with its Redis error
   * code) when it was not the primary or no member took over. Never completes exceptionally.
   */
  CompletableFuture<String> handOver();

  /**
   * WAIT / WAITAOF on a shard member: completes once at least {@code replicasMin} other members
   * that hold values (the configured primary and backups; witnesses hold keys only and never
   * count) have written ({@code flushed}: flushed) every entry the primary had appended when the
   * request reached it, and, when {@code localMin} is 1, the primary has flushed them too; or
   * once {@code timeoutMillis} pass (0: no limit). Completes with the counts reached then, or
   * {@link ReplicaAcks#NOT_PRIMARY} on a member that does not lead (or stops leading meanwhile).
   * Never completes exceptionally.
   */
  CompletableFuture<ReplicaAcks> awaitReplicas(long localMin, long replicasMin, boolean flushed,
      long timeoutMillis);

  /**
   * RESPAWN MEMBER: {@code op} is ADD, PROMOTE, REMOVE or LIST; {@code id} the member (not used
   * by LIST); {@code role}, {@code respAddress} and {@code peerAddress} (HOST:PORT) only for ADD.
   * Completes once the change is committed (or at once for LIST) with the reply, or the error a
   * client should see. Never completes exceptionally.
   */
  CompletableFuture<MemberReply> member(String op, int id, String role, String respAddress,
      String peerAddress);

  /** What RESPAWN MEMBER answers: an error text (with its code), or lines (LIST). */
  record MemberReply(String error, java.util.List<String> lines) {}

  /**
   * @param primary false when asked of a member that is not the primary
   * @param local 1 if the primary holds (flushed, for WAITAOF) everything asked for, else 0
   * @param replicas members other than the primary that hold it
   */
  record ReplicaAcks(boolean primary, long local, long replicas) {
    public static final ReplicaAcks NOT_PRIMARY = new ReplicaAcks(false, 0, 0);
  }
}
