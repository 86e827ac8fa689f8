package io.respawn.core;

/**
 * Identity of one replica within a shard. Small non-negative integers keep the wire format
 * compact; the runtime maps them to addresses.
 *
 * @param value the id, {@code >= 0}
 */
public record NodeId(int value) implements Comparable<NodeId> {
  public NodeId {
    if (value < 0) {
      throw new IllegalArgumentException("node id must be >= 0, was " + value);
    }
  }

  public static NodeId of(int value) {
    return new NodeId(value);
  }

  @Override
  public int compareTo(NodeId o) {
    return Integer.compare(value, o.value);
  }

  @Override
  public String toString() {
    return "n" + value;
  }
}
