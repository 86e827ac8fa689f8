/**
 * Command semantics, all on the single thread that executes commands (the first Netty event
 * loop, see {@link io.respawn.server.command.CommandLoop}): the command table, MULTI/EXEC,
 * expiry, and the {@link io.respawn.server.command.Keyspace} that turns each pass's writes into
 * one atomic engine batch.
 */
package io.respawn.server.command;
