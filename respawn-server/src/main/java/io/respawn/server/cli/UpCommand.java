package io.respawn.server.cli;

import picocli.CommandLine.Command;

/**
 * {@code respawn up}: the deployment a new user starts. Today it runs one node exactly like
 * {@code respawn server}; once replication lands it starts a three-process shard on loopback.
 */
@Command(name = "up", mixinStandardHelpOptions = true,
    description = "Start Respawn on loopback (today: one node on 127.0.0.1:7379, data under ./data).")
public final class UpCommand extends ServerCommand {}
