package io.respawn.sim.node;

import io.respawn.sim.workload.Command;

/**
 * Client to node: one command. {@code opId} is the history's id for it, so every answer can be
 * matched to the right history entry even after the client gave up on it. A write with {@code
 * durable} is acknowledged only once a write quorum has flushed it; otherwise once it is
 * committed (written in order on a write quorum) and applied.
 */
public record ClientRequest(int client, int opId, Command command, boolean durable) {}
