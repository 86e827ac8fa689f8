package io.respawn.core;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;

/**
 * A state-machine command as the core sees it: opaque bytes plus the keys it touches.
 *
 * <p>The core never interprets {@link #data()}; the KV semantics belong to the state machine in
 * the runtime. The runtime supplies {@link #keys()} when it proposes, so that a witness can keep
 * key + (term, index) only: entries sent to witnesses carry an <em>elided</em> command (keys, no
 * data). Arrays are copied in and out; instances are immutable.
 */
public final class Command {
  private final byte[] data; // null when elided
  private final List<byte[]> keys;

  private Command(byte[] data, List<byte[]> keys) {
    this.data = data;
    List<byte[]> copy = new ArrayList<>(keys.size());
    for (byte[] k : keys) {
      copy.add(k.clone());
    }
    this.keys = Collections.unmodifiableList(copy);
  }

  /** Shares {@code keys}, which must be another instance's private, unmodifiable list. */
  private Command(List<byte[]> sharedKeys, byte[] data) {
    this.data = data;
    this.keys = sharedKeys;
  }

  /** A full command: {@code data} is the opaque payload, {@code keys} the keys it touches. */
  public static Command of(byte[] data, List<byte[]> keys) {
    if (data == null) {
      throw new IllegalArgumentException("data must not be null; use elided(keys)");
    }
    return new Command(data.clone(), keys);
  }

  /**
   * A full command that takes {@code data} over instead of copying it (the keys are still
   * copied): for a payload the caller has just encoded and never touches again, so that a
   * proposed write's value is not copied once more on its way into the log. The caller must not
   * modify {@code data} afterwards.
   */
  public static Command ofOwned(byte[] data, List<byte[]> keys) {
    if (data == null) {
      throw new IllegalArgumentException("data must not be null; use elided(keys)");
    }
    return new Command(data, keys);
  }

  /** Convenience: a full command touching the given keys. */
  public static Command of(byte[] data, byte[]... keys) {
    return of(data, Arrays.asList(keys));
  }

  /** The witness form: keys only, no data. */
  public static Command elided(List<byte[]> keys) {
    return new Command(null, keys);
  }

  /** True when the data was dropped (witness form). */
  public boolean isElided() {
    return data == null;
  }

  /** The opaque payload (a copy). Throws if elided. */
  public byte[] data() {
    if (data == null) {
      throw new IllegalStateException("command is elided (witness form)");
    }
    return data.clone();
  }

  /**
   * The payload as a read-only buffer over this command's own bytes (no copy; position 0, limit
   * its length). Throws if elided.
   */
  public java.nio.ByteBuffer dataView() {
    if (data == null) {
      throw new IllegalStateException("command is elided (witness form)");
    }
    return java.nio.ByteBuffer.wrap(data).asReadOnlyBuffer();
  }

  /** Payload length in bytes, 0 when elided. */
  public int dataLength() {
    return data == null ? 0 : data.length;
  }

  /** The keys this command touches (copies). */
  public List<byte[]> keys() {
    List<byte[]> out = new ArrayList<>(keys.size());
    for (byte[] k : keys) {
      out.add(k.clone());
    }
    return out;
  }

  /** Number of keys. */
  public int keyCount() {
    return keys.size();
  }

  /** The same command with the data dropped. */
  public Command elide() {
    return data == null ? this : new Command(keys, null); // the keys are immutable: shared
  }

  byte[] rawData() {
    return data;
  }

  byte[] rawKey(int i) {
    return keys.get(i);
  }

  /** True when both have the same keys (and, when neither is elided, the same data). */
  public boolean sameKeys(Command o) {
    if (o.keys.size() != keys.size()) {
      return false;
    }
    for (int i = 0; i < keys.size(); i++) {
      if (!Arrays.equals(keys.get(i), o.keys.get(i))) {
        return false;
      }
    }
    return true;
  }

  @Override
  public boolean equals(Object obj) {
    if (!(obj instanceof Command)) {
      return false;
    }
    Command o = (Command) obj;
    return Arrays.equals(data, o.data) && sameKeys(o);
  }

  @Override
  public int hashCode() {
    int h = Arrays.hashCode(data);
    for (byte[] k : keys) {
      h = 31 * h + Arrays.hashCode(k);
    }
    return h;
  }

  @Override
  public String toString() {
    return "Command[" + (data == null ? "elided" : data.length + "B") + ", keys=" + keys.size() + "]";
  }
}
