package io.respawn.server.command;

import io.netty.handler.codec.redis.RedisMessage;
import io.respawn.server.mirror.MirrorAck;
import io.respawn.server.mirror.MirrorControl;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * {@code RESPAWN MIRROR ...}: the connection's acknowledgement mode (LOCAL, NETWORK, REMOTE; no
 * argument: the current one), {@code STATUS} (the link's positions and counters) and {@code
 * PROMOTE} (a mirror stops applying and serves writes). Command thread only.
 */
final class MirrorCommands {
  private MirrorCommands() {}

  static RedisMessage run(Dispatcher d, Session s, byte[][] a) {
    MirrorControl mirror = d.mirror;
    if (mirror == null) {
      throw ReplyException.err("this node does not mirror: start it with --mirror-to or"
          + " --mirror-of");
    }
    if (a.length == 2) {
      return Replies.bulk(s.mirrorAck.name());
    }
    if (a.length != 3) {
      throw new ReplyException(Dispatcher.wrongArity("respawn|mirror"));
    }
    String sub = Args.lower(a[2]);
    switch (sub) {
      case "status" -> {
        return new Deferred(mirror.status().thenApply(text -> (RedisMessage) Replies.bulk(text)));
      }
      case "promote" -> {
        CompletableFuture<RedisMessage> reply = mirror.promote()
            .handle((text, e) -> e == null ? Replies.bulk(text) : Replies.error("ERR "
                + (e instanceof CompletionException && e.getCause() != null ? e.getCause() : e)
                .getMessage()));
        return new Deferred(reply);
      }
      default -> {
        try {
          s.mirrorAck = MirrorAck.valueOf(sub.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
          throw ReplyException.err("mirror acknowledgement must be LOCAL, NETWORK or REMOTE"
              + " (or STATUS, PROMOTE), got '" + Args.text(a[2]) + "'");
        }
        return Replies.OK;
      }
    }
  }
}
