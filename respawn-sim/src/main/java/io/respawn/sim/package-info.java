/** Respawn sim module. */
package io.respawn.sim;
