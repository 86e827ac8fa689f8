package io.respawn.server.command;

import io.netty.handler.codec.redis.RedisMessage;
import java.util.Set;

/**
 * One entry of the command table.
 *
 * @param name lower-case name, as COMMAND and error messages show it
 * @param arity Redis convention: N = exactly N arguments including the name, -N = at least N
 * @param flags behaviour flags
 * @param firstKey position of the first key argument (0 = none), for COMMAND
 * @param lastKey position of the last key (-1 = last argument)
 * @param step distance between keys
 * @param handler the semantics; runs on the command thread
 */
record CommandSpec(
    String name, int arity, Set<Flag> flags, int firstKey, int lastKey, int step,
    Handler handler) {

  /** Command semantics: returns the reply or throws {@link ReplyException}. */
  @FunctionalInterface
  interface Handler {
    RedisMessage run(Session session, byte[][] args);
  }

  enum Flag {
    /** Changes data. */
    WRITE,
    /** Only reads data. */
    READONLY,
    /** Allowed before AUTH when a password is set. */
    NO_AUTH,
    /** MULTI, EXEC, DISCARD, QUIT: run at once even inside MULTI. */
    TX_CONTROL,
    /** Refused inside MULTI (it would block or wait). */
    NO_MULTI,
    /** Reads the whole keyspace or waits for writes: pending writes are committed first. */
    WHOLE_KEYSPACE,
    /** Administrative. */
    ADMIN,
    /**
     * May grow memory (Redis's denyoom): refused with -OOM while the store uses more than the
     * memory limit. Every write command that can store new bytes carries it.
     */
    DENY_OOM
  }

  boolean arityOk(int argc) {
    return arity >= 0 ? argc == arity : argc >= -arity;
  }

  boolean has(Flag flag) {
    return flags.contains(flag);
  }
}
