package io.respawn.server.cli;

import io.respawn.mirror.FecParams;
import io.respawn.mirror.LinkConfig;
import io.respawn.server.mirror.MirrorAck;
import io.respawn.server.mirror.MirrorSettings;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

/** The mirroring flags of {@code respawn server} / {@code up}, and their validation. */
final class MirrorOptions {
  @Option(names = "--mirror-to", description = "Mirror every committed write to the mirror site (or WAN relay) at this UDP host:port.")
  String mirrorTo;

  @Option(names = "--mirror-of", description = "Be the mirror of the primary site whose datagrams come from this UDP host:port (datagrams from anywhere else are dropped).")
  String mirrorOf;

  @Option(names = "--mirror-port", defaultValue = "0", description = "Local UDP port of the mirror link on --bind; a mirror needs a fixed one (default ${DEFAULT-VALUE}: any).")
  int mirrorPort;

  @Option(names = "--mirror-ack", defaultValue = "LOCAL", description = "When writes are acknowledged w.r.t. the mirror by default: LOCAL (queued), NETWORK (data and FEC repairs on the wire) or REMOTE (applied by the mirror). Default: ${DEFAULT-VALUE}.")
  MirrorAck mirrorAck;

  @Option(names = "--mirror-link-id", defaultValue = "1", description = "Link id both sites put in every datagram; others' are dropped (default ${DEFAULT-VALUE}).")
  int linkId;

  @Option(names = "--mirror-fec", defaultValue = "8,3", description = "Layered-interleaving FEC r,c: a repair per r packets in each of c layers (interleaves 1, r, r^2...); c = 0 turns FEC off (default ${DEFAULT-VALUE}).")
  String fec;

  @Option(names = "--mirror-bandwidth-mbit", defaultValue = "0", description = "Pace the link to this many Mbit/s; 0 = unpaced (default ${DEFAULT-VALUE}).")
  double bandwidthMbit;

  @Option(names = "--mirror-flush-us", defaultValue = "1000", description = "Longest time a packet waits in a half-filled FEC bin while the link is idle, in microseconds (default ${DEFAULT-VALUE}).")
  long flushMicros;

  @Option(names = "--mirror-queue-bytes", converter = SizeConverter.class, defaultValue = "64m", description = "Bytes of committed writes waiting to be sent beyond which LOCAL acknowledgements wait (the link's backpressure, like a socket buffer); k/m/g suffixes (default ${DEFAULT-VALUE}).")
  long queueBytes;

  @Option(names = "--mirror-rto-ms", defaultValue = "500", description = "Resend unacknowledged packets after this long without progress, in ms (default ${DEFAULT-VALUE}).")
  long rtoMillis;

  /** The mirror settings, or null when neither --mirror-to nor --mirror-of is given. */
  MirrorSettings toSettings(CommandSpec spec, String bindHost, long groupBytesMax) {
    if (mirrorTo == null && mirrorOf == null) {
      return null;
    }
    if (mirrorTo != null && mirrorOf != null) {
      throw bad(spec, "--mirror-to and --mirror-of exclude each other: a node is the primary site"
          + " or the mirror");
    }
    if (mirrorPort < 0 || mirrorPort > 65535) {
      throw bad(spec, "--mirror-port must be between 0 and 65535, got " + mirrorPort);
    }
    if (mirrorOf != null && mirrorPort == 0) {
      throw bad(spec, "--mirror-of needs --mirror-port: the primary site sends to a fixed port");
    }
    String[] rc = fec.split(",");
    LinkConfig link;
    try {
      if (rc.length != 2) {
        throw new IllegalArgumentException("--mirror-fec must be r,c, got " + fec);
      }
      FecParams params = FecParams.of(Integer.parseInt(rc[0].trim()), Integer.parseInt(rc[1].trim()));
      LinkConfig defaults = LinkConfig.defaults(linkId);
      if (flushMicros < 0 || flushMicros > 1_000_000) {
        throw new IllegalArgumentException("--mirror-flush-us must be between 0 and 1000000, got "
            + flushMicros);
      }
      if (rtoMillis < 1 || rtoMillis > 60_000) {
        throw new IllegalArgumentException("--mirror-rto-ms must be between 1 and 60000, got "
            + rtoMillis);
      }
      if (bandwidthMbit < 0) {
        throw new IllegalArgumentException("--mirror-bandwidth-mbit must be >= 0, got "
            + bandwidthMbit);
      }
      if (queueBytes < 1) {
        throw new IllegalArgumentException("--mirror-queue-bytes must be >= 1, got " + queueBytes);
      }
      link = defaults.withFec(params)
          .withWindow(defaults.windowPacketsMax(), queueBytes)
          .withPacing((long) (bandwidthMbit * 1_000_000 / 8), defaults.burstBytes())
          .withTimers(flushMicros * 1000, rtoMillis * 1_000_000, defaults.nackDelayNanos(),
              defaults.nackRepeatNanos())
          .withGroupBytesMax((int) Math.min(Integer.MAX_VALUE - 64, groupBytesMax));
    } catch (NumberFormatException e) {
      throw bad(spec, "--mirror-fec must be two integers r,c, got " + fec);
    } catch (IllegalArgumentException e) {
      throw bad(spec, e.getMessage());
    }
    InetSocketAddress bind;
    try {
      bind = new InetSocketAddress(InetAddress.getByName(bindHost), mirrorPort);
    } catch (UnknownHostException e) {
      throw bad(spec, "--bind " + bindHost + " is not a known address");
    }
    InetSocketAddress to = mirrorTo == null ? null
        : WanCommand.parseAddress(spec, "--mirror-to", mirrorTo, false);
    InetSocketAddress of = mirrorOf == null ? null
        : WanCommand.parseAddress(spec, "--mirror-of", mirrorOf, false);
    return new MirrorSettings(to, of, bind, mirrorAck, link);
  }

  private static ParameterException bad(CommandSpec spec, String message) {
    return new ParameterException(spec.commandLine(), message);
  }
}
