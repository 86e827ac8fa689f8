package io.respawn.server.command;

import java.math.BigInteger;
import java.nio.charset.StandardCharsets;

/**
 * The x86-64 {@code long double} (80-bit extended precision: a 64-bit significand, exponents
 * down to 2^-16445 with subnormals, overflow at 2^16384) that Redis's INCRBYFLOAT computes in,
 * emulated exactly so Respawn answers byte for byte what Redis does: {@code 0.1 + 0.2} is
 * {@code 0.3} (a {@code double} would give {@code 0.30000000000000004}), and
 * {@code -163.7 + -150.961622} is {@code -314.66162199999999999} as in Redis.
 *
 * <p>A finite value is {@code sign × m × 2^-k} with {@code m < 2^64}. {@link #parse} follows
 * glibc's {@code strtold} under Redis's {@code string2ld} rules (correctly rounded, to nearest,
 * ties to even), {@link #add} rounds the exact sum the same way, and {@link #format} prints
 * {@code %.17Lf} exactly rounded with trailing zeros removed (Redis's {@code ld2string}, human
 * mode).
 *
 * <p>Cost: input is at most {@value #CHARS_MAX} characters (Redis's {@code MAX_LONG_DOUBLE_CHARS});
 * the work is big-integer arithmetic on numbers of at most about 33,000 bits (a decimal exponent
 * near the ends of the range), about a millisecond at worst.
 */
final class LongDouble {
  /** Longest text string2ld accepts, exclusive. */
  static final int CHARS_MAX = 5 * 1024;
  private static final int SIGNIFICAND_BITS = 64;
  /** The smallest subnormal is 2^-16445: k never exceeds this. */
  private static final int SCALE_BITS_MAX = 16382 + SIGNIFICAND_BITS - 1;
  /** 2^16384: the first magnitude that overflows to infinity. */
  private static final int EXPONENT_LIMIT = 16384;
  private static final BigInteger TEN_POW_17 = BigInteger.TEN.pow(17);

  /**
   * A value: {@code sign × m × 2^-k} when {@code infinity} is 0 and {@code m} is not null; an
   * infinity of that sign when {@code infinity} is ±1; NaN when {@code m} is null and {@code
   * infinity} is 0.
   */
  record Value(int sign, BigInteger m, int k, int infinity) {
    static final Value ZERO = new Value(1, BigInteger.ZERO, 0, 0);
    static final Value NAN = new Value(1, null, 0, 0);

    static Value infinite(int sign) {
      return new Value(sign, null, 0, sign);
    }

    boolean isFinite() {
      return infinity == 0 && m != null;
    }

    Value negate() {
      return isFinite() ? new Value(-sign, m, k, 0) : infinity != 0 ? infinite(-infinity) : this;
    }
  }

  private LongDouble() {}

  /**
   * Redis's string2ld: the whole text must be one strtold number (decimal, hexadecimal with an
   * optional binary exponent, or inf/infinity, with an optional sign); no leading space, no NaN,
   * nothing left over, no overflow to infinity and no underflow to zero. Returns null if refused.
   */
  static Value parse(byte[] text) {
    if (text.length == 0 || text.length >= CHARS_MAX) {
      return null;
    }
    String s = new String(text, StandardCharsets.ISO_8859_1);
    int i = 0;
    boolean negative = false;
    if (s.charAt(0) == '+' || s.charAt(0) == '-') {
      negative = s.charAt(0) == '-';
      i = 1;
    }
    String rest = s.substring(i);
    if (rest.equalsIgnoreCase("inf") || rest.equalsIgnoreCase("infinity")) {
      return Value.infinite(negative ? -1 : 1);
    }
    Value v;
    if (rest.length() > 1 && rest.charAt(0) == '0'
        && (rest.charAt(1) == 'x' || rest.charAt(1) == 'X')) {
      v = parseHex(rest.substring(2));
    } else {
      v = parseDecimal(rest);
    }
    if (v == null || !v.isFinite()) {
      return null; // malformed, or ERANGE overflow
    }
    return negative ? v.negate() : v;
  }

  /** {@code digits[.digits][e[+-]digits]}, at least one digit; null if malformed. */
  private static Value parseDecimal(String s) {
    int i = 0;
    int n = s.length();
    StringBuilder digits = new StringBuilder();
    int fraction = 0;
    boolean any = false;
    while (i < n && isDigit(s.charAt(i))) {
      digits.append(s.charAt(i++));
      any = true;
    }
    if (i < n && s.charAt(i) == '.') {
      i++;
      while (i < n && isDigit(s.charAt(i))) {
        digits.append(s.charAt(i++));
        fraction++;
        any = true;
      }
    }
    if (!any) {
      return null;
    }
    long exponent = 0;
    if (i < n && (s.charAt(i) == 'e' || s.charAt(i) == 'E')) {
      i++;
      Long e = parseExponent(s, i);
      if (e == null) {
        return null; // strtold would stop before the 'e': something is left over
      }
      exponent = e;
      i = n;
    }
    if (i != n) {
      return null;
    }
    BigInteger unscaled = new BigInteger(digits.toString());
    return roundDecimal(unscaled, exponent - fraction);
  }

  /** {@code hexdigits[.hexdigits][p[+-]digits]}, at least one hex digit; null if malformed. */
  private static Value parseHex(String s) {
    int i = 0;
    int n = s.length();
    StringBuilder digits = new StringBuilder();
    long fractionBits = 0;
    boolean any = false;
    while (i < n && Character.digit(s.charAt(i), 16) >= 0) {
      digits.append(s.charAt(i++));
      any = true;
    }
    if (i < n && s.charAt(i) == '.') {
      i++;
      while (i < n && Character.digit(s.charAt(i), 16) >= 0) {
        digits.append(s.charAt(i++));
        fractionBits += 4;
        any = true;
      }
    }
    if (!any) {
      return null;
    }
    long exponent = 0;
    if (i < n && (s.charAt(i) == 'p' || s.charAt(i) == 'P')) {
      Long e = parseExponent(s, i + 1);
      if (e == null) {
        return null;
      }
      exponent = e;
      i = n;
    }
    if (i != n) {
      return null;
    }
    BigInteger mantissa = new BigInteger(digits.toString(), 16);
    return roundBinary(mantissa, BigInteger.ONE, exponent - fractionBits);
  }

  /** The exponent digits from {@code i} to the end, saturated far beyond any finite range. */
  private static Long parseExponent(String s, int i) {
    int n = s.length();
    boolean negative = false;
    if (i < n && (s.charAt(i) == '+' || s.charAt(i) == '-')) {
      negative = s.charAt(i) == '-';
      i++;
    }
    if (i == n) {
      return null;
    }
    long e = 0;
    for (; i < n; i++) {
      char c = s.charAt(i);
      if (!isDigit(c)) {
        return null;
      }
      e = Math.min(e * 10 + (c - '0'), 1_000_000_000L);
    }
    return negative ? -e : e;
  }

  private static boolean isDigit(char c) {
    return c >= '0' && c <= '9';
  }

  /** unscaled × 10^exponent, rounded to a long double. */
  private static Value roundDecimal(BigInteger unscaled, long exponent) {
    if (unscaled.signum() == 0) {
      return Value.ZERO;
    }
    int digits = unscaled.toString().length();
    if (exponent + digits > 4934) {
      return Value.infinite(1); // ≥ 10^4933 > largest long double
    }
    if (exponent + digits < -4952) {
      return null; // < 10^-4952: underflows to zero (ERANGE), refused
    }
    BigInteger num = unscaled;
    BigInteger den = BigInteger.ONE;
    if (exponent >= 0) {
      num = num.multiply(BigInteger.TEN.pow((int) exponent));
    } else {
      den = BigInteger.TEN.pow((int) -exponent);
    }
    return roundBinary(num, den, 0);
  }

  /**
   * (num / den) × 2^binaryExponent, both positive, rounded to nearest-even with 64 significant
   * bits (fewer when subnormal). Null if it underflows to zero; an infinity if it overflows.
   */
  private static Value roundBinary(BigInteger num, BigInteger den, long binaryExponent) {
    if (num.signum() == 0) {
      return Value.ZERO;
    }
    // Far outside the range the answer is known without arithmetic on huge shifts.
    long magnitude = num.bitLength() - den.bitLength() + binaryExponent; // log2 within ±1
    if (magnitude > EXPONENT_LIMIT + 1) {
      return Value.infinite(1);
    }
    if (magnitude < -SCALE_BITS_MAX - 2) {
      return null;
    }
    if (binaryExponent > 0) {
      num = num.shiftLeft((int) binaryExponent);
    } else if (binaryExponent < 0) {
      den = den.shiftLeft((int) -binaryExponent);
    }
    // Choose k so that 2^63 <= num/den × 2^k < 2^64, then cap k for subnormals.
    long k = SIGNIFICAND_BITS - 1 - (num.bitLength() - den.bitLength());
    if (shift(num, k).compareTo(BigInteger.ONE.shiftLeft(SIGNIFICAND_BITS - 1)
        .multiply(shift(den, -k))) < 0) {
      k++;
    }
    k = Math.min(k, SCALE_BITS_MAX);
    BigInteger[] qr = shift(num, k).divideAndRemainder(shift(den, -k));
    int half = qr[1].shiftLeft(1).compareTo(shift(den, -k));
    return finish(roundUp(qr[0], half), k);
  }

  /** x × 2^k for k > 0, else x unchanged (the other side carries the shift). */
  private static BigInteger shift(BigInteger x, long k) {
    return k > 0 ? x.shiftLeft((int) k) : x;
  }

  /** Rounds a truncated quotient given how the remainder compares with one half. */
  private static BigInteger roundUp(BigInteger truncated, int remainderVsHalf) {
    if (remainderVsHalf > 0 || (remainderVsHalf == 0 && truncated.testBit(0))) {
      return truncated.add(BigInteger.ONE);
    }
    return truncated;
  }

  /** A rounded m × 2^-k (positive): renormalises a carry, checks underflow and overflow. */
  private static Value finish(BigInteger m, long k) {
    if (m.bitLength() > SIGNIFICAND_BITS) { // rounding carried into a 65th bit: m is 2^64
      m = m.shiftRight(1);
      k--;
    }
    if (m.signum() == 0) {
      return null;
    }
    if (m.bitLength() - k > EXPONENT_LIMIT) {
      return Value.infinite(1);
    }
    return new Value(1, m, (int) k, 0);
  }

  /** a + b in long double arithmetic: rounded exact sum, an infinity, or NaN (inf - inf). */
  static Value add(Value a, Value b) {
    if (!a.isFinite() || !b.isFinite()) {
      if (a.m() == null && a.infinity() == 0 || b.m() == null && b.infinity() == 0) {
        return Value.NAN;
      }
      int sum = a.infinity() + b.infinity();
      return sum == 0 ? Value.NAN : Value.infinite(Integer.signum(sum));
    }
    int k = Math.max(a.k(), b.k());
    BigInteger x = a.m().shiftLeft(k - a.k());
    BigInteger y = b.m().shiftLeft(k - b.k());
    BigInteger exact = (a.sign() < 0 ? x.negate() : x).add(b.sign() < 0 ? y.negate() : y);
    if (exact.signum() == 0) {
      return Value.ZERO; // glibc: x + (-x) is +0 when rounding to nearest
    }
    BigInteger magnitude = exact.abs();
    int drop = Math.max(0, magnitude.bitLength() - SIGNIFICAND_BITS);
    long scale = (long) k - drop;
    if (scale > SCALE_BITS_MAX) { // keep subnormal results on the 2^-16445 grid
      drop += (int) (scale - SCALE_BITS_MAX);
      scale = SCALE_BITS_MAX;
    }
    BigInteger m = magnitude;
    if (drop > 0) {
      BigInteger truncated = magnitude.shiftRight(drop);
      BigInteger remainder = magnitude.subtract(truncated.shiftLeft(drop));
      m = roundUp(truncated, remainder.compareTo(BigInteger.ONE.shiftLeft(drop - 1)));
    }
    Value rounded = finish(m, scale);
    assert rounded != null : "a sum of grid values rounds to a non-zero grid value";
    return exact.signum() < 0 ? rounded.negate() : rounded;
  }

  /** printf("%.17Lf") of a finite value, trailing zeros and a bare point removed, "-0" as "0". */
  static String format(Value v) {
    assert v.isFinite() : "only finite values print as numbers";
    BigInteger integer;
    BigInteger fraction17;
    if (v.k() <= 0) {
      integer = v.m().shiftLeft(-v.k());
      fraction17 = BigInteger.ZERO;
    } else {
      integer = v.m().shiftRight(v.k());
      BigInteger fraction = v.m().subtract(integer.shiftLeft(v.k()));
      BigInteger scaled = fraction.multiply(TEN_POW_17);
      BigInteger truncated = scaled.shiftRight(v.k());
      BigInteger remainder = scaled.subtract(truncated.shiftLeft(v.k()));
      fraction17 = roundUp(truncated, remainder.compareTo(BigInteger.ONE.shiftLeft(v.k() - 1)));
      if (fraction17.equals(TEN_POW_17)) {
        integer = integer.add(BigInteger.ONE);
        fraction17 = BigInteger.ZERO;
      }
    }
    StringBuilder sb = new StringBuilder();
    if (v.sign() < 0) {
      sb.append('-');
    }
    sb.append(integer);
    String digits = fraction17.toString();
    int end = digits.length();
    while (end > 0 && digits.charAt(end - 1) == '0') {
      end--;
    }
    if (end > 0) {
      sb.append('.').append("0".repeat(17 - digits.length())).append(digits, 0, end);
    }
    String s = sb.toString();
    return s.equals("-0") ? "0" : s;
  }
}
