package io.respawn.server.solo.monitor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * A volume without super/collapse: a plain store directory whose serving node the monitor
 * started itself, fenced by killing its process (SIGKILL, then waiting for it to be gone) —
 * the only fence a directory without an epoch offers. Supports REDS and the oracle, not
 * SPECREDS. A node the monitor did not start cannot be fenced this way, so it is refused.
 */
public final class KillFenceVolume implements TakeoverVolume {
  /** How long a killed process may take to disappear. */
  static final long EXIT_WAIT_SECONDS = 30;

  private final Path store;

  public KillFenceVolume(Path store) {
    this.store = store;
  }

  @Override
  public Path currentStore() throws IOException {
    Files.createDirectories(store);
    return store;
  }

  @Override
  public Path fenceForTakeover(ProcessHandle writer) throws IOException {
    if (writer == null) {
      throw new IOException("cannot fence a serving node this monitor did not start");
    }
    writer.destroyForcibly();
    try {
      writer.onExit().get(EXIT_WAIT_SECONDS, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new IOException("serving node pid " + writer.pid() + " did not die within "
          + EXIT_WAIT_SECONDS + " s", e);
    }
    return store;
  }

  @Override
  public Speculation superView() throws IOException {
    throw new IOException("this volume has no super/collapse: SPECREDS needs a solo volume");
  }
}
