package io.respawn.server.command;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * WATCH bookkeeping (optimistic transactions, as in Redis): which sessions watch which keys.
 * Any change to a watched key — a write, a delete, a lazy expiry, FLUSHALL — by any client marks
 * every session watching it, and that session's next EXEC answers a null array instead of running.
 * EXEC, DISCARD, UNWATCH and a closed connection forget a session's watches.
 *
 * <p>Owned by the command thread. Costs nothing on the write path while nobody watches:
 * {@link #touch} returns at once when the map is empty.
 */
final class Watches {
  /** Keys one session may watch at once; WATCH past it is refused. */
  static final int KEYS_PER_SESSION_MAX = 100_000;

  private final Map<ByteKey, List<Session>> watchers = new HashMap<>();

  /** Adds keys to the session's watch set. */
  void watch(Session session, byte[][] args, int from) {
    if (session.watched == null) {
      session.watched = new LinkedHashSet<>();
    }
    if (session.watched.size() + (args.length - from) > KEYS_PER_SESSION_MAX) {
      throw ReplyException.err("WATCH of more than " + KEYS_PER_SESSION_MAX + " keys");
    }
    for (int i = from; i < args.length; i++) {
      ByteKey key = new ByteKey(args[i]);
      if (session.watched.add(key)) {
        watchers.computeIfAbsent(key, k -> new ArrayList<>(2)).add(session);
      }
    }
  }

  /** Forgets every key the session watches and clears its dirty flag. */
  void unwatchAll(Session session) {
    Set<ByteKey> keys = session.watched;
    session.watchDirty = false;
    if (keys == null) {
      return;
    }
    for (ByteKey key : keys) {
      List<Session> list = watchers.get(key);
      if (list != null) {
        list.remove(session);
        if (list.isEmpty()) {
          watchers.remove(key);
        }
      }
    }
    session.watched = null;
  }

  /** A key changed: every session watching it will abort its next EXEC. */
  void touch(byte[] key) {
    if (watchers.isEmpty()) {
      return;
    }
    List<Session> list = watchers.get(new ByteKey(key));
    if (list != null) {
      for (Session s : list) {
        s.watchDirty = true;
      }
    }
  }

  /** Every key changed (FLUSHALL). */
  void touchAll() {
    for (List<Session> list : watchers.values()) {
      for (Session s : list) {
        s.watchDirty = true;
      }
    }
  }

  /** Keys watched by at least one session (tests check that disconnects clean up). */
  int watchedKeys() {
    return watchers.size();
  }
}
