package io.respawn.sim.node;

/**
 * A new primary that holds a key only in elided form asks a backup (or, if the configuration
 * has none, another member) for the key's value (DESIGN §5.3 step 4, PriorityPull, reduced to
 * one key).
 */
public record ValuePull(int from, int key) {}
