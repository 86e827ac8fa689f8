package io.respawn.server.peer;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.respawn.node.recovery.ValuePull;
import io.respawn.node.recovery.ValuePull.PullMessage;
import java.nio.ByteBuffer;

/** The transport's encoding of value-pull frames into Netty's direct memory. */
public final class PullFrames {
  private PullFrames() {}

  /**
   * Encodes {@code m} as one frame into a direct buffer of {@code alloc}, which the caller owns
   * (and releases, or hands to Netty): a backup streams hundreds of MiB a second of BatchPull
   * replies, and a heap frame cost zeroing it, copying into it and Netty's copy out of it into a
   * direct buffer for the socket (a fifth of the backup's answering thread in E2, twenty-eighth
   * session). The same bytes as {@link ValuePull#encode}.
   */
  public static ByteBuf encodeDirect(PullMessage m, ByteBufAllocator alloc) {
    int bytes = ValuePull.frameBytes(m);
    ByteBuf buf = alloc.directBuffer(bytes, bytes);
    try {
      if (buf.nioBufferCount() != 1) {
        throw new IllegalStateException("a direct buffer of " + buf.nioBufferCount()
            + " parts: " + buf);
      }
      ByteBuffer b = buf.nioBuffer(0, bytes); // a view of the buffer's memory
      ValuePull.writeFrame(m, b, bytes);
      if (b.hasRemaining()) {
        throw new IllegalStateException(b.remaining() + " bytes of the frame left unwritten");
      }
      buf.writerIndex(bytes);
      return buf;
    } catch (RuntimeException e) {
      buf.release();
      throw e;
    }
  }
}
