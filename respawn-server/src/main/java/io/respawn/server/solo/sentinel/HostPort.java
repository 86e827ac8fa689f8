package io.respawn.server.solo.sentinel;

/**
 * An address as clients are told it (SENTINEL get-master-addr-by-name, {@code +switch-master}):
 * an IP literal or host name, and a TCP port. Invariants: {@code host} is non-empty and holds no
 * space or control character (it travels in space-separated event messages); {@code port} is in
 * 1..65535.
 */
public record HostPort(String host, int port) {
  public HostPort {
    if (host == null || host.isEmpty()) {
      throw new IllegalArgumentException("host must not be empty");
    }
    for (int i = 0; i < host.length(); i++) {
      char c = host.charAt(i);
      if (c <= ' ' || c == 0x7f) {
        throw new IllegalArgumentException("host must hold no space or control character: "
            + host.replaceAll("\\p{Cntrl}", "?"));
      }
    }
    if (port < 1 || port > 65_535) {
      throw new IllegalArgumentException("port must be between 1 and 65535, got " + port);
    }
  }

  /** {@code host:port}, the name Redis Sentinel gives a replica. */
  @Override
  public String toString() {
    return host + ":" + port;
  }
}
