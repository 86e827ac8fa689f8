/**
 * The Redis Sentinel face of {@code respawn monitor}: a RESP endpoint that answers the SENTINEL
 * commands clients use to find the master (get-master-addr-by-name, master(s), replicas,
 * sentinels, myid), INFO and ROLE, and publishes {@code +switch-master} on failover, so
 * Jedis's {@code JedisSentinelPool}, Lettuce's Sentinel support and redis-py's {@code Sentinel}
 * follow a failover unchanged.
 *
 * <p>The endpoint knows nothing of detection or recovery: it reads a {@link
 * io.respawn.server.solo.sentinel.MonitoredMasters}, which the monitor implements, and relays
 * the {@link io.respawn.server.solo.sentinel.SentinelEvent}s it publishes. Requests are decoded
 * by the server's RESP layer ({@code io.respawn.server.resp}) and answered on the connection's
 * event loop.
 */
package io.respawn.server.solo.sentinel;
