package io.respawn.server.mirror;

import io.respawn.storage.KvStore;
import io.respawn.storage.Mutation;
import io.respawn.storage.MutationBatchCodec;
import io.respawn.storage.ScanPage;
import io.respawn.storage.StorageException;
import io.respawn.storage.StoredValue;
import io.respawn.storage.WriteTicket;
import java.io.IOException;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * The primary site's store when it mirrors: the engine, with every committed batch also shipped
 * to the mirror, in commit order, as one group. This is the whole hook into the write path:
 * whatever commits through {@link #apply} — a pass of the command thread (several whole
 * commands: an MSET, a MULTI/EXEC is never split), a lazy-expiry delete, a FLUSHALL — reaches the
 * mirror as the same atomic batch. The ticket it returns carries the batch's mirror position.
 *
 * <p>A batch is shipped once the engine accepted it ({@code apply} returned); one the engine
 * then fails to write may still reach the mirror. After most write errors the engine refuses every
 * later write. After one for want of space it goes on (deletes only, then everything once the disk
 * has room), so the mirror can keep a batch that was never acknowledged and that the primary does
 * not have. {@link #putRefusal} narrows that to the batch that found the disk full, because later
 * value writes are refused before they are shipped. Shipping a correction for that batch is not
 * done yet.
 */
final class MirroredStore implements KvStore {
  private final KvStore engine;
  private final ShippingSite site;

  MirroredStore(KvStore engine, ShippingSite site) {
    this.engine = engine;
    this.site = site;
  }

  @Override
  public WriteTicket apply(List<Mutation> batch) {
    return apply(batch, false);
  }

  @Override
  public WriteTicket apply(List<Mutation> batch, boolean durableWanted) {
    WriteTicket local = engine.apply(batch, durableWanted);
    ShippingSite.Shipped shipped = site.ship(MutationBatchCodec.encode(batch));
    return new MirroredTicket(local, shipped.position(), shipped.startBytes(), site);
  }

  @Override
  public StoredValue get(byte[] key) {
    return engine.get(key);
  }

  @Override
  public long expiresAtMillis(byte[] key) {
    return engine.expiresAtMillis(key);
  }

  /** The engine's: a mirrored batch's durable notice is the local engine's (see MirroredTicket). */
  @Override
  public boolean durableNoticeIsLocal() {
    return engine.durableNoticeIsLocal();
  }

  /** The engine's: while its disk is full, a command that stores values is refused up front. */
  @Override
  public StorageException putRefusal() {
    return engine.putRefusal();
  }

  @Override
  public long keyCount() {
    return engine.keyCount();
  }

  @Override
  public long expiringKeyCount() {
    return engine.expiringKeyCount();
  }

  @Override
  public ScanPage scan(long cursor, int countHint) {
    return engine.scan(cursor, countHint);
  }

  @Override
  public CompletableFuture<Void> flushAll() {
    return engine.flushAll();
  }

  @Override
  public CompletableFuture<Void> takeReadGate() {
    return engine.takeReadGate();
  }

  @Override
  public void readAcknowledgedOnly(boolean on) {
    engine.readAcknowledgedOnly(on);
  }

  @Override
  public void close() throws IOException {
    engine.close();
  }

  /** The engine underneath (the server's INFO reads its statistics). */
  KvStore engine() {
    return engine;
  }
}
