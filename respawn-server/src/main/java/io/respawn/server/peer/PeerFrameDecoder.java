package io.respawn.server.peer;

import io.respawn.node.recovery.ValuePull;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.codec.CorruptedFrameException;
import io.respawn.core.codec.CodecException;
import io.respawn.core.codec.Frames;
import java.nio.ByteBuffer;
import java.util.List;

/**
 * Cuts a peer byte stream into whole frames: first handshake frames ({@link Handshake}, length
 * from their cluster-id field), then, once {@link #handshakeDone} is called, replication frames
 * ({@link Frames}, length from their header). Emits each frame as a heap {@link ByteBuffer}, or,
 * where the handler after it asked for them ({@code pullFramesRetained}), a value-pull frame as a
 * retained slice of the received bytes ({@link ByteBuf}) that the handler releases once it has
 * decoded it: a new primary receives hundreds of MiB a second of BatchPull replies, and copying
 * each into a fresh array cost it a twentieth of its event loop and most of its young
 * collections. The handler checks content and checksums. Refuses a length above the limit
 * before buffering it. Owned by the channel's event loop.
 */
final class PeerFrameDecoder extends ByteToMessageDecoder {
  private final int frameBytesMax;
  private final boolean pullFramesRetained;
  private boolean handshakeDone;

  /** Every frame as a heap {@link ByteBuffer}. */
  PeerFrameDecoder(int frameBytesMax) {
    this(frameBytesMax, false);
  }

  PeerFrameDecoder(int frameBytesMax, boolean pullFramesRetained) {
    this.frameBytesMax = frameBytesMax;
    this.pullFramesRetained = pullFramesRetained;
  }

  void handshakeDone() {
    handshakeDone = true;
  }

  @Override
  protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
    while (true) {
      int length = handshakeDone ? messageFrameLength(in) : handshakeFrameLength(in);
      if (length < 0 || in.readableBytes() < length) {
        return;
      }
      if (handshakeDone && pullFramesRetained
          && ValuePull.isPullType(in.getUnsignedByte(in.readerIndex() + 1))) {
        out.add(in.readRetainedSlice(length)); // the handler releases it
        continue;
      }
      byte[] frame = new byte[length];
      in.readBytes(frame);
      out.add(ByteBuffer.wrap(frame));
      if (!handshakeDone) {
        return; // the handler must see the handshake frame before the next one is cut
      }
    }
  }

  private int handshakeFrameLength(ByteBuf in) {
    if (in.readableBytes() < Handshake.HEAD_BYTES) {
      return -1;
    }
    int textLength = in.getUnsignedShort(in.readerIndex() + Handshake.HEAD_BYTES - 2);
    if (textLength > Handshake.CLUSTER_ID_BYTES_MAX) {
      in.skipBytes(in.readableBytes()); // the stream is garbage: report it once
      throw new CorruptedFrameException("handshake cluster id of " + textLength
          + " bytes exceeds " + Handshake.CLUSTER_ID_BYTES_MAX);
    }
    return Handshake.HEAD_BYTES + textLength + Handshake.MAC_BYTES + 4;
  }

  private int messageFrameLength(ByteBuf in) {
    if (in.readableBytes() < Frames.HEADER_BYTES) {
      return -1;
    }
    ByteBuffer header = ByteBuffer.allocate(Frames.HEADER_BYTES);
    in.getBytes(in.readerIndex(), header);
    header.flip();
    try {
      return Frames.peekFrameLength(header, frameBytesMax - Frames.HEADER_BYTES
          - Frames.TRAILER_BYTES);
    } catch (CodecException e) {
      in.skipBytes(in.readableBytes());
      throw new CorruptedFrameException(e.getMessage());
    }
  }
}
