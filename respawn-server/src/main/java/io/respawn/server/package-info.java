/**
 * The single-node RESP server (DESIGN.md §2, §9).
 *
 * <pre>
 *  client bytes ─▶ [respawn-io-N: Netty event loop]                         (resp)
 *                  RedisDecoder → RequestGuard → bulk/array aggregators
 *                  → RequestDecoder → ClientConnection ──┐ one batch per read
 *                                                        ▼
 *                  [respawn-command: CommandLoop]                         (command)
 *                  Dispatcher → command table → Keyspace → KvStore (log engine)
 *                  one pass = everything queued: one engine batch, replies
 *                  gated on its ORDERED / DURABLE acknowledgement
 *                                                        │ one task per event loop
 *  client bytes ◀─ [respawn-io-N] ClientConnection writes replies in request order
 * </pre>
 *
 * <p>{@link io.respawn.server.RespawnServer} wires it together; {@code cli} holds the
 * {@code respawn up|server} commands.
 */
package io.respawn.server;
