package io.respawn.server.mirror;

import io.respawn.mirror.LinkConfig;
import java.net.InetSocketAddress;
import java.util.Objects;

/**
 * How this node mirrors, from the command line: {@code --mirror-to} (a primary site: ship to
 * that address) or {@code --mirror-of} (a mirror: accept from that address only), the local UDP
 * address, the default acknowledgement and the link's settings.
 *
 * @param shipTo the mirror's (or the relay's) UDP address, for a primary site; else null
 * @param acceptFrom the primary's UDP address as this node sees it, for a mirror; else null
 * @param bind the local UDP address (port 0 = any)
 * @param defaultAck the acknowledgement of new connections
 * @param link the link settings (both ends must agree on the link id and frame size)
 */
public record MirrorSettings(
    InetSocketAddress shipTo,
    InetSocketAddress acceptFrom,
    InetSocketAddress bind,
    MirrorAck defaultAck,
    LinkConfig link) {

  public MirrorSettings {
    Objects.requireNonNull(bind, "bind");
    Objects.requireNonNull(defaultAck, "defaultAck");
    Objects.requireNonNull(link, "link");
    if ((shipTo == null) == (acceptFrom == null)) {
      throw new IllegalArgumentException("a node mirrors either to (--mirror-to) or of"
          + " (--mirror-of) another, not both");
    }
  }

  /** The site object for these settings. */
  public MirrorSite newSite() {
    return shipTo != null ? new ShippingSite(this) : new ReceivingSite(this);
  }
}
