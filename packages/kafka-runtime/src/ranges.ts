// Reading ranges of offsets of one topic, written once: replays, time travel, snapshot
// builds and the gateway's first/last message all read "these offsets of these
// partitions, then stop". One consumer in a throwaway group (nothing committed) seeks to
// each range in turn; each partition's messages come in order, one run after another.
import { randomBytes } from 'node:crypto';
import type { Kafka, KafkaMessage } from 'kafkajs';

/** Offsets [from, to) of one partition. */
export interface OffsetRange { from: bigint; to: bigint }

export interface ReadRangesOptions {
  /** Prefix of the throwaway consumer group (a random suffix is added). */
  groupPrefix: string;
  /**
   * Upper bound of one fetch per partition; default: about 1 KiB per offset of the longest
   * range, between 64 KiB and 1 MiB (a fetch returns at least one whole record batch,
   * whatever the bound, so a small bound only saves decoding messages past a range's end).
   */
  maxBytesPerPartition?: number;
  /**
   * Partitions handed to `onMessages` at once (default 1: one batch at a time). More only
   * for a caller that may apply partitions side by side (the flow engine may: its result
   * does not depend on how partitions interleave).
   */
  partitionsConcurrently?: number;
  /** The topic's bounds if the caller has just read them (saves a round trip). */
  bounds?: Map<number, { low: bigint; high: bigint }>;
  /** The throwaway group's session timeout (kafkajs's default, 30 s, when not given). */
  sessionTimeoutMs?: number;
}

const KIB = 1024;
/** The fetch bound for these ranges (see ReadRangesOptions.maxBytesPerPartition). */
export function fetchBytesFor(ranges: Map<number, OffsetRange[]>): number {
  let longest = 0n;
  for (const rs of ranges.values()) for (const r of rs) if (r.to - r.from > longest) longest = r.to - r.from;
  return Math.min(1024 * KIB, Math.max(64 * KIB, Number(longest) * KIB));
}

/** The log's retained offsets per partition: low (first kept) and high (next to be written). */
export async function partitionBounds(kafka: Kafka, topic: string): Promise<Map<number, { low: bigint; high: bigint }>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, { low: BigInt(p.low), high: BigInt(p.high) }]));
  } finally {
    await admin.disconnect();
  }
}

/**
 * Ranges clipped to what the log holds, empty ones dropped, each partition's sorted and
 * merged where they touch or overlap.
 */
export function normaliseRanges(ranges: Map<number, OffsetRange[]>, bounds: Map<number, { low: bigint; high: bigint }>): Map<number, OffsetRange[]> {
  const out = new Map<number, OffsetRange[]>();
  for (const [p, rs] of ranges) {
    const b = bounds.get(p);
    if (!b) continue;
    const clipped = rs
      .map((r) => ({ from: r.from < b.low ? b.low : r.from, to: r.to > b.high ? b.high : r.to }))
      .filter((r) => r.to > r.from)
      .sort((x, y) => (x.from < y.from ? -1 : x.from > y.from ? 1 : 0));
    const merged: OffsetRange[] = [];
    for (const r of clipped) {
      const last = merged[merged.length - 1];
      if (last && r.from <= last.to) { if (r.to > last.to) last.to = r.to; } else merged.push({ ...r });
    }
    if (merged.length) out.set(p, merged);
  }
  return out;
}

/**
 * Reads every message in the ranges and hands each partition's messages, in offset
 * order and at most one fetch at a time, to `onMessages`; resolves once every range has
 * been read (and rejects on the first error from `onMessages`). Partitions are fetched
 * concurrently, each in order (handed over one batch at a time unless
 * `partitionsConcurrently`). Ranges beyond the log's bounds are clipped.
 */
export async function readRanges(
  kafka: Kafka, topic: string, ranges: Map<number, OffsetRange[]>,
  onMessages: (partition: number, messages: KafkaMessage[]) => Promise<void>,
  opts: ReadRangesOptions,
): Promise<{ messages: number; joins: number }> {
  const bounds = opts.bounds ?? await partitionBounds(kafka, topic);
  const todo = normaliseRanges(ranges, bounds);
  if (!todo.size) return { messages: 0, joins: 0 };
  let read = 0;
  let joins = 0;
  let failed = false;
  // Short fetch waits: a range ends at data already written, and a disconnect waits for the fetch in flight.
  const consumer = kafka.consumer({ groupId: `${opts.groupPrefix}-${randomBytes(4).toString('hex')}`, maxBytesPerPartition: opts.maxBytesPerPartition ?? fetchBytesFor(todo), maxWaitTimeInMs: 100, ...(opts.sessionTimeoutMs ? { sessionTimeout: opts.sessionTimeoutMs } : {}) });
  // Per partition: the offset it was last sent to (a seek) and has not been fetched from
  // yet. A batch fetched from anywhere else was fetched before that seek: kafkajs may
  // hand one over after the seek is applied, and handing it over moves the consumer past
  // it. Such a batch is not read and the seek is repeated; reading it would take its end
  // for the end of the range and skip the range.
  const sought = new Map<number, bigint>();
  const seek = (p: number, offset: bigint) => { sought.set(p, offset); consumer.seek({ topic, partition: p, offset: offset.toString() }); };
  // The group commits nothing, so a rejoin (a caller slower than the session timeout, a
  // coordinator move) would start every partition again from the start of the log. Each
  // range's start moves past what has been handed over, and a rejoin seeks every
  // partition back to it: nothing is handed over twice, nothing re-read from the start.
  const removeJoinListener = consumer.on(consumer.events.GROUP_JOIN, () => {
    joins += 1;
    if (joins > 1 && !failed) for (const [p, q] of todo) if (q.length) seek(p, q[0]!.from);
  });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      consumer.run({
        autoCommit: false,
        partitionsConsumedConcurrently: opts.partitionsConcurrently ?? 1,
        eachBatch: async ({ batch, isRunning, isStale }) => {
          const p = batch.partition;
          const q = todo.get(p);
          if (failed || !isRunning() || isStale() || !q?.length) return;
          const at = sought.get(p);
          if (at !== undefined) {
            if (BigInt((batch as unknown as { fetchedOffset: string }).fetchedOffset) !== at) { seek(p, at); return; }
            sought.delete(p);
          }
          if (!batch.messages.length) return;
          const last = BigInt(batch.messages[batch.messages.length - 1]!.offset);
          // Every range this batch reaches, in order (a time travel's blocks often share a fetch).
          while (q.length) {
            const r = q[0]!;
            const msgs = batch.messages.filter((m) => { const o = BigInt(m.offset); return o >= r.from && o < r.to; });
            if (msgs.length) {
              // The caller's failure ends the read (kafkajs would otherwise retry the batch forever).
              try { await onMessages(p, msgs); } catch (err) { failed = true; todo.clear(); reject(err as Error); return; }
              read += msgs.length;
              r.from = BigInt(msgs[msgs.length - 1]!.offset) + 1n;
            }
            if (last + 1n < r.to) return; // the range goes on in the next fetch
            q.shift();
            if (!q.length) {
              todo.delete(p);
              consumer.pause([{ topic, partitions: [p] }]);
              if (!todo.size) resolve();
              return;
            }
            if (q[0]!.from > last) { seek(p, q[0]!.from); return; }
          }
        },
      }).catch(reject);
      // Before the first fetch (run() has set the group up; seeks apply once the partitions
      // are assigned): each partition starts at its first range, and a partition with
      // nothing to read is not fetched at all, instead of a first fetch from the start of
      // the log that would only be thrown away.
      for (const [p, q] of todo) seek(p, q[0]!.from);
      const idle = [...bounds.keys()].filter((p) => !todo.has(p));
      if (idle.length) consumer.pause([{ topic, partitions: idle }]);
    });
  } finally {
    removeJoinListener();
    await consumer.disconnect();
  }
  return { messages: read, joins };
}
