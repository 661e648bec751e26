// Replays a range of pfm.flow-events.v1 into a named sandbox: its own Redis key space
// ("sbx.<name>") and its own output topics (or none), never touching live state.
// Time is event time (the stream's watermark), so the sandbox raises the alerts live
// processing raised for the same events.
import { randomBytes } from 'node:crypto';
import type { Kafka, Producer } from 'kafkajs';
import type { Redis } from 'ioredis';
import { topicSpecs, topicsFor, TOPICS, type FlowEvent } from '@pfm/contracts';
import { fold, type Thresholds } from '@pfm/flow-domain';
import { FlowStore, Keys, type WardRegistry } from '@pfm/flow-store';
import { EventTimeClock } from './clock';
import { engineTopics, FlowEngine } from './engine';
import { Scanner } from './scanner';
import { ensureTopics, partitionBounds, readRanges, type FlowEventCodec } from '@pfm/kafka-runtime';
import { snapshotVersion, type BlockMeta, type SnapshotStore } from './snapshots';
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
  /** Time travel (`until` set, from the start, fresh): start from the nearest snapshot before `until` instead of the start of the log. */
  snapshots?: SnapshotStore;
  /**
   * How a snapshot is restored: 'all' (default) copies every key into the sandbox;
   * 'on-demand' copies the aggregates, and each patient's and alert's key when the
   * returned store first reads or writes it (SnapshotStore.restore). Same answers through
   * the returned FlowStore object; for a sandbox read through it and dropped (a board at
   * T), not for one left for others to read.
   */
  restore?: 'all' | 'on-demand';
}

/** alertsRaised: alerts active in the sandbox at the end (raised and not resolved). */
export interface ReplayResult {
  name: string; store: FlowStore; events: number; ms: number; watermark: number; alertsRaised: number;
  /**
   * Where the time went: restoring a snapshot, reading and applying the log, the final
   * scan. applyMs: the time in the engine, summed over the partitions (applied side by
   * side, so it may exceed readMs); the rest of readMs waits for Kafka (the reader's
   * group, fetches).
   */
  phases: { restoreMs: number; readMs: number; applyMs: number; scanMs: number };
  /** Set when time travel started from a snapshot: its id, the events it held, the blocks passed over, its keys and how many were copied at the restore. */
  fromSnapshot?: { id: number; eventsBefore: number; skippedBlocks: number; keys: number; copied: number };
}

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
  // Without outputs nothing would ever read the sandbox's alert outbox: its alert changes
  // are written to none (Keys `alertOutbox: false`; the state and alerts are the same).
  const store = new FlowStore(d.redis, new Keys(sandboxPrefix(o.name), { alertOutbox: !!o.outputs }), d.registry, o.thresholds);
  if (o.fresh !== false) await store.clear();
  const t0 = Date.now();
  const bounds = await partitionBounds(d.kafka, topic);
  const start = new Map([...bounds].map(([p, b]) => [p, b.low]));
  if (o.fromTimestamp !== undefined) {
    const admin = d.kafka.admin();
    await admin.connect();
    try {
      for (const p of await admin.fetchTopicOffsetsByTimestamp(topic, o.fromTimestamp)) start.set(p.partition, BigInt(p.offset));
    } finally { await admin.disconnect(); }
  }
  const clock = new EventTimeClock();
  const basis = o.basis ?? 'shown';
  // Time travel from the nearest snapshot before `until` (same answer, less to read), when
  // the snapshots were taken under these very rules, registry and log (what-if thresholds: no).
  const plan = o.snapshots && o.until !== undefined && o.fromTimestamp === undefined && o.fresh !== false && o.snapshots.version === snapshotVersion(topic, o.thresholds, d.registry)
    ? await o.snapshots.plan(o.until, basis, new Map([...bounds].map(([p, b]) => [p, b.high])))
    : null;
  let ranges = new Map([...bounds].map(([p, b]) => [p, [{ from: start.get(p) ?? b.low, to: b.high }]]));
  let total = [...ranges.values()].reduce((n, [r]) => n + Number(r!.to - r!.from), 0);
  const phases = { restoreMs: 0, readMs: 0, applyMs: 0, scanMs: 0 };
  let lap = Date.now();
  const phase = (k: Exclude<keyof typeof phases, 'applyMs'>) => { const now = Date.now(); phases[k] += now - lap; lap = now; };
  let restored = { keys: 0, copied: 0 };
  if (plan) {
    restored = await o.snapshots!.restore(plan.snapshot.id, store, { onDemand: o.restore === 'on-demand' });
    phase('restoreMs');
    if (Number.isFinite(plan.snapshot.maxOccurredAt)) clock.observe(plan.snapshot.maxOccurredAt);
    ranges = plan.ranges;
    total = plan.toRead;
  }
  const out = topicsFor(sandboxNamespace(o.name));
  if (o.outputs) {
    const admin = d.kafka.admin();
    await admin.connect();
    try { await ensureTopics(admin, topicSpecs({ namespace: sandboxNamespace(o.name), partitions: 1 }).filter((s) => s.topic !== out.flowEvents)); } finally { await admin.disconnect(); }
  }
  const accept = o.until === undefined ? undefined : (e: FlowEvent) => (basis === 'shown' ? e.recordedAt : e.occurredAt) <= o.until!;
  const engine = new FlowEngine({
    kafka: d.kafka, producer: d.producer, codec: d.codec, store, clock, logger: d.logger, groupId: `pfm-replay-${o.name}-${randomBytes(3).toString('hex')}`,
    topics: { ...engineTopics(out), flowEvents: topic }, publish: !!o.outputs, accept,
  });
  const scanner = new Scanner({ store, engine, clock, producer: d.producer, codec: d.codec, flowTopic: topic, logger: d.logger, parkWaitMs: o.thresholds.parkMinutes * 60_000, expireParked: false, pagedRaise: true });

  // Each partition's range(s) applied in order, partitions side by side (as the live
  // engine does: the result does not depend on how they interleave).
  let done = 0;
  let firstEventTime = 0;
  await readRanges(d.kafka, topic, ranges, async (p, msgs) => {
    const a0 = Date.now();
    await engine.processMessages(topic, p, msgs);
    phases.applyMs += Date.now() - a0;
    done += msgs.length;
    if (!firstEventTime) firstEventTime = clock.now();
    if (o.speed && o.speed > 0) await pace(t0, firstEventTime, clock.now(), o.speed);
    o.onProgress?.({ done, total, watermark: clock.now() });
  }, { groupPrefix: `pfm-replay-${o.name}`, bounds, partitionsConcurrently: Math.max(1, ranges.size) });
  if (plan) await passOver(store, topic, clock, plan.skipped);
  phase('readMs');
  // Clocks with no later event fire at the end, on the replay's own clock; time travel
  // ends at T (clocks due later would raise alerts that became true after T, which the
  // board at T does not show). Nothing else writes the sandbox now: a page of clocks is
  // raised with one script call (pagedRaise).
  clock.finish(o.until);
  await scanner.scanOnce();
  for (const site of await store.sites()) await store.setClock(site, clock.now());
  let alertsRaised = 0;
  for (const s of await store.sites()) alertsRaised += await store.activeAlertCount(s);
  phase('scanMs');
  return { name: o.name, store, events: done, ms: Date.now() - t0, watermark: clock.now(), alertsRaised, phases, ...(plan ? { fromSnapshot: { id: plan.snapshot.id, eventsBefore: plan.snapshot.events, skippedBlocks: plan.skipped.length, keys: restored.keys, copied: restored.copied } } : {}) };
}

/**
 * What reading the blocks a time travel skipped would have done: every event in them is
 * passed over (later than T), which applies nothing but moves the event clock, notes the
 * site and records the offset. Done through the same store calls as a passed-over event.
 */
async function passOver(store: FlowStore, topic: string, clock: EventTimeClock, skipped: BlockMeta[]): Promise<void> {
  if (!skipped.length) return;
  const sites = new Set<string>();
  const plans = [];
  for (const b of skipped) {
    if (Number.isFinite(b.maxOccurredAt)) clock.observe(b.maxOccurredAt, b.partition);
    for (const [site, offset] of Object.entries(b.last)) {
      sites.add(site);
      const none = store.derive(site, b.patient[site]!, fold([]).view);
      plans.push(store.planApply({ site, patientId: b.patient[site]!, before: none, after: none, state: null, offsetField: `${topic}:${b.partition}`, offset }));
    }
  }
  // An on-demand sandbox: the keys these calls name are in place first.
  await store.need(plans.flatMap((plan) => store.keysOf(plan)));
  const pipeline = store.redis.pipeline();
  for (const plan of plans) store.queueApply(pipeline, plan);
  for (const site of sites) await store.noteSite(site);
  for (const [err] of (await pipeline.exec()) ?? []) if (err) throw err;
}

async function pace(t0: number, firstEventTime: number, eventTime: number, speed: number): Promise<void> {
  const due = t0 + (eventTime - firstEventTime) / speed;
  const wait = due - Date.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, Math.min(wait, 60_000)));
}
