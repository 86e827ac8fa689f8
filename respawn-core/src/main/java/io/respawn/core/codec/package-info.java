/**
 * Wire and record codecs for the core's types: {@link io.respawn.core.codec.MessageCodec} and
 * {@link io.respawn.core.codec.EntryCodec}, both inside a versioned, CRC32C-checked
 * {@link io.respawn.core.codec.Frames frame}. Pure functions over {@link java.nio.ByteBuffer};
 * the runtime's Netty handlers and the storage engine call them.
 */
package io.respawn.core.codec;
