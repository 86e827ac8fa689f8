package io.respawn.server.resp;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.redis.ArrayRedisMessage;
import io.netty.handler.codec.redis.FullBulkStringRedisMessage;
import io.netty.handler.codec.redis.IntegerRedisMessage;
import io.netty.handler.codec.redis.RedisMessage;
import java.math.BigDecimal;
import java.math.MathContext;
import java.math.RoundingMode;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The reply types RESP3 adds to RESP2 (Netty's codec has only RESP2's), and the one rule for
 * sending them to a client that speaks RESP2.
 *
 * <p>Command handlers answer with these types where Redis does (HELLO and CONFIG GET answer maps,
 * COMMAND's flags are sets, INFO is a verbatim string...), whatever the client's protocol. The
 * command thread then either wraps the reply in a {@link Frame}, which {@link Resp3Encoder}
 * writes in RESP3, or turns it into plain RESP2 messages with {@link #toResp2}, exactly as Redis'
 * {@code addReply*} functions do for a RESP2 client:
 *
 * <pre>
 *   type        RESP3 wire                  RESP2 wire
 *   map         %&lt;pairs&gt; k v k v ...        *&lt;2*pairs&gt; k v k v ...
 *   set         ~&lt;n&gt; e ...                  *&lt;n&gt; e ...
 *   push        &gt;&lt;n&gt; e ...                  *&lt;n&gt; e ...
 *   double      ,1.5                        $3 1.5        (C's %.17g; inf, -inf, nan)
 *   boolean     #t  #f                      :1  :0
 *   verbatim    =&lt;4+len&gt; txt:&lt;text&gt;          $&lt;len&gt; &lt;text&gt;
 *   big number  (12345678901234567890       $20 12345678901234567890
 *   null        _   (for nil bulk and nil array alike)   $-1 / *-1
 * </pre>
 *
 * (each line ends in CRLF; counts and lengths are decimal ASCII).
 */
public final class Resp3 {
  private Resp3() {}

  /** A reply type that only RESP3 has. */
  public sealed interface Type extends RedisMessage
      permits MapReply, SetReply, PushReply, DoubleReply, BooleanReply, VerbatimReply,
          BigNumberReply {}

  /** A map: keys and values alternate. Invariant: an even number of elements. */
  public record MapReply(List<RedisMessage> keysAndValues) implements Type {
    public MapReply {
      if (keysAndValues.size() % 2 != 0) {
        throw new IllegalArgumentException("a map needs key-value pairs, got "
            + keysAndValues.size() + " elements");
      }
    }
  }

  /** An unordered collection of distinct elements. */
  public record SetReply(List<RedisMessage> items) implements Type {}

  /** Out-of-band data (pub/sub messages, invalidations) that answers no request. */
  public record PushReply(List<RedisMessage> items) implements Type {}

  public record DoubleReply(double value) implements Type {}

  public record BooleanReply(boolean value) implements Type {}

  /**
   * Text with a format: {@code txt} (plain) or {@code mkd} (markdown).
   *
   * @param format exactly three ASCII characters
   */
  public record VerbatimReply(String format, byte[] text) implements Type {
    public VerbatimReply {
      if (format.length() != 3) {
        throw new IllegalArgumentException("a verbatim format has 3 characters: " + format);
      }
    }
  }

  /** An integer beyond 64 bits, as decimal digits with an optional leading '-'. */
  public record BigNumberReply(String digits) implements Type {}

  /** A reply to be written in RESP3 (see {@link Resp3Encoder}); never nested. */
  public record Frame(RedisMessage reply) implements RedisMessage {}

  /**
   * {@code message} as a RESP2 client must see it: RESP3 types replaced by their RESP2 form,
   * arrays rebuilt only when something inside them changed. RESP2 messages come back as they are.
   */
  public static RedisMessage toResp2(RedisMessage message) {
    if (message instanceof Type t) {
      return switch (t) {
        case MapReply m -> new ArrayRedisMessage(allToResp2(m.keysAndValues()));
        case SetReply s -> new ArrayRedisMessage(allToResp2(s.items()));
        case PushReply p -> new ArrayRedisMessage(allToResp2(p.items()));
        case DoubleReply d -> bulk(formatDouble(d.value()));
        case BooleanReply b -> new IntegerRedisMessage(b.value() ? 1 : 0);
        case VerbatimReply v -> v.text().length == 0 ? FullBulkStringRedisMessage.EMPTY_INSTANCE
            : new FullBulkStringRedisMessage(Unpooled.wrappedBuffer(v.text()));
        case BigNumberReply n -> bulk(n.digits());
      };
    }
    if (message instanceof ArrayRedisMessage array && !array.isNull()) {
      List<RedisMessage> children = array.children();
      for (int i = 0; i < children.size(); i++) {
        RedisMessage child = children.get(i);
        RedisMessage converted = toResp2(child);
        if (converted != child) {
          List<RedisMessage> copy = new ArrayList<>(children.size());
          copy.addAll(children.subList(0, i));
          copy.add(converted);
          for (int j = i + 1; j < children.size(); j++) {
            copy.add(toResp2(children.get(j)));
          }
          // The original array is dropped unreleased: its children now belong to the copy.
          return new ArrayRedisMessage(copy);
        }
      }
    }
    return message;
  }

  private static List<RedisMessage> allToResp2(List<RedisMessage> items) {
    List<RedisMessage> out = new ArrayList<>(items.size());
    for (RedisMessage m : items) {
      out.add(toResp2(m));
    }
    return out;
  }

  private static RedisMessage bulk(String s) {
    ByteBuf b = Unpooled.wrappedBuffer(s.getBytes(StandardCharsets.US_ASCII));
    return new FullBulkStringRedisMessage(b);
  }

  /**
   * A double as Redis prints it: C's {@code %.17g} (17 significant digits, trailing zeros
   * dropped, exponent form below 1e-4 and from 1e17), and {@code inf}, {@code -inf}, {@code nan}.
   */
  public static String formatDouble(double v) {
    if (Double.isNaN(v)) {
      return "nan";
    }
    if (Double.isInfinite(v)) {
      return v > 0 ? "inf" : "-inf";
    }
    if (v == 0) {
      return (1 / v < 0) ? "-0" : "0";
    }
    BigDecimal rounded = new BigDecimal(v).round(new MathContext(17, RoundingMode.HALF_EVEN));
    int exponent = rounded.precision() - rounded.scale() - 1; // decimal exponent of first digit
    if (exponent < -4 || exponent >= 17) {
      BigDecimal mantissa = rounded.movePointLeft(exponent);
      String digits = stripZeros(mantissa.setScale(16, RoundingMode.HALF_EVEN).toPlainString());
      String sign = exponent < 0 ? "-" : "+";
      int abs = Math.abs(exponent);
      return digits + "e" + sign + (abs < 10 ? "0" : "") + abs;
    }
    return stripZeros(rounded.setScale(Math.max(0, 16 - exponent), RoundingMode.HALF_EVEN)
        .toPlainString());
  }

  private static String stripZeros(String fixed) {
    if (fixed.indexOf('.') < 0) {
      return fixed;
    }
    int end = fixed.length();
    while (fixed.charAt(end - 1) == '0') {
      end--;
    }
    if (fixed.charAt(end - 1) == '.') {
      end--;
    }
    return fixed.substring(0, end);
  }
}
