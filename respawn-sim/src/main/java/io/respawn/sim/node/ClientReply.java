package io.respawn.sim.node;

import io.respawn.sim.lin.Outcome;

/**
 * Node to client: the outcome of one request. {@code leaderHint} is the replica the node
 * believes leads (or -1); a client that gets FAIL retries there.
 */
public record ClientReply(int opId, Outcome outcome, long result, int leaderHint) {}
