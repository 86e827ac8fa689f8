package io.respawn.server.solo.monitor;

import java.io.IOException;
import java.nio.file.Path;

/**
 * What the monitor needs from the durable volume the serving node writes: where its store is, a
 * way to fence the node for a plain takeover, and super/collapse for a speculative one.
 */
public interface TakeoverVolume {

  /** The store directory the serving node uses now (a first primary recovers it). */
  Path currentStore() throws IOException;

  /**
   * Fences whoever writes the current store, so that a node that wakes from a stall writes
   * nothing more, and returns the store directory the standby recovers. {@code writer} is the
   * serving node's process when the monitor started it, else null.
   */
  Path fenceForTakeover(ProcessHandle writer) throws IOException;

  /** super: a child view of the current store that a standby can recover at once. */
  Speculation superView() throws IOException;

  /** A superposition: the parent may still write; the child is being recovered. */
  interface Speculation {
    /** The child's store directory. */
    Path dir();

    /** Whether the parent wrote since super (readable without the parent's help). */
    boolean parentDirty() throws IOException;

    /**
     * collapse to the child: if the parent is still clean, the child becomes the volume's store
     * and the parent is fenced; returns false if the parent wrote (the child is then dropped).
     */
    boolean promote() throws IOException;

    /** collapse to the parent: the child is dropped. */
    void abort() throws IOException;
  }
}
