// Replays a range of pfm.flow-events.v1 into a named sandbox: its own Redis key space
// ("sbx.<name>") and its own output topics (or none), never touching live state.
// Time is event time (the stream's watermark), so the sandbox raises the alerts live
// processing raised for the same events.
import { randomBytes } from 'node:crypto';
import type { Kafka, Producer } from 'kafkajs';
import type { Redis } from 'ioredis';
import { topicSpecs, topicsFor, TOPICS, type FlowEvent } from '@pfm/contracts';
import type { Thresholds } from '@pfm/flow-domain';
import { FlowStore, Keys, type WardRegistry } from '@pfm/flow-store';
import { EventTimeClock } from './clock';
import { engineTopics, FlowEngine } from './engine';
import { Scanner } from './scanner';
import { ensureTopics, type FlowEventCodec } from '@pfm/kafka-runtime';
import type { Logger } from '@pfm/observability';

export interface ReplayDeps { kafka: Kafka; redis: Redis; producer: Producer; codec: FlowEventCodec; registry: WardRegistry; logger: Logger }

export interface ReplayOptions {
  /** Sandbox name: keys under "sbx.<name>", outputs (if any) on "sbx-<name>.*" topics. */
  name: string;
  thresholds: Thresholds;
  /** The log to read (live flow topic by default). */
  sourceTopic?: string;
  /** Time travel: only events known by T ("shown": recordedAt <= T, what the board showed) or that happened by T ("known": occurredAt <= T, with hindsight). */
  until?: number;
  basis?: 'shown' | 'known';
  /** Start at the first message produced at or after this time (Kafka timestamp); default the start of the log. */
  fromTimestamp?: number;
  /** Publish board updates and alerts to the sandbox's own topics. */
  outputs?: boolean;
  /** 0 = as fast as possible; N = N x real time by event time. */
  speed?: number;
  /** Clear the sandbox first (default true). */
  fresh?: boolean;
  onProgress?: (p: { done: number; total: number; watermark: number }) => void;
}

/** alertsRaised: alerts active in the sandbox at the end (raised and not resolved). */
export interface ReplayResult { name: string; store: FlowStore; events: number; ms: number; watermark: number; alertsRaised: number }

export const sandboxPrefix = (name: string): string => {
  if (!/^[A-Za-z0-9_-]{1,40}$/.test(name)) throw new Error(`invalid sandbox name "${name}": letters, digits, _ and - (1-40)`);
  return `sbx.${name}`;
};

/**
 * The topic namespace of a sandbox's outputs: "sbx-<name>", a prefix no live namespace may
 * take (@pfm/config refuses PFM_TOPIC_NAMESPACE starting with "sbx-"), so a sandbox can
 * never write to a live product's topics whatever its name.
 */
export const sandboxNamespace = (name: string): string => `sbx-${sandboxPrefix(name).slice(4)}`;

export async function replay(d: ReplayDeps, o: ReplayOptions): Promise<ReplayResult> {
  const topic = o.sourceTopic ?? TOPICS.flowEvents;
  const store = new FlowStore(d.redis, new Keys(sandboxPrefix(o.name)), d.registry, o.thresholds);
  if (o.fresh !== false) await store.clear();
  const admin = d.kafka.admin();
  await admin.connect();
  const t0 = Date.now();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    const start = new Map(offsets.map((p) => [p.partition, BigInt(p.low)]));
    if (o.fromTimestamp !== undefined) {
      for (const p of await admin.fetchTopicOffsetsByTimestamp(topic, o.fromTimestamp)) start.set(p.partition, BigInt(p.offset));
    }
    const end = new Map(offsets.map((p) => [p.partition, BigInt(p.high)])); // exclusive
    let total = 0;
    for (const [p, e] of end) total += Number(e - (start.get(p) ?? 0n));
    const out = topicsFor(sandboxNamespace(o.name));
    if (o.outputs) await ensureTopics(admin, topicSpecs({ namespace: sandboxNamespace(o.name), partitions: 1 }).filter((s) => s.topic !== out.flowEvents));
    const clock = new EventTimeClock();
    const basis = o.basis ?? 'shown';
    const accept = o.until === undefined ? undefined : (e: FlowEvent) => (basis === 'shown' ? e.recordedAt : e.occurredAt) <= o.until!;
    const engine = new FlowEngine({
      kafka: d.kafka, producer: d.producer, codec: d.codec, store, clock, logger: d.logger, groupId: `pfm-replay-${o.name}-${randomBytes(3).toString('hex')}`,
      topics: { ...engineTopics(out), flowEvents: topic }, publish: !!o.outputs, accept,
    });
    const scanner = new Scanner({ store, engine, clock, producer: d.producer, codec: d.codec, flowTopic: topic, logger: d.logger, parkWaitMs: o.thresholds.parkMinutes * 60_000, expireParked: false });

    // One consumer (its own group, nothing committed) positioned at the range's start;
    // each partition is applied in order until the range's end.
    let done = 0;
    let firstEventTime = 0;
    const remaining = new Set([...end].filter(([p, e]) => e > (start.get(p) ?? 0n)).map(([p]) => p));
    if (remaining.size) {
      const consumer = d.kafka.consumer({ groupId: `pfm-replay-${o.name}-${randomBytes(3).toString('hex')}`, maxBytesPerPartition: 1024 * 1024 });
      await consumer.connect();
      try {
        await consumer.subscribe({ topic, fromBeginning: true });
        const positioned = new Set<number>();
        await new Promise<void>((resolve, reject) => {
          consumer.run({
            autoCommit: false,
            eachBatch: async ({ batch, isRunning, isStale }) => {
              const p = batch.partition;
              if (!isRunning() || isStale() || !remaining.has(p) || !batch.messages.length) return;
              const from = start.get(p) ?? 0n;
              if (!positioned.has(p)) {
                positioned.add(p);
                if (BigInt(batch.messages[0]!.offset) !== from) { consumer.seek({ topic, partition: p, offset: from.toString() }); return; }
              }
              const stop = end.get(p)!;
              const msgs = batch.messages.filter((m) => BigInt(m.offset) >= from && BigInt(m.offset) < stop);
              if (msgs.length) {
                await engine.processMessages(topic, p, msgs);
                done += msgs.length;
                if (!firstEventTime) firstEventTime = clock.now();
                if (o.speed && o.speed > 0) await pace(t0, firstEventTime, clock.now(), o.speed);
                o.onProgress?.({ done, total, watermark: clock.now() });
              }
              if (BigInt(batch.messages[batch.messages.length - 1]!.offset) + 1n >= stop) {
                remaining.delete(p);
                if (remaining.size === 0) resolve();
              }
            },
          }).catch(reject);
        });
      } finally {
        await consumer.disconnect();
      }
    }
    // Clocks with no later event fire at the end, on the replay's own clock.
    if (o.until !== undefined && o.until > clock.now()) clock.observe(o.until);
    clock.finish();
    await scanner.scanOnce();
    for (const site of await store.sites()) await store.setClock(site, clock.now());
    let alertsRaised = 0;
    for (const s of await store.sites()) alertsRaised += await store.activeAlertCount(s);
    return { name: o.name, store, events: done, ms: Date.now() - t0, watermark: clock.now(), alertsRaised };
  } finally {
    await admin.disconnect();
  }
}

async function pace(t0: number, firstEventTime: number, eventTime: number, speed: number): Promise<void> {
  const due = t0 + (eventTime - firstEventTime) / speed;
  const wait = due - Date.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, Math.min(wait, 60_000)));
}
