/** Respawn bench module. */
package io.respawn.bench;
