package io.respawn.mirror;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/** A {@link Datagrams} that keeps what was sent; the test decides when the network takes it. */
final class RecordingDatagrams implements Datagrams {
  static final InetSocketAddress PRIMARY = address(9001);
  static final InetSocketAddress MIRROR = address(9002);
  static final InetSocketAddress STRANGER = address(9003);

  final List<ByteBuffer> sent = new ArrayList<>();
  long handed;
  boolean handAtOnce;

  RecordingDatagrams(boolean handAtOnce) {
    this.handAtOnce = handAtOnce;
  }

  static InetSocketAddress address(int port) {
    return new InetSocketAddress(InetAddress.getLoopbackAddress(), port);
  }

  @Override
  public void send(ByteBuffer datagram) {
    sent.add(datagram.asReadOnlyBuffer());
    if (handAtOnce) {
      handed = sent.size();
    }
  }

  @Override
  public long handedCount() {
    return handed;
  }

  void handAll() {
    handed = sent.size();
  }

  private final List<Wire.Packet> decoded = new ArrayList<>();

  /** The i-th datagram sent, decoded (must be valid). */
  Wire.Packet packet(int i, LinkConfig config) {
    while (decoded.size() <= i) {
      decoded.add(decode(decoded.size(), config));
    }
    return decoded.get(i);
  }

  private Wire.Packet decode(int i, LinkConfig config) {
    Wire.Decoded d = Wire.decode(sent.get(i).duplicate(), config.linkId(), config.frameBytesMax());
    if (d.drop() != null) {
      throw new AssertionError("datagram " + i + " is invalid: " + d.drop());
    }
    return d.packet();
  }

  static ByteBuffer copy(ByteBuffer b) {
    ByteBuffer d = b.duplicate();
    ByteBuffer c = ByteBuffer.allocate(d.remaining());
    c.put(d).flip();
    return c;
  }
}
