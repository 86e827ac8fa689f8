package io.respawn.server.command;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/**
 * WATCH bookkeeping (optimistic transactions, as in Redis 7.0): which sessions watch which keys.
 * A change to a watched key — a write, a delete, a lazy expiry — by any client marks every
 * session watching it, and that session's next EXEC answers a null array instead of running.
 * FLUSHALL/FLUSHDB mark only the sessions watching a key that existed. A watched key whose TTL
 * runs out before EXEC also aborts it, read or not. A key that had already expired (but was not
 * yet removed) when it was WATCHed is a special case, as in Redis: its removal is no change.
 * EXEC, DISCARD, UNWATCH and a closed connection forget a session's watches.
 *
 * <p>Owned by the command thread. Costs nothing on the write path while nobody watches:
 * {@link #touch} returns at once when the map is empty.
 */
final class Watches {
  /** Keys one session may watch at once; WATCH past it is refused. */
  static final int KEYS_PER_SESSION_MAX = 100_000;

  /** One session watching one key. */
  static final class Watch {
    final Session session;
    final ByteKey key;
    /** The key was present but past its TTL at WATCH time (Redis's {@code wk->expired}). */
    boolean expiredAtWatch;

    Watch(Session session, ByteKey key, boolean expiredAtWatch) {
      this.session = session;
      this.key = key;
      this.expiredAtWatch = expiredAtWatch;
    }
  }

  private final Map<ByteKey, List<Watch>> watchers = new HashMap<>();

  /**
   * Adds keys to the session's watch set; {@code expiredNow} tells whether a key is present but
   * already past its TTL.
   */
  void watch(Session session, byte[][] args, int from, Predicate<byte[]> expiredNow) {
    if (session.watched == null) {
      session.watched = new LinkedHashMap<>();
    }
    if (session.watched.size() + (args.length - from) > KEYS_PER_SESSION_MAX) {
      throw ReplyException.err("WATCH of more than " + KEYS_PER_SESSION_MAX + " keys");
    }
    for (int i = from; i < args.length; i++) {
      ByteKey key = new ByteKey(args[i]);
      if (!session.watched.containsKey(key)) {
        Watch w = new Watch(session, key, expiredNow.test(args[i]));
        session.watched.put(key, w);
        watchers.computeIfAbsent(key, k -> new ArrayList<>(2)).add(w);
      }
    }
  }

  /** Forgets every key the session watches and clears its dirty flag. */
  void unwatchAll(Session session) {
    Map<ByteKey, Watch> keys = session.watched;
    session.watchDirty = false;
    if (keys == null) {
      return;
    }
    for (Watch w : keys.values()) {
      List<Watch> list = watchers.get(w.key);
      if (list != null) {
        list.remove(w);
        if (list.isEmpty()) {
          watchers.remove(w.key);
        }
      }
    }
    session.watched = null;
  }

  /**
   * A key changed: every session watching it will abort its next EXEC. {@code deleted}: the
   * change removed the key, which is no change for a watch that found it already expired.
   */
  void touch(byte[] key, boolean deleted) {
    if (watchers.isEmpty()) {
      return;
    }
    List<Watch> list = watchers.get(new ByteKey(key));
    if (list != null) {
      for (Watch w : list) {
        if (w.expiredAtWatch && deleted) {
          w.expiredAtWatch = false; // the stale key is gone: logically nothing changed
        } else {
          w.session.watchDirty = true;
        }
      }
    }
  }

  /**
   * Every key is about to be removed (FLUSHALL, FLUSHDB): marks the sessions watching a key that
   * is {@code present} now (expired or not), as Redis 7.0 does; a watched key that does not exist
   * is not changed by a flush.
   */
  void touchAll(Predicate<byte[]> present) {
    for (Map.Entry<ByteKey, List<Watch>> e : watchers.entrySet()) {
      if (!present.test(e.getKey().bytes())) {
        continue;
      }
      for (Watch w : e.getValue()) {
        if (w.expiredAtWatch) {
          w.expiredAtWatch = false;
        } else {
          w.session.watchDirty = true;
        }
      }
    }
  }

  /**
   * A key the session watched while it was live has passed its TTL since ({@code expiredNow}):
   * EXEC must abort even though nobody touched the key (Redis's {@code isWatchedKeyExpired}).
   */
  boolean anyExpiredSinceWatch(Session session, Predicate<byte[]> expiredNow) {
    if (session.watched == null) {
      return false;
    }
    for (Watch w : session.watched.values()) {
      if (!w.expiredAtWatch && expiredNow.test(w.key.bytes())) {
        return true;
      }
    }
    return false;
  }

  /** Keys watched by at least one session (tests check that disconnects clean up). */
  int watchedKeys() {
    return watchers.size();
  }
}
