/**
 * The single-node RESP server (DESIGN.md §2, §9).
 *
 * <pre>
 *  client bytes ─▶ [respawn-io-1-1: Netty event loop, owns command semantics]
 *                  RequestDecoder (RESP → Request, limits)                   (resp)
 *                  → ClientConnection ───────────────────┐ one batch per read
 *                                                        ▼ (same thread)
 *                  CommandLoop → Dispatcher → command table → Keyspace      (command)
 *                  one pass = one event-loop iteration: its writes form one
 *                  engine batch (KvStore, the log engine) at its end; replies
 *                  gated on the ORDERED / DURABLE acknowledgement (for
 *                  DURABLE this thread runs the group-commit fsync itself)
 *                                                        │
 *  client bytes ◀─ ClientConnection writes replies in request order
 * </pre>
 *
 * <p>With {@code --io-threads} &gt; 1 the other event loops decode and encode only: they hand
 * requests to the first loop as tasks and get replies back the same way.
 * </pre>
 *
 * <p>{@link io.respawn.server.RespawnServer} wires it together; {@code cli} holds the
 * {@code respawn up|server} commands.
 */
package io.respawn.server;
