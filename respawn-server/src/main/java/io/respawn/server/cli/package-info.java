/** The {@code respawn up|server} command line (picocli): flags, validation, signals. */
package io.respawn.server.cli;
