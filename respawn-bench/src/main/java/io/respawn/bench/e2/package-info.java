/**
 * Experiment E2 (DESIGN §11, the seed's §7.7-7.8): latency through a kill -9 of the primary, per
 * 100 ms window, with online and offline value recovery; time to repair (TTR) for a grid of SLOs.
 */
package io.respawn.bench.e2;
