package io.respawn.server;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.SingleThreadEventLoop;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.respawn.server.command.CommandLoop;
import io.respawn.server.command.CommandSettings;
import io.respawn.server.command.Dispatcher;
import io.respawn.server.mirror.MirrorSite;
import io.respawn.server.resp.ClientRegistry;
import io.respawn.server.resp.RespPipeline;
import io.respawn.server.resp.SpinningSelectStrategy;
import io.respawn.storage.FileChannelDisk;
import io.respawn.storage.KvStore;
import io.respawn.storage.LogEngine;
import io.respawn.storage.StorageConfig;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One single-node RESP server: the storage engine and Netty event loops accepting clients, the
 * first of which also executes every command ({@link CommandLoop}). {@link #start} brings them up
 * in that order, {@link #close} takes them down in reverse and makes every write durable before
 * the engine closes.
 *
 * <p>Threads: {@code ioThreads} Netty event loops ({@code respawn-io-N}); the first owns command
 * semantics, the others (if any) only decode and encode; plus whatever the engine runs (flusher,
 * compactor).
 */
public final class RespawnServer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(RespawnServer.class);
  private static final long FLUSH_ON_CLOSE_SECONDS = 30;
  /** How long an idle event loop polls before blocking (see SpinningSelectStrategy). */
  private static final long IO_SPIN_NANOS = Long.getLong("respawn.ioSpinNanos", 20_000);

  private final ServerConfig config;
  private final KvStore store;
  private final CommandLoop commandLoop;
  private final EventLoopGroup ioGroup;
  /**
   * Whether {@link #ioGroup} is this server's (shut down by {@link #close}) or lent by its owner
   * (a shard member whose peer connections and node loop run on the same thread); then {@link
   * #clients} are closed one by one instead.
   */
  private final boolean ownsIoGroup;
  /** Client connections, tracked to close them when the event loops are not ours to stop; else null. */
  private final io.netty.channel.group.ChannelGroup clients;
  private final Channel serverChannel;
  private final boolean epoll;
  private boolean closed;
  private DataDirLock dataDirLock;
  private MirrorSite mirror;
  private final CompletableFuture<Void> shutdownRequested = new CompletableFuture<>();

  private RespawnServer(ServerConfig config, KvStore store, CommandLoop loop,
      EventLoopGroup ioGroup, boolean ownsIoGroup, io.netty.channel.group.ChannelGroup clients,
      Channel serverChannel, boolean epoll) {
    this.config = config;
    this.store = store;
    this.commandLoop = loop;
    this.ioGroup = ioGroup;
    this.ownsIoGroup = ownsIoGroup;
    this.clients = clients;
    this.serverChannel = serverChannel;
    this.epoll = epoll;
  }

  /** Directory under the data directory holding the storage engine's log. */
  public static final String STORE_DIR = "store";

  /**
   * Starts a server on the log engine in {@code <dataDir>/store}, holding the data directory's
   * lock for the server's lifetime.
   */
  public static RespawnServer start(ServerConfig config) throws IOException, InterruptedException {
    return start(config, (MirrorSite) null);
  }

  /** As {@link #start(ServerConfig)}, as a mirroring site when {@code mirror} is not null. */
  public static RespawnServer start(ServerConfig config, MirrorSite mirror)
      throws IOException, InterruptedException {
    DataDirLock lock = DataDirLock.acquire(config.dataDir());
    try {
      RespawnServer server = start(config, dir -> {
        Path storeDir = Files.createDirectories(dir.resolve(STORE_DIR));
        return LogEngine.open(new FileChannelDisk(storeDir), config.storage());
      }, d -> { }, mirror);
      server.dataDirLock = lock;
      return server;
    } catch (IOException | InterruptedException | RuntimeException e) {
      lock.close();
      throw e;
    }
  }

  /**
   * Opens the store, starts the event loops (the first executes commands) and binds; closes what
   * it opened on failure. Tests pass their own opener; the shipping server uses {@link
   * #start(ServerConfig)}.
   */
  public static RespawnServer start(ServerConfig config, StoreOpener opener)
      throws IOException, InterruptedException {
    return start(config, opener, d -> { }, null);
  }

  /**
   * As {@link #start(ServerConfig, StoreOpener)}, letting the caller finish setting up the
   * command layer before the first client connects (a shard member enables its cluster face).
   */
  public static RespawnServer start(ServerConfig config, StoreOpener opener,
      java.util.function.Consumer<Dispatcher> customize)
      throws IOException, InterruptedException {
    return start(config, opener, customize, null);
  }

  /**
   * As {@link #start(ServerConfig, StoreOpener, java.util.function.Consumer)}; with a {@code
   * mirror}, the command layer uses the store the mirror wraps around the engine, and the
   * mirror's link closes before the engine.
   */
  public static RespawnServer start(ServerConfig config, StoreOpener opener,
      java.util.function.Consumer<Dispatcher> customize, MirrorSite mirror)
      throws IOException, InterruptedException {
    return start(config, opener, customize, mirror, null);
  }

  /**
   * The event loops a server's clients are served on ({@code threads} of them, {@code
   * respawn-io-N}; the first executes commands): epoll with a short busy-poll before blocking
   * where the platform has it, else NIO.
   */
  public static EventLoopGroup newIoGroup(int threads) {
    IoHandlerFactory io = Epoll.isAvailable()
        ? EpollIoHandler.newFactory(0, SpinningSelectStrategy.factory(IO_SPIN_NANOS))
        : NioIoHandler.newFactory();
    return new MultiThreadIoEventLoopGroup(threads,
        new io.netty.util.concurrent.DefaultThreadFactory("respawn-io"), io);
  }

  /** The event loop of {@code group} that executes commands: its first. */
  public static SingleThreadEventLoop commandThread(EventLoopGroup group) {
    return (SingleThreadEventLoop) group.iterator().next();
  }

  /**
   * As {@link #start(ServerConfig, StoreOpener, java.util.function.Consumer, MirrorSite)}; with a
   * {@code sharedIoGroup} (from {@link #newIoGroup}) clients are served on it and commands
   * executed on its first loop, and the caller, who owns it, shuts it down after {@link #close}.
   */
  public static RespawnServer start(ServerConfig config, StoreOpener opener,
      java.util.function.Consumer<Dispatcher> customize, MirrorSite mirror,
      EventLoopGroup sharedIoGroup)
      throws IOException, InterruptedException {
    StorageConfig sc = config.storage();
    String compaction = sc.compactionIntervalMillis() == 0 ? "compaction off"
        : "compaction checked every " + sc.compactionIntervalMillis() + " ms at garbage ratio "
            + sc.compactionGarbageRatioMin();
    String storageDescription = "log (flush interval " + sc.flushIntervalMillis() + " ms, "
        + compaction + ", valueBytesMax " + sc.valueBytesMax() + ", keyBytesMax "
        + sc.keyBytesMax() + ")";
    KvStore store = opener.open(config.dataDir());
    if (mirror != null) {
      try {
        store = mirror.attach(store);
      } catch (InterruptedException | RuntimeException e) {
        mirror.close();
        store.close();
        throw e;
      }
    }
    ClientRegistry registry =
        new ClientRegistry(config.limits().clientsMax(), config.clientBuffers());
    CommandSettings settings = new CommandSettings(config.requirePass(), config.defaultDurability(),
        config.limits(), config.bindHost(), config.port(), config.dataDir().toString(),
        storageDescription, sc.keyBytesMax(), sc.valueBytesMax(), config.memoryBytesMax());
    boolean epoll = Epoll.isAvailable();
    Class<? extends ServerChannel> channelClass =
        epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
    boolean ownsGroup = sharedIoGroup == null;
    EventLoopGroup group = ownsGroup ? newIoGroup(config.ioThreads()) : sharedIoGroup;
    // Tracked only on a lent group, which this server closes connection by connection.
    io.netty.channel.group.ChannelGroup clients = ownsGroup ? null
        : new io.netty.channel.group.DefaultChannelGroup(
            io.netty.util.concurrent.GlobalEventExecutor.INSTANCE);
    // The first event loop owns command execution; with one I/O thread (the default) every
    // connection is served there and no request changes threads.
    Dispatcher dispatcher = new Dispatcher(store, System::currentTimeMillis, settings, registry);
    customize.accept(dispatcher);
    if (mirror != null) {
      dispatcher.enableMirror(mirror);
    }
    CompletableFuture<Void> shutdownRequested = new CompletableFuture<>();
    dispatcher.onShutdown(() -> shutdownRequested.complete(null));
    CommandLoop loop = new CommandLoop(dispatcher, commandThread(group));
    loop.start();
    try {
      ServerBootstrap bootstrap = new ServerBootstrap()
          .group(group)
          .channel(channelClass)
          .option(ChannelOption.SO_BACKLOG, 1024)
          .option(ChannelOption.SO_REUSEADDR, true)
          .childOption(ChannelOption.TCP_NODELAY, true)
          // Replies are encoded only while the socket's buffer is under the high mark (see
          // ClientConnection): the buffer stays small and a big reply streams.
          .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, new WriteBufferWaterMark(
              config.limits().socketBufferLowBytes(), config.limits().socketBufferHighBytes()))
          .childHandler(new io.netty.channel.ChannelInitializer<io.netty.channel.socket.SocketChannel>() {
            @Override
            protected void initChannel(io.netty.channel.socket.SocketChannel ch) {
              if (clients != null) {
                clients.add(ch);
              }
              RespPipeline.install(ch.pipeline(), loop, registry, config.limits());
            }
          });
      StartUpTenure.onceBeforeListening();
      Channel channel = bootstrap.bind(new InetSocketAddress(config.bindHost(), config.port()))
          .sync().channel();
      RespawnServer server =
          new RespawnServer(config, store, loop, group, ownsGroup, clients, channel, epoll);
      server.mirror = mirror;
      shutdownRequested.thenRun(() -> server.shutdownRequested.complete(null));
      return server;
    } catch (Exception e) {
      if (ownsGroup) {
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly();
      }
      loop.close();
      if (mirror != null) {
        mirror.close();
      }
      store.close();
      throw e;
    }
  }

  /** The port actually bound (differs from the config's when it asked for 0). */
  public int port() {
    return ((InetSocketAddress) serverChannel.localAddress()).getPort();
  }

  public boolean usesEpoll() {
    return epoll;
  }

  public ServerConfig config() {
    return config;
  }

  /**
   * Completes when a client's SHUTDOWN has made every write durable: the owner should then
   * {@link #close} the server (as on SIGTERM). Never completes otherwise.
   */
  public CompletableFuture<Void> shutdownRequested() {
    return shutdownRequested;
  }

  /**
   * Stops accepting, closes client connections, stops the event loops, flushes the engine so
   * ORDERED writes become durable, and closes it.
   */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    log.info("shutting down: closing listener and client connections");
    serverChannel.close().awaitUninterruptibly();
    if (ownsIoGroup) {
      ioGroup.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly();
      commandLoop.close();
    } else {
      clients.close().awaitUninterruptibly();
      commandLoop.close();
      // Commands already queued on the lent loop run before the store closes behind them.
      SingleThreadEventLoop commands = commandThread(ioGroup);
      if (!commands.inEventLoop()) {
        commands.submit(() -> { }).awaitUninterruptibly(TimeUnit.SECONDS.toMillis(5));
      }
    }
    if (mirror != null) {
      mirror.close();
    }
    try {
      store.flushAll().get(FLUSH_ON_CLOSE_SECONDS, TimeUnit.SECONDS);
      log.info("all writes are durable");
    } catch (Exception e) {
      log.error("final flush failed: {}", e.toString());
    }
    try {
      store.close();
    } catch (IOException e) {
      log.error("closing the store failed: {}", e.toString());
    }
    if (dataDirLock != null) {
      try {
        dataDirLock.close();
      } catch (IOException e) {
        log.warn("releasing the data directory lock failed: {}", e.toString());
      }
    }
  }
}
