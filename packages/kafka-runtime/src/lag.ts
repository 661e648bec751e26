// Consumer lag per group, topic and partition, read from Kafka itself (the group's
// committed offsets against each partition's high watermark), and exported as
// Prometheus gauges computed at scrape time: what on-call reads to answer "is the
// engine keeping up?". Kafka's committed offsets are what the engine writes after
// Redis (see services/flow-engine), so this lag is the work still to apply.
import type { Admin } from 'kafkajs';
import type { Metrics } from '@pfm/observability';

export interface PartitionLag {
  group: string;
  topic: string;
  partition: number;
  /** Next offset the group will read (its committed offset); null when the group has committed nothing here. */
  committed: string | null;
  /** The partition's high watermark (offset of the next message written). */
  high: string;
  /** Messages written and not yet consumed: high - committed, or high - low when nothing is committed (groups that read from the beginning). */
  lag: number;
}

export interface WatchedGroup {
  groupId: string;
  topics: string[];
  /**
   * Where the group starts on a partition it has never committed: true (the engine: the
   * whole log is work to do, so every retained message counts as lag); false (the
   * gateway: it starts at the end, so an uncommitted partition is not reported at all).
   */
  fromBeginning: boolean;
}

/**
 * Lag of one consumer group on the given topics, one row per partition. A partition the
 * group has never committed counts every retained message as lag when the group reads
 * from the beginning (a new engine group, or one stuck before its first commit, is behind
 * by all of it), and is left out when the group starts at the end.
 */
export async function consumerLag(admin: Admin, group: WatchedGroup): Promise<PartitionLag[]> {
  const committed = await admin.fetchOffsets({ groupId: group.groupId, topics: group.topics });
  const rows: PartitionLag[] = [];
  for (const topic of group.topics) {
    const ends = await admin.fetchTopicOffsets(topic);
    const mine = committed.find((c) => c.topic === topic)?.partitions ?? [];
    for (const end of ends) {
      const c = mine.find((p) => p.partition === end.partition)?.offset;
      const has = c !== undefined && c !== '-1';
      if (!has && !group.fromBeginning) continue;
      const from = BigInt(has ? c : end.low);
      const lag = BigInt(end.high) - from;
      rows.push({ group: group.groupId, topic, partition: end.partition, committed: has ? c : null, high: end.high, lag: Number(lag < 0n ? 0n : lag) });
    }
  }
  return rows.sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
}

/**
 * Registers `pfm_kafka_consumer_lag{group,topic,partition}` and
 * `pfm_kafka_consumer_lag_errors_total{group}` on the service's registry; lag is read from
 * Kafka on each scrape. A failed read (broker unreachable) leaves the gauge empty for that
 * scrape and counts an error, so "no data" and "lag 0" are never confused.
 */
export function exportConsumerLag(metrics: Metrics, admin: Admin, groups: () => WatchedGroup[]): void {
  // prom-client collects every metric of a scrape at once; the error counter waits for the
  // lag read of the same scrape (started first, the gauge is registered first) so that a
  // failure shows in the scrape that met it.
  let inflight: Promise<void> = Promise.resolve();
  metrics.gaugeCollected('pfm_kafka_consumer_lag', 'Messages written to a partition and not yet consumed by the group (Kafka high watermark - committed offset)', ['group', 'topic', 'partition'], (set) => {
    inflight = (async () => {
      for (const g of groups()) {
        let rows: PartitionLag[];
        try {
          rows = await consumerLag(admin, g);
        } catch {
          errors.inc({ group: g.groupId });
          continue;
        }
        for (const r of rows) set({ group: r.group, topic: r.topic, partition: String(r.partition) }, r.lag);
      }
    })();
    return inflight;
  });
  const errors = metrics.counterCollected('pfm_kafka_consumer_lag_errors_total', 'Failed reads of consumer lag from Kafka, by group', ['group'], () => inflight);
}
