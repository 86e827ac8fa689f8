package io.respawn.server.solo.sentinel;

import io.respawn.server.resp.ClientConnection;
import java.util.LinkedHashSet;

/**
 * What the Sentinel endpoint remembers about one client connection: its protocol, its name and
 * library (CLIENT SETNAME / SETINFO, HELLO SETNAME) and its pub/sub subscriptions. Owned by the
 * endpoint's event loop.
 *
 * <p>Invariant: {@code subscriptionBytes} = the sum of the lengths of {@code channels} and
 * {@code patterns}; their total count is at most {@link Subscriptions#SUBSCRIPTIONS_MAX} and
 * their bytes at most {@link Subscriptions#SUBSCRIPTION_BYTES_MAX}.
 */
final class SentinelSession {
  final ClientConnection connection;
  /** RESP version: 2, or 3 after HELLO 3. */
  int resp = 2;
  String name = "";
  String libName = "";
  String libVersion = "";
  final LinkedHashSet<String> channels = new LinkedHashSet<>();
  final LinkedHashSet<String> patterns = new LinkedHashSet<>();
  long subscriptionBytes;

  SentinelSession(ClientConnection connection) {
    this.connection = connection;
  }

  /** Channels plus patterns: the count Redis puts in (un)subscribe confirmations. */
  int subscriptionCount() {
    return channels.size() + patterns.size();
  }

  /**
   * In RESP2, a client with subscriptions may only (un)subscribe, PING, QUIT and RESET: its
   * connection carries messages. RESP3 keeps messages apart (push frames), so anything goes.
   */
  boolean inSubscribedMode() {
    return resp == 2 && subscriptionCount() > 0;
  }
}
