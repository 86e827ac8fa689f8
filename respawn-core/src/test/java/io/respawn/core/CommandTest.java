package io.respawn.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.ReadOnlyBufferException;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class CommandTest {
  @Test
  void ofCopiesItsInputsAndOwnedTakesTheDataOver() {
    byte[] data = {1, 2, 3};
    byte[] key = {7};
    List<byte[]> keys = new ArrayList<>(List.of(key));
    Command copied = Command.of(data, keys);
    Command owned = Command.ofOwned(data, keys);
    data[0] = 9;
    key[0] = 8;
    keys.clear();
    assertThat(copied.data()).containsExactly(1, 2, 3);
    assertThat(owned.data()).containsExactly(9, 2, 3); // taken over, not copied
    assertThat(owned.keys()).hasSize(1);
    assertThat(owned.keys().get(0)).containsExactly(7); // keys are still copied
    assertThatThrownBy(() -> Command.ofOwned(null, List.of()))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void dataViewIsAReadOnlyViewOfThePayload() {
    Command c = Command.of(new byte[] {4, 5, 6}, List.of(new byte[] {1}));
    ByteBuffer view = c.dataView();
    assertThat(view.isReadOnly()).isTrue();
    assertThat(view.position()).isZero();
    assertThat(view.remaining()).isEqualTo(3);
    assertThat(view.get(2)).isEqualTo((byte) 6);
    assertThatThrownBy(() -> view.put(0, (byte) 0)).isInstanceOf(ReadOnlyBufferException.class);
    assertThat(c.data()).containsExactly(4, 5, 6);
    assertThatThrownBy(() -> c.elide().dataView()).isInstanceOf(IllegalStateException.class);
  }

  @Test
  void elidingKeepsTheKeysAndDropsTheData() {
    Command c = Command.of(new byte[] {4, 5}, List.of(new byte[] {1, 2}, new byte[] {3}));
    Command e = c.elide();
    assertThat(e.isElided()).isTrue();
    assertThat(e.dataLength()).isZero();
    assertThat(e.sameKeys(c)).isTrue();
    assertThat(e.keyCount()).isEqualTo(2);
    assertThat(e.keys().get(0)).containsExactly(1, 2);
    e.keys().get(0)[0] = 9; // a copy handed out: neither command changes
    assertThat(c.keys().get(0)).containsExactly(1, 2);
    assertThat(e.elide()).isSameAs(e);
    assertThat(e).isEqualTo(Command.elided(List.of(new byte[] {1, 2}, new byte[] {3})));
  }
}
