package io.respawn.core;

import java.util.Objects;

/**
 * What {@link Replica#propose} did with a batch of client commands: the (term, index) each one was
 * assigned, and the {@link Ready} to execute.
 *
 * <p>Accepted commands are appended in order at {@code firstIndex, firstIndex + 1, ...}, all in
 * {@code term}. An accepted command is not yet committed: another leader may later replace it at
 * the same index with an entry of a higher term, which the runtime sees as a different term when
 * it applies that index. A refused batch ({@code count == 0}, this replica cannot accept writes)
 * appended nothing.
 *
 * @param term the term the commands were appended in (the current term, also when refused)
 * @param firstIndex index of the first command, 0 when refused
 * @param count commands appended: all of the batch, or 0
 * @param ready what the runtime must execute next (its entries include the new ones)
 */
public record Proposal(long term, long firstIndex, int count, Ready ready) {

  public Proposal {
    Objects.requireNonNull(ready, "ready");
    if (count < 0 || (count == 0) != (firstIndex == 0) || firstIndex < 0) {
      throw new IllegalArgumentException("bad proposal: first " + firstIndex + ", count " + count);
    }
  }

  /** True when the commands were appended. */
  public boolean accepted() {
    return count > 0;
  }

  /** Index assigned to the {@code i}-th command of the batch. */
  public long index(int i) {
    if (i < 0 || i >= count) {
      throw new IndexOutOfBoundsException("command " + i + " of " + count + " accepted");
    }
    return firstIndex + i;
  }

  /** Index of the last command, 0 when refused. */
  public long lastIndex() {
    return count == 0 ? 0 : firstIndex + count - 1;
  }
}
