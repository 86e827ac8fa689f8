/** Respawn server module. */
package io.respawn.server;
