package io.respawn.server.command;

import java.util.concurrent.CompletableFuture;

/**
 * What a member of a replicated shard lets its commands ask of the runtime that drives it
 * (RESPAWN HANDOVER), so the command layer does not depend on the shard's classes. The shard
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
}
