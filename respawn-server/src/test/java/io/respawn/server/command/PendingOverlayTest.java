package io.respawn.server.command;

import static org.assertj.core.api.Assertions.assertThat;

import io.respawn.storage.Mutation;
import io.respawn.storage.StoredValue;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The pass's overlay answers every key as a plain model of the batch does (the newest event for
 * the key, or a CLEAR after it, wins), whether it scans a short batch or indexes a long one, and
 * across batches emptied and refilled.
 */
class PendingOverlayTest {
  @Test
  void everyLookupMatchesTheNewestEventOfTheBatchScannedOrIndexed() {
    Random rnd = new Random(11);
    List<Mutation> batch = new ArrayList<>();
    PendingOverlay overlay = new PendingOverlay(batch);
    int scanned = 0;
    int indexed = 0;
    for (int pass = 0; pass < 400; pass++) {
      int writes = rnd.nextInt(pass % 2 == 0 ? PendingOverlay.SCAN_WRITES_MAX : 60);
      Map<String, String> model = new HashMap<>(); // key -> value, "" for absent
      boolean cleared = false;
      for (int w = 0; w < writes; w++) {
        String k = "k" + rnd.nextInt(12);
        switch (rnd.nextInt(10)) {
          case 0 -> {
            batch.add(Mutation.clear());
            model.clear();
            cleared = true;
          }
          case 1, 2 -> {
            batch.add(Mutation.delete(bytes(k)));
            model.put(k, "");
          }
          default -> {
            String v = "v" + pass + "." + w;
            batch.add(Mutation.put(bytes(k), bytes(v), w));
            model.put(k, v);
          }
        }
        if (rnd.nextInt(4) == 0) { // reads in the middle of the pass too
          check(overlay, model, cleared, "k" + rnd.nextInt(12));
        }
      }
      for (int k = 0; k < 12; k++) {
        check(overlay, model, cleared, "k" + k);
      }
      if (batch.size() > PendingOverlay.SCAN_WRITES_MAX) {
        indexed++;
        long live = model.values().stream().filter(v -> !v.isEmpty()).count();
        assertThat(overlay.map().values().stream().filter(v -> v != PendingOverlay.ABSENT)
            .count()).isEqualTo(live);
      } else {
        scanned++;
      }
      batch.clear();
      overlay.reset();
      assertThat(overlay.lookup(bytes("k0"))).isNull();
    }
    assertThat(scanned).isGreaterThan(50);
    assertThat(indexed).isGreaterThan(50);
  }

  private static void check(PendingOverlay overlay, Map<String, String> model, boolean cleared,
      String key) {
    StoredValue v = overlay.lookup(bytes(key));
    String expected = model.get(key);
    if (expected == null) {
      if (cleared) {
        assertThat(v).as(key).isSameAs(PendingOverlay.ABSENT);
      } else {
        assertThat(v).as(key).isNull();
      }
    } else if (expected.isEmpty()) {
      assertThat(v).as(key).isSameAs(PendingOverlay.ABSENT);
    } else {
      assertThat(v).as(key).isNotNull().isNotSameAs(PendingOverlay.ABSENT);
      assertThat(new String(v.value(), StandardCharsets.UTF_8)).as(key).isEqualTo(expected);
    }
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
