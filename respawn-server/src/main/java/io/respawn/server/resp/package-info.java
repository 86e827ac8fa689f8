/**
 * RESP front end: decoding (netty-codec-redis), request shape and size limits, the per-connection
 * reply ordering and back-pressure. No command semantics here: requests go to a {@link
 * io.respawn.server.resp.CommandSink}. Everything in this package runs on Netty event loops, except
 * where a class says otherwise.
 */
package io.respawn.server.resp;
