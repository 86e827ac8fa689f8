package io.respawn.server.command;

import io.netty.handler.codec.redis.RedisMessage;
import java.util.concurrent.CompletableFuture;

/** A handler's answer that is only known later (WAITAOF). Never sent itself. */
record Deferred(CompletableFuture<RedisMessage> result) implements RedisMessage {}
