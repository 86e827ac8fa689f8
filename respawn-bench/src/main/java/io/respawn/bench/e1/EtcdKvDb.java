package io.respawn.bench.e1;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.KV;
import io.etcd.jetcd.KeyValue;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * E1's YCSB binding for etcd over jetcd: a record is one etcd value (Put / Range of one key).
 * Reads are etcd's default linearizable reads (a quorum round through the leader, as the
 * shard's primary serves reads under its lease), not serializable ones. All threads share one
 * jetcd client ({@link EtcdCluster#client}), which multiplexes their requests over gRPC, as etcd
 * recommends.
 */
public final class EtcdKvDb extends KvDb {
  private final KV kv;
  private final long timeoutMillis;

  public EtcdKvDb(KV kv, long timeoutMillis) {
    this.kv = kv;
    this.timeoutMillis = timeoutMillis;
  }

  @Override
  protected byte[] get(String key) throws Exception {
    List<KeyValue> kvs = kv.get(ByteSequence.from(key, StandardCharsets.UTF_8))
        .get(timeoutMillis, TimeUnit.MILLISECONDS).getKvs();
    return kvs.isEmpty() ? null : kvs.get(0).getValue().getBytes();
  }

  @Override
  protected void put(String key, byte[] value) throws Exception {
    kv.put(ByteSequence.from(key, StandardCharsets.UTF_8), ByteSequence.from(value))
        .get(timeoutMillis, TimeUnit.MILLISECONDS);
  }
}
