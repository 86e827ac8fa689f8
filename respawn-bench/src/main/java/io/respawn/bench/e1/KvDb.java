package io.respawn.bench.e1;

import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.Vector;
import site.ycsb.ByteIterator;
import site.ycsb.DB;
import site.ycsb.Status;

/**
 * A YCSB {@link DB} over a key-value store that holds each record as one value ({@link
 * RecordCodec}): a read is one get, an update or insert one put of the whole record (E1 writes
 * all fields of its one-field records, so no update needs a read first). Scans and deletes are
 * not part of E1 and answer {@link Status#NOT_IMPLEMENTED}.
 *
 * <p>One instance per client thread, as YCSB uses them. Failed operations are counted ({@link
 * #errors}) and the first failure's message kept, since YCSB's workload drops the status.
 */
public abstract class KvDb extends DB {
  private long errors;
  private String firstError;

  /** The stored value of {@code key}, or null if there is none. */
  protected abstract byte[] get(String key) throws Exception;

  /** Stores {@code value} under {@code key}, returning once the store acknowledged it. */
  protected abstract void put(String key, byte[] value) throws Exception;

  /** Operations that failed so far. */
  public final long errors() {
    return errors;
  }

  /** Redirects (MOVED) the client followed so far; a redirected operation still succeeded. */
  public long redirects() {
    return 0;
  }

  /** The first failure's description, or null. */
  public final String firstError() {
    return firstError;
  }

  private Status failed(String what, Exception e) {
    errors++;
    if (firstError == null) {
      firstError = what + ": " + e;
    }
    return Status.ERROR;
  }

  @Override
  public final Status read(String table, String key, Set<String> fields,
      Map<String, ByteIterator> result) {
    try {
      byte[] stored = get(key);
      if (stored == null) {
        return failed("read " + key, new IllegalStateException("no such record"));
      }
      RecordCodec.decode(stored, result);
      return Status.OK;
    } catch (Exception e) {
      return failed("read " + key, e);
    }
  }

  @Override
  public final Status update(String table, String key, Map<String, ByteIterator> values) {
    return insert(table, key, values);
  }

  @Override
  public final Status insert(String table, String key, Map<String, ByteIterator> values) {
    try {
      put(key, RecordCodec.encode(values));
      return Status.OK;
    } catch (Exception e) {
      return failed("write " + key, e);
    }
  }

  @Override
  public final Status scan(String table, String startkey, int recordcount, Set<String> fields,
      Vector<HashMap<String, ByteIterator>> result) {
    return Status.NOT_IMPLEMENTED;
  }

  @Override
  public final Status delete(String table, String key) {
    return Status.NOT_IMPLEMENTED;
  }
}
