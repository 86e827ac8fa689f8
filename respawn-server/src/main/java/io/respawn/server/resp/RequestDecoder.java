package io.respawn.server.resp;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;

/**
 * Decodes client bytes straight into {@link Request}s: a RESP array of bulk strings
 * ({@code *2\r\n$3\r\nGET\r\n$1\r\nk\r\n}) or one inline line ({@code GET k\r\n}, or
 * ending in a bare LF), within {@link RespLimits}. Arguments are copied into plain byte arrays
 * the command thread can keep; no Netty buffer outlives the read. Empty requests ({@code *0}, a
 * negative count such as {@code *-1} or {@code *-10}, blank lines) are dropped, as Redis does; a
 * line that does not start with {@code *} is an inline command, whatever its first byte.
 *
 * <p>Limits are checked as soon as the bytes that break them arrive: an argument count or a bulk
 * length at its header (an announced 600 MB argument is refused before anything is buffered),
 * the request's total argument bytes at each bulk header, an inline line as soon as it is longer
 * than allowed even if its end has not arrived. A header line (a {@code *} or {@code $} count)
 * longer than {@value #NUMBER_LINE_MAX} characters is refused the same way.
 *
 * <p>On the first malformed or over-limit input it raises a {@link RespProtocolException} (after
 * passing on the requests decoded before it) and discards everything after it: the connection
 * answers the error and closes. The decision never depends on how the bytes were chunked. The
 * error texts are Redis' ({@code invalid multibulk length}, {@code expected '$', got 'x'}, {@code
 * invalid bulk length}, {@code too big inline request}, {@code unbalanced quotes in request}),
 * also when the cause is one of our limits; the exception's detail names the limit for the log.
 *
 * <p>State, owned by the channel's event loop: {@code args == null} exactly between requests;
 * inside an array, {@code argIndex} arguments are complete and {@code bulkLength >= 0} while the
 * header of argument {@code argIndex} has been read but not its content. Content is only taken
 * once the whole argument and its CRLF are buffered, except for arguments of at least
 * {@value #STREAMED_ARG_BYTES_MIN} bytes, which are copied out as they arrive.
 */
public final class RequestDecoder extends ByteToMessageDecoder {
  /** Longest accepted count in a {@code *} or {@code $} header line, like a RESP integer. */
  static final int NUMBER_LINE_MAX = 20;
  private static final byte[] EMPTY = new byte[0];

  private final RespLimits limits;
  private boolean failed;

  private byte[][] args;
  private int argCount;
  private int argIndex;
  private int bulkLength = -1;
  private long requestBytes;
  /** Bytes of the complete arguments of the request being decoded. */
  private long argBytes;
  /** A large argument being filled as its bytes arrive (see {@link #readLargeArgument}). */
  private byte[] partialArg;
  private int partialArgBytes;

  /** Arguments at least this long are copied out as they arrive instead of being buffered. */
  static final int STREAMED_ARG_BYTES_MIN = 64 << 10;

  public RequestDecoder(RespLimits limits) {
    this.limits = limits;
  }

  /** Bytes received and not yet taken into a request (for CLIENT LIST's qbuf). */
  int bufferedBytes() {
    return internalBuffer().readableBytes();
  }

  /** Room left in the receive buffer before it grows (for CLIENT LIST's qbuf-free). */
  int bufferFreeBytes() {
    return internalBuffer().writableBytes();
  }

  @Override
  protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
    if (failed) {
      in.skipBytes(in.readableBytes());
      return;
    }
    try {
      while (in.isReadable()) {
        if (args == null) {
          if (!readRequestStart(in, out)) {
            return;
          }
        } else if (!readArgument(in)) {
          return;
        }
        if (args != null && argIndex == argCount) {
          byte[][] done = args.length == argCount ? args : Arrays.copyOf(args, argCount);
          args = null;
          out.add(Request.of(done));
        }
      }
    } catch (RespProtocolException e) {
      failed = true;
      args = null;
      partialArg = null;
      in.skipBytes(in.readableBytes());
      throw e;
    }
  }

  /** Reads a {@code *} header or a whole inline line; false when more bytes are needed. */
  private boolean readRequestStart(ByteBuf in, List<Object> out) {
    int start = in.readerIndex();
    if (in.getByte(start) != '*') {
      // As in Redis, anything else starts an inline command, even another RESP type's byte.
      return readInline(in, start, out);
    }
    int lf = findLineEnd(in, start + 1, "invalid multibulk length");
    if (lf < 0) {
      return false;
    }
    long count = parseCount(in, start + 1, lf, "invalid multibulk length");
    in.readerIndex(lf + 1);
    if (count > limits.argCountMax()) {
      throw new RespProtocolException("invalid multibulk length",
          "multibulk length " + count + " exceeds argCountMax " + limits.argCountMax());
    }
    // A count of 0 or below (*0, *-1, *-10) is an empty request, ignored as Redis does.
    if (count > 0) {
      argCount = (int) count;
      // Grown as arguments arrive: a large announced count allocates nothing up front.
      args = new byte[Math.min(argCount, 1024)][];
      argIndex = 0;
      bulkLength = -1;
      requestBytes = 0;
      argBytes = 0;
    }
    return true;
  }

  private boolean readInline(ByteBuf in, int start, List<Object> out) {
    int max = limits.inlineLengthMax();
    int lf = in.indexOf(start, in.writerIndex(), (byte) '\n');
    if (lf < 0) {
      // Everything buffered is the line so far (plus perhaps its CR).
      if (in.writerIndex() - start > max + 1) {
        throw tooBigInline();
      }
      return false;
    }
    // The line ends at LF, with an optional CR before it (as in Redis: netcat and telnet differ).
    int length = lf > start && in.getByte(lf - 1) == '\r' ? lf - start - 1 : lf - start;
    if (length > max) {
      throw tooBigInline();
    }
    String line = in.toString(start, length, StandardCharsets.UTF_8);
    in.readerIndex(lf + 1);
    byte[][] lineArgs = InlineArgs.split(line);
    if (lineArgs.length > 0) {
      out.add(Request.of(lineArgs));
    }
    return true;
  }

  private RespProtocolException tooBigInline() {
    return new RespProtocolException("too big inline request",
        "inline request longer than inlineLengthMax " + limits.inlineLengthMax() + " bytes");
  }

  /** Reads one argument (its header, then its content); false when more bytes are needed. */
  private boolean readArgument(ByteBuf in) {
    if (bulkLength < 0) {
      int start = in.readerIndex();
      byte type = in.getByte(start);
      if (type != '$') {
        String got = "expected '$', got '" + (char) (type & 0xff) + "'";
        throw new RespProtocolException(got, got);
      }
      int lf = findLineEnd(in, start + 1, "invalid bulk length");
      if (lf < 0) {
        return false;
      }
      long length = parseCount(in, start + 1, lf, "invalid bulk length");
      in.readerIndex(lf + 1);
      if (length < 0) {
        throw new RespProtocolException("invalid bulk length", "negative bulk length " + length);
      }
      if (length > limits.bulkLengthMax()) {
        throw new RespProtocolException("invalid bulk length",
            "bulk length " + length + " exceeds bulkLengthMax " + limits.bulkLengthMax());
      }
      requestBytes += length;
      if (requestBytes > limits.requestBytesMax()) {
        // Redis has no such error (its query buffer limit closes the connection silently).
        throw new RespProtocolException(
            "request too large (requestBytesMax is " + limits.requestBytesMax() + " bytes)");
      }
      bulkLength = (int) length;
    }
    if (bulkLength >= STREAMED_ARG_BYTES_MIN) {
      return readLargeArgument(in);
    }
    int start = in.readerIndex();
    int available = in.writerIndex() - start;
    if (available < bulkLength) {
      return false;
    }
    // The content must be followed by CRLF; a wrong byte there is refused as soon as it is seen.
    // (Redis does not check, it skips two bytes; a wrong byte here means the client and the
    // server disagree on the framing, so nothing after it can be trusted.)
    if (available > bulkLength && in.getByte(start + bulkLength) != '\r'
        || available > bulkLength + 1 && in.getByte(start + bulkLength + 1) != '\n') {
      throw new RespProtocolException("bulk string longer than its announced length");
    }
    if (available < bulkLength + 2) {
      return false;
    }
    byte[] arg = bulkLength == 0 ? EMPTY : new byte[bulkLength];
    in.getBytes(start, arg);
    in.readerIndex(start + bulkLength + 2);
    addArgument(arg);
    return true;
  }

  private void addArgument(byte[] arg) {
    bulkLength = -1;
    if (argIndex == args.length) {
      args = Arrays.copyOf(args, (int) Math.min(argCount, 2L * args.length));
    }
    args[argIndex++] = arg;
    argBytes += arg.length;
  }

  /**
   * Takes a large argument's content out of Netty's buffer as it arrives, into an array grown by
   * doubling up to the announced length. Buffering it whole first would make the decoder's
   * cumulation buffer grow in 4 MiB steps, re-copying everything each time (a 512 MB value:
   * about 32 GB of copying); this way each byte is copied about twice, and memory stays in
   * proportion to what the client really sent, not to what it announced.
   */
  private boolean readLargeArgument(ByteBuf in) {
    if (partialArg == null) {
      partialArg = new byte[STREAMED_ARG_BYTES_MIN];
      partialArgBytes = 0;
    }
    int n = Math.min(bulkLength - partialArgBytes, in.readableBytes());
    if (n > 0) {
      if (partialArgBytes + n > partialArg.length) {
        long grown = Math.max(partialArgBytes + n, 2L * partialArg.length);
        partialArg = Arrays.copyOf(partialArg, (int) Math.min(bulkLength, grown));
      }
      in.readBytes(partialArg, partialArgBytes, n);
      partialArgBytes += n;
    }
    if (partialArgBytes < bulkLength) {
      return false;
    }
    int start = in.readerIndex();
    int available = in.readableBytes();
    if (available > 0 && in.getByte(start) != '\r'
        || available > 1 && in.getByte(start + 1) != '\n') {
      throw new RespProtocolException("bulk string longer than its announced length");
    }
    if (available < 2) {
      return false;
    }
    in.skipBytes(2);
    assert partialArg.length == bulkLength : partialArg.length + " != " + bulkLength;
    byte[] arg = partialArg;
    partialArg = null;
    addArgument(arg);
    return true;
  }

  /**
   * Index of the LF ending a header line whose count starts at {@code from}, or -1 if it has not
   * arrived; refuses a line longer than {@link #NUMBER_LINE_MAX} whether or not it is complete.
   */
  private static int findLineEnd(ByteBuf in, int from, String error) {
    int to = Math.min(in.writerIndex(), from + NUMBER_LINE_MAX + 2);
    int lf = in.indexOf(from, to, (byte) '\n');
    if (lf < 0 && to - from >= NUMBER_LINE_MAX + 2) {
      throw new RespProtocolException(error);
    }
    return lf;
  }

  /**
   * Bytes this decoder holds for its client: received and not yet decoded, plus the arguments of
   * a request still being decoded (a large one's array as allocated so far). Event loop only.
   */
  long heldBytes() {
    return internalBuffer().readableBytes() + (args == null ? 0 : argBytes)
        + (partialArg == null ? 0 : partialArg.length);
  }

  /** Parses {@code -?[0-9]+\r} between {@code from} and the LF at {@code lf}. */
  private static long parseCount(ByteBuf in, int from, int lf, String error) {
    int end = lf - 1; // the CR
    if (end < from || in.getByte(end) != '\r') {
      throw new RespProtocolException(error);
    }
    int i = from;
    boolean negative = in.getByte(i) == '-';
    if (negative) {
      i++;
    }
    if (i == end) {
      throw new RespProtocolException(error);
    }
    long value = 0;
    for (; i < end; i++) {
      byte b = in.getByte(i);
      if (b < '0' || b > '9' || value > (Long.MAX_VALUE - 9) / 10) {
        throw new RespProtocolException(error);
      }
      value = value * 10 + (b - '0');
    }
    return negative ? -value : value;
  }
}
