/**
 * Mirroring experiments E5 (rolling disaster: acknowledged writes lost per mode, loss rate and
 * FEC layers) and E6 (throughput per mode against link loss and delay). Both run real server
 * processes joined by the WAN relay in this JVM ({@link io.respawn.bench.mirror.SitePair}).
 */
package io.respawn.bench.mirror;
