package io.respawn.server.command;

/**
 * One replica as a primary's INFO replication lists it ({@code slave0:ip=…,port=…,state=online,
 * offset=…,lag=0,respawn_role=backup}) and ROLE answers it ({@code [ip, port, offset]}). Only
 * members the primary has a link to are listed, always {@code state=online} (Redis' states of a
 * full resynchronisation do not apply: a member far behind catches up through the log or a
 * snapshot while listed; its offset says how far it is).
 *
 * <p>A shard's offsets are log indexes, not bytes of a replication stream: the primary's is its
 * last appended entry, a replica's the last entry the primary knows it holds (Raft's match
 * index). They compare with each other the way Redis' byte offsets do (the gap is what the
 * replica still lacks), not with Redis' figures.
 *
 * @param ip the replica's RESP host
 * @param port the replica's RESP port
 * @param offset the last log index the primary knows the replica holds
 * @param lagSeconds Redis' {@code lag}: seconds since the replica was last heard; 0 while its
 *     link is up, as the primary hears it at every heartbeat
 * @param respawnRole {@code backup} (values on disk) or {@code witness} (keys only), or
 *     {@code standby} for the configured primary while another member leads
 */
public record ReplicaLine(String ip, int port, long offset, long lagSeconds, String respawnRole) {
  @Override
  public String toString() {
    return "ip=" + ip + ",port=" + port + ",state=online,offset=" + offset + ",lag=" + lagSeconds
        + ",respawn_role=" + respawnRole;
  }
}
