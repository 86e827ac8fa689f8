package io.respawn.server.shard;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.respawn.server.RespawnServer;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A flood of passes on the event loop the member's clients share: passes left over and queued
 * {@link PassQueue#queueAfterIo after the I/O poll} let a client's bytes be read between two of
 * them; passes re-queued as plain tasks (what the node loop did before) hold every read until
 * the flood ends. Real sockets on the launcher's own event loop group (epoll where available).
 */
class PassQueueTest {
  /** Passes in the flood, each busy for {@link #PASS_NANOS}: 100 ms in all. */
  private static final int FLOOD_PASSES = 50;
  private static final long PASS_NANOS = 2_000_000L;

  private EventLoopGroup group;
  private Channel server;
  /** The flood's pass count when the client's byte was read, -1 before. */
  private final AtomicInteger readAtPass = new AtomicInteger(-1);
  private final AtomicInteger passesRun = new AtomicInteger();
  private final CountDownLatch read = new CountDownLatch(1);
  private final CountDownLatch accepted = new CountDownLatch(1);

  @BeforeEach
  void startServer() throws Exception {
    group = RespawnServer.newIoGroup(1);
    server = new ServerBootstrap().group(group)
        .channel(Epoll.isAvailable() ? EpollServerSocketChannel.class : NioServerSocketChannel.class)
        .childHandler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            accepted.countDown();
            ch.pipeline().addLast(new ChannelInboundHandlerAdapter() {
              @Override
              public void channelRead(ChannelHandlerContext ctx, Object msg) {
                ((ByteBuf) msg).release();
                readAtPass.compareAndSet(-1, passesRun.get());
                read.countDown();
              }
            });
          }
        })
        .bind(new InetSocketAddress("127.0.0.1", 0)).sync().channel();
  }

  @AfterEach
  void stop() throws Exception {
    server.close().sync();
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
  }

  /** Floods the loop with passes re-queued by {@code requeue}; returns the pass of the read. */
  private int floodWhileClientWrites(Consumer<PassQueue> requeue) throws Exception {
    EventLoop loop = group.next();
    try (Socket client = new Socket("127.0.0.1",
        ((InetSocketAddress) server.localAddress()).getPort())) {
      assertThat(accepted.await(5, TimeUnit.SECONDS)).isTrue();
      CountDownLatch flooding = new CountDownLatch(1);
      CountDownLatch flooded = new CountDownLatch(1);
      PassQueue[] queue = new PassQueue[1];
      queue[0] = new PassQueue(() -> {
        flooding.countDown();
        long end = System.nanoTime() + PASS_NANOS;
        while (System.nanoTime() < end) {
          Thread.onSpinWait();
        }
        if (passesRun.incrementAndGet() < FLOOD_PASSES) {
          requeue.accept(queue[0]);
        } else {
          flooded.countDown();
        }
      });
      queue[0].attach(loop);
      queue[0].queue();
      assertThat(flooding.await(5, TimeUnit.SECONDS)).isTrue();
      OutputStream out = client.getOutputStream();
      out.write('x');
      out.flush();
      assertThat(read.await(5, TimeUnit.SECONDS)).isTrue();
      assertThat(flooded.await(5, TimeUnit.SECONDS)).isTrue();
      return readAtPass.get();
    }
  }

  @Test
  void passesQueuedAfterIoLetAClientBeReadBetweenThem() throws Exception {
    int pass = floodWhileClientWrites(PassQueue::queueAfterIo);

    // Written while the first pass ran: read right after it, or after the next at worst.
    assertThat(pass).isLessThanOrEqualTo(3);
  }

  @Test
  void passesRequeuedAsTasksHoldTheClientUntilTheFloodEnds() throws Exception {
    int pass = floodWhileClientWrites(PassQueue::queue);

    // Netty runs its task queue dry (checking a quantum of at least 100 ms every 64 tasks)
    // before the next I/O poll: the byte waits for the whole flood. This is why leftovers take
    // the other route.
    assertThat(pass).isEqualTo(FLOOD_PASSES);
  }
}
