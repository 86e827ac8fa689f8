package io.respawn.core.codec;

/** Bytes that do not decode: truncated, corrupted, wrong version, or over a limit. */
public final class CodecException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public CodecException(String message) {
    super(message);
  }
}
