package io.respawn.server.peer;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.InvalidKeyException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.zip.CRC32C;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The three frames that open every peer connection, before any replication message flows. The
 * acceptor speaks first, so a dialer learns whom it reached before it says anything:
 *
 * <pre>
 *   acceptor                                   dialer
 *      | -- CHALLENGE(from=acceptor, to=?, nonceA) -->  dialer checks cluster id and that
 *      |                                                 `from` is the member it dialled
 *      | <-- HELLO(from=dialer, to=acceptor, nonceD, mac over HELLO + nonceA) --
 *      |  acceptor checks cluster id, that `to` is itself, that `from` is a member, the mac
 *      | -- WELCOME(from=acceptor, to=dialer, mac over WELCOME + nonceD) -->  dialer checks mac
 *      |  ... framed replication messages (io.respawn.core.codec.MessageCodec) both ways ...
 * </pre>
 *
 * A REFUSE frame (same layout, its reason in the cluster id field) may replace HELLO or WELCOME;
 * the side that refuses closes the connection after sending it.
 *
 * <p>Layout of every handshake frame (integers big-endian):
 *
 * <pre>
 *  0        4       5      6          10         14          30            32        32+n      64+n     68+n
 *  +--------+-------+------+----------+----------+-----------+-------------+---------+---------+--------+
 *  | magic  | vers  | kind | from u32 | to u32   | nonce     | clusterLen  | cluster | mac     | crc32c |
 *  | "RSPW" | u8 =1 | u8   |          | (or -1)  | 16 bytes  | u16 = n     | UTF-8   | 32 bytes| u32    |
 *  +--------+-------+------+----------+----------+-----------+-------------+---------+---------+--------+
 * </pre>
 *
 * The CRC32C covers bytes [0, 64+n). The mac is HMAC-SHA256 with the cluster secret over bytes
 * [0, 32+n) followed by the other side's nonce; without a secret it is 32 zero bytes and not
 * checked (the cluster id and member ids still are). Kinds: 1 CHALLENGE, 2 HELLO, 3 WELCOME, 4
 * REFUSE.
 */
final class Handshake {
  static final int MAGIC = 0x52535057; // "RSPW"
  static final int VERSION = 1;
  static final int NONCE_BYTES = 16;
  static final int MAC_BYTES = 32;
  static final int CLUSTER_ID_BYTES_MAX = 256;
  /** Fixed bytes before the cluster id. */
  static final int HEAD_BYTES = 4 + 1 + 1 + 4 + 4 + NONCE_BYTES + 2;
  static final int FRAME_BYTES_MAX = HEAD_BYTES + CLUSTER_ID_BYTES_MAX + MAC_BYTES + 4;
  /** `to` of a CHALLENGE: the acceptor does not know yet who dialled. */
  static final int UNKNOWN_NODE = -1;

  enum Kind {
    CHALLENGE(1), HELLO(2), WELCOME(3), REFUSE(4);

    final int code;

    Kind(int code) {
      this.code = code;
    }

    static Kind of(int code) {
      for (Kind k : values()) {
        if (k.code == code) {
          return k;
        }
      }
      throw new HandshakeException("unknown handshake kind " + code);
    }
  }

  /** One decoded frame; {@code text} is the cluster id, or the reason of a REFUSE. */
  record Frame(Kind kind, int from, int to, byte[] nonce, String text, byte[] signedPart,
      byte[] mac) {}

  private Handshake() {}

  /**
   * Encodes a frame; {@code secret} null means no mac. {@code peerNonce} is the nonce the mac
   * binds to (the other side's), ignored without a secret.
   */
  static ByteBuffer encode(Kind kind, int from, int to, byte[] nonce, String text, byte[] secret,
      byte[] peerNonce) {
    byte[] textBytes = text.getBytes(StandardCharsets.UTF_8);
    if (textBytes.length > CLUSTER_ID_BYTES_MAX) {
      throw new IllegalArgumentException("handshake text of " + textBytes.length
          + " bytes exceeds " + CLUSTER_ID_BYTES_MAX);
    }
    if (nonce.length != NONCE_BYTES) {
      throw new IllegalArgumentException("nonce must be " + NONCE_BYTES + " bytes");
    }
    int signed = HEAD_BYTES + textBytes.length;
    ByteBuffer out = ByteBuffer.allocate(signed + MAC_BYTES + 4);
    out.putInt(MAGIC).put((byte) VERSION).put((byte) kind.code).putInt(from).putInt(to)
        .put(nonce).putShort((short) textBytes.length).put(textBytes);
    byte[] signedPart = new byte[signed];
    out.get(0, signedPart);
    out.put(secret == null ? new byte[MAC_BYTES] : mac(secret, signedPart, peerNonce));
    CRC32C crc = new CRC32C();
    crc.update(out.array(), 0, signed + MAC_BYTES);
    out.putInt((int) crc.getValue());
    return out.flip();
  }

  /** Decodes one whole frame (the caller framed it by length); throws on anything malformed. */
  static Frame decode(ByteBuffer in) {
    if (in.remaining() < HEAD_BYTES + MAC_BYTES + 4) {
      throw new HandshakeException("handshake frame of " + in.remaining()
          + " bytes is shorter than the minimum " + (HEAD_BYTES + MAC_BYTES + 4));
    }
    int start = in.position();
    if (in.getInt(start) != MAGIC) {
      throw new HandshakeException("not a Respawn peer (bad magic 0x"
          + Integer.toHexString(in.getInt(start)) + ")");
    }
    int version = Byte.toUnsignedInt(in.get(start + 4));
    if (version != VERSION) {
      throw new HandshakeException("handshake version " + version + ", expected " + VERSION);
    }
    int textLength = Short.toUnsignedInt(in.getShort(start + HEAD_BYTES - 2));
    if (textLength > CLUSTER_ID_BYTES_MAX) {
      throw new HandshakeException("cluster id of " + textLength + " bytes exceeds "
          + CLUSTER_ID_BYTES_MAX);
    }
    int signed = HEAD_BYTES + textLength;
    int total = signed + MAC_BYTES + 4;
    if (in.remaining() != total) {
      throw new HandshakeException("handshake frame of " + in.remaining() + " bytes, layout says "
          + total);
    }
    byte[] all = new byte[total];
    in.get(all);
    CRC32C crc = new CRC32C();
    crc.update(all, 0, signed + MAC_BYTES);
    int expected = ByteBuffer.wrap(all, signed + MAC_BYTES, 4).getInt();
    if ((int) crc.getValue() != expected) {
      throw new HandshakeException("handshake checksum mismatch");
    }
    ByteBuffer b = ByteBuffer.wrap(all);
    Kind kind = Kind.of(Byte.toUnsignedInt(b.get(5)));
    int from = b.getInt(6);
    int to = b.getInt(10);
    byte[] nonce = new byte[NONCE_BYTES];
    b.get(14, nonce);
    String text = new String(all, HEAD_BYTES, textLength, StandardCharsets.UTF_8);
    byte[] signedPart = java.util.Arrays.copyOf(all, signed);
    byte[] mac = java.util.Arrays.copyOfRange(all, signed, signed + MAC_BYTES);
    return new Frame(kind, from, to, nonce, text, signedPart, mac);
  }

  /** True if the frame's mac is right for {@code secret} and our nonce; true without a secret. */
  static boolean macMatches(Frame f, byte[] secret, byte[] ourNonce) {
    if (secret == null) {
      return true;
    }
    return MessageDigest.isEqual(f.mac(), mac(secret, f.signedPart(), ourNonce));
  }

  private static byte[] mac(byte[] secret, byte[] signedPart, byte[] peerNonce) {
    try {
      Mac hmac = Mac.getInstance("HmacSHA256");
      hmac.init(new SecretKeySpec(secret, "HmacSHA256"));
      hmac.update(signedPart);
      hmac.update(peerNonce);
      return hmac.doFinal();
    } catch (NoSuchAlgorithmException | InvalidKeyException e) {
      throw new IllegalStateException("HmacSHA256 unavailable", e);
    }
  }

  /** A malformed or refused handshake; the message says what was expected. */
  static final class HandshakeException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    HandshakeException(String message) {
      super(message);
    }
  }
}
