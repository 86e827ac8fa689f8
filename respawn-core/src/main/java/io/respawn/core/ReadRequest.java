package io.respawn.core;

/**
 * A request to serve a linearizable read locally. The core answers with a {@link ReadResult}
 * for the same {@code id}; what is read (the keys) is the runtime's business.
 */
public record ReadRequest(long id) {}
