package io.respawn.core;

/**
 * Wire codes of the replica-to-replica messages. Codes are stable and leave room:
 *
 * <pre>
 *   1..15   replication and election (this module)
 *   16..31  reserved: data movement for live recovery (BatchPull, PriorityPull and replies)
 *   32..47  reserved: speculative takeover, leadership transfer (TimeoutNow), eviction notice
 * </pre>
 */
public enum MessageType {
  APPEND_ENTRIES(1),
  APPEND_ENTRIES_RESPONSE(2),
  REQUEST_VOTE(3),
  REQUEST_VOTE_RESPONSE(4),
  REQUEST_LOG(5),
  REQUEST_LOG_RESPONSE(6),
  SNAPSHOT_CHUNK(7),
  SNAPSHOT_ACK(8),
  SEND_SNAPSHOT(9),
  TIMEOUT_NOW(32);

  public final int code;

  MessageType(int code) {
    this.code = code;
  }

  public static MessageType fromCode(int code) {
    for (MessageType t : values()) {
      if (t.code == code) {
        return t;
      }
    }
    throw new IllegalArgumentException("unknown message type code " + code);
  }
}
