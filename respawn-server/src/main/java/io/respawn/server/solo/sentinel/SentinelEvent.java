package io.respawn.server.solo.sentinel;

/**
 * One event the monitor publishes to Sentinel subscribers: the message {@code message} on the
 * pub/sub channel {@code channel}, both as Redis Sentinel formats them (the channel is the event
 * type). Build them with the factories, which keep Redis' formats; clients parse these messages
 * by splitting on spaces (Jedis's {@code JedisSentinelPool} reads fields 0, 3 and 4 of {@code
 * +switch-master}).
 *
 * <pre>
 *   channel            message
 *   +switch-master     &lt;name&gt; &lt;old-ip&gt; &lt;old-port&gt; &lt;new-ip&gt; &lt;new-port&gt;
 *   +sdown, -sdown     master &lt;name&gt; &lt;ip&gt; &lt;port&gt;
 *   +odown             master &lt;name&gt; &lt;ip&gt; &lt;port&gt; #quorum &lt;agreeing&gt;/&lt;quorum&gt;
 *   -odown             master &lt;name&gt; &lt;ip&gt; &lt;port&gt;
 *   +try-failover      master &lt;name&gt; &lt;ip&gt; &lt;port&gt;
 *   +failover-end      master &lt;name&gt; &lt;ip&gt; &lt;port&gt;     (the old address)
 * </pre>
 *
 * Invariants: neither part is empty, neither holds CR or LF, the message is at most {@link
 * #MESSAGE_BYTES_MAX} characters.
 */
public record SentinelEvent(String channel, String message) {
  /** Longest message accepted: an event names a master and two addresses, never more. */
  public static final int MESSAGE_BYTES_MAX = 1024;

  public SentinelEvent {
    requireLine("channel", channel);
    requireLine("message", message);
    if (message.length() > MESSAGE_BYTES_MAX) {
      throw new IllegalArgumentException("event message of " + message.length()
          + " characters exceeds MESSAGE_BYTES_MAX " + MESSAGE_BYTES_MAX);
    }
  }

  /** Clients must now write to {@code to} instead of {@code from}. */
  public static SentinelEvent switchMaster(String name, HostPort from, HostPort to) {
    requireWord("name", name);
    return new SentinelEvent("+switch-master", name + " " + from.host() + " " + from.port()
        + " " + to.host() + " " + to.port());
  }

  /** The detector suspects the master ({@code +sdown}) or no longer does ({@code -sdown}). */
  public static SentinelEvent subjectivelyDown(String name, HostPort at, boolean down) {
    return masterEvent(down ? "+sdown" : "-sdown", name, at, "");
  }

  /** Enough monitors agree the master is down ({@code +odown}), or it is back ({@code -odown}). */
  public static SentinelEvent objectivelyDown(String name, HostPort at, boolean down,
      int agreeing, int quorum) {
    return masterEvent(down ? "+odown" : "-odown", name, at,
        down ? " #quorum " + agreeing + "/" + quorum : "");
  }

  /** A failover of the master at {@code at} starts. */
  public static SentinelEvent tryFailover(String name, HostPort at) {
    return masterEvent("+try-failover", name, at, "");
  }

  /** The failover of the master that was at {@code oldAt} is complete. */
  public static SentinelEvent failoverEnd(String name, HostPort oldAt) {
    return masterEvent("+failover-end", name, oldAt, "");
  }

  private static SentinelEvent masterEvent(String type, String name, HostPort at, String tail) {
    requireWord("name", name);
    return new SentinelEvent(type, "master " + name + " " + at.host() + " " + at.port() + tail);
  }

  private static void requireLine(String what, String s) {
    if (s == null || s.isEmpty()) {
      throw new IllegalArgumentException("event " + what + " must not be empty");
    }
    if (s.indexOf('\r') >= 0 || s.indexOf('\n') >= 0) {
      throw new IllegalArgumentException("event " + what + " must not hold CR or LF");
    }
  }

  /** A master name travels in space-separated messages: no space, no control character. */
  static void requireWord(String what, String s) {
    if (s == null || s.isEmpty()) {
      throw new IllegalArgumentException(what + " must not be empty");
    }
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c <= ' ' || c == 0x7f) {
        throw new IllegalArgumentException(what + " must hold no space or control character");
      }
    }
  }
}
