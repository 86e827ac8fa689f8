package io.respawn.core;

/** A transition of this replica's {@link Status}, reported in {@link Ready#statusChanges()}. */
public record RoleChange(Status from, Status to, long term, NodeId leader) {}
