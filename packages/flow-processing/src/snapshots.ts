// Snapshots of replayed state at known offsets, so time travel to T restores the nearest
// snapshot before T and replays only what follows it, instead of the whole log.
//
// A snapshot is the state of a sandbox that applied EVERY event of the log before its
// offsets (one offset per partition: a consistent cut), with the highest recordedAt and
// occurredAt among those events. Time travel to T on basis b applies exactly the events
// with time_b <= T (the others are passed over), so a snapshot whose prefix holds no
// event later than T is the state a replay from the start would have reached there.
// Between snapshots the log is indexed in blocks (a few hundred events of one partition:
// the lowest recordedAt / occurredAt in it, the highest occurredAt, the last offset per
// site); time travel reads only the blocks that hold an event <= T, plus the log after
// the last snapshot, and accounts for the blocks it skips (clock, sites, offsets), which
// apply nothing. Nothing else differs, so a snapshot never changes an answer
// (src/snapshots.int.test.ts compares both ways at random instants).
//
// Stored in Redis next to live state, under "<live prefix>.tt:<version>:" (never under
// the live prefix itself, so dumps and rebuilds of live state do not see them). The
// version is a fingerprint of everything that decides replayed state: the snapshot
// format, the flow-event contract version, the source topic, the thresholds, the ward
// registry and the code of the rules and the store (flow-domain, flow-store and its Lua,
// the engine). A change of any of them gives a new version: older snapshots are never
// read again and the builder deletes them.
import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Kafka, KafkaMessage, Producer } from 'kafkajs';
import type { Redis } from 'ioredis';
import { FLOW_EVENT_SCHEMA_VERSION, flowEventSchema, isPlainFlowEvent, topicsFor } from '@pfm/contracts';
import type { Thresholds } from '@pfm/flow-domain';
import { FlowStore, Keys, type KeyFiller, type WardRegistry } from '@pfm/flow-store';
import { partitionBounds, readRanges, type FlowEventCodec, type OffsetRange } from '@pfm/kafka-runtime';
import type { Logger } from '@pfm/observability';
import { EventTimeClock } from './clock';
import { engineTopics, FlowEngine } from './engine';

/** Bump when what a snapshot holds or how it is read changes. */
export const SNAPSHOT_FORMAT = 1;

/** One consistent cut of the log and what it held. Id 0 is the start of the log (empty state). */
export interface SnapshotMeta {
  id: number;
  /** partition -> first offset NOT in the snapshot. */
  offsets: Record<string, string>;
  /** Highest recordedAt / occurredAt among the events before the cut (-Infinity: none). */
  maxRecordedAt: number;
  maxOccurredAt: number;
  /** Events before the cut (all partitions). */
  events: number;
  keys: number;
  /** Bytes this snapshot stored (DUMP sizes of the keys that changed since the one before). */
  bytes: number;
  takenAt: number;
}

/** A run of offsets of one partition between two snapshots. */
export interface BlockMeta {
  partition: number;
  from: string;
  to: string;
  minRecordedAt: number;
  minOccurredAt: number;
  maxOccurredAt: number;
  /** site -> the last offset in this block of an event of that site. */
  last: Record<string, string>;
  patient: Record<string, string>;
}

/** How time travel to T reads the log from a snapshot. */
export interface TravelPlan {
  snapshot: SnapshotMeta;
  /** What to read, per partition (blocks holding an event <= T, and the log after the last snapshot). */
  ranges: Map<number, OffsetRange[]>;
  /** The blocks passed over: nothing in them applies, but they move the clock and record offsets. */
  skipped: BlockMeta[];
  /** Events the plan reads at most (the log's end may have grown). */
  toRead: number;
}

const num = (v: number) => (Number.isFinite(v) ? v : null);
const fromJson = (v: number | null) => (v === null ? Number.NEGATIVE_INFINITY : v);

let codeHash: string | undefined;
/** Hash of the source of the rules, the store (with its Lua) and the engine. */
export function rulesCodeHash(): string {
  if (codeHash) return codeHash;
  const h = createHash('sha256');
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) { if (name !== 'node_modules') walk(p); continue; }
      if (/\.test\.|\.d\.ts$/.test(name) || !/\.(ts|js|lua)$/.test(name)) continue;
      h.update(name).update(readFileSync(p));
    }
  };
  walk(dirname(require.resolve('@pfm/flow-domain')));
  walk(dirname(require.resolve('@pfm/flow-store')));
  // The processing core's files that decide replayed state (not this one: snapshots' own format is SNAPSHOT_FORMAT).
  const ext = __filename.endsWith('.js') ? '.js' : '.ts';
  for (const f of ['engine', 'clock', 'scanner', 'replay']) h.update(readFileSync(join(__dirname, `${f}${ext}`)));
  codeHash = h.digest('hex');
  return codeHash;
}

/** The version of snapshots for this topic, rules and registry. */
export function snapshotVersion(topic: string, thresholds: Thresholds, registry: WardRegistry): string {
  const wards = registry.wards().map((w) => JSON.stringify(w)).sort();
  const doc = JSON.stringify({ format: SNAPSHOT_FORMAT, contract: FLOW_EVENT_SCHEMA_VERSION, topic, thresholds, wards, code: rulesCodeHash() });
  return createHash('sha256').update(doc).digest('hex').slice(0, 16);
}

/** Keys an on-demand restore copies on first use: patients' states and histories, and alerts (the aggregates, a few per ward, are copied at once). */
const ON_DEMAND = /^:\{[^}]*\}:[pha]:/;

/**
 * The KeyFiller of an on-demand restore: per key not copied yet, where the snapshot
 * holds its value. A key is copied once; a call that needs a key being copied waits for
 * that copy (partitions are applied side by side), so nothing is written to a key
 * before its value is in place. A key the snapshot does not hold had no value then.
 */
export class ManifestFiller implements KeyFiller {
  private readonly copying = new Map<string, Promise<void>>();
  /** Keys copied so far. */
  filled = 0;
  constructor(private readonly redis: Redis, private readonly todo: Map<string, string>) {}

  pending(keys: readonly string[]): boolean { return keys.some((k) => this.todo.has(k) || this.copying.has(k)); }

  async fill(keys: readonly string[]): Promise<void> {
    const waits = new Set<Promise<void>>();
    const mine: [string, string][] = [];
    for (const k of keys) {
      const inFlight = this.copying.get(k);
      if (inFlight) { waits.add(inFlight); continue; }
      const from = this.todo.get(k);
      if (from === undefined) continue;
      this.todo.delete(k);
      mine.push([k, from]);
    }
    if (mine.length) {
      const p = this.redis.pipeline();
      for (const [k, from] of mine) p.copy(from, k, 'REPLACE');
      const copy = execAll(p).finally(() => { for (const [k] of mine) this.copying.delete(k); });
      for (const [k] of mine) this.copying.set(k, copy);
      this.filled += mine.length;
      waits.add(copy);
    }
    await Promise.all(waits);
  }

  async fillAll(): Promise<void> {
    for (let keys = [...this.todo.keys()]; keys.length; keys = [...this.todo.keys()]) await this.fill(keys.slice(0, 2000));
    await Promise.all(this.copying.values());
  }
}

/** Keys a snapshot leaves out: the alert outbox (delivery state, never published from a sandbox). */
const NOT_STATE = /:(aout|outbox)$/;
/** A saved snapshot as its builder keeps it: per key, the hash of its DUMP and the snapshot holding that value. */
interface Saved { meta: SnapshotMeta; state: Map<string, { hash: string; holder: number }> }
async function execAll(p: ReturnType<Redis['pipeline']>): Promise<void> {
  for (const [err] of (await p.exec()) ?? []) if (err) throw err;
}
const blockJson = (b: BlockMeta) => JSON.stringify({ ...b, minRecordedAt: num(b.minRecordedAt), minOccurredAt: num(b.minOccurredAt), maxOccurredAt: num(b.maxOccurredAt) });

export class SnapshotStore {
  readonly version: string;
  private readonly base: string;
  constructor(readonly redis: Redis, readonly prefix: string, readonly topic: string, readonly thresholds: Thresholds, readonly registry: WardRegistry) {
    if (!/^[A-Za-z0-9_.-]+$/.test(prefix)) throw new Error(`invalid snapshot prefix ${prefix}`);
    this.version = snapshotVersion(topic, thresholds, registry);
    this.base = `${prefix}:${this.version}`;
  }

  /** The snapshot prefix for a live key prefix ("pfm" -> "pfm.tt"). */
  static prefixFor(livePrefix: string): string { return `${livePrefix}.tt`; }

  private metaKey(): string { return `${this.base}:meta`; }
  /** A key's value as snapshot `id` stored it (same hash tag as the key, so the same slot). */
  private valueKey(id: number, suffix: string): string { return `${this.base}:k:${id}${suffix}`; }
  private manifestKey(id: number): string { return `${this.base}:m:${id}`; }
  private blocksKey(): string { return `${this.base}:blocks`; }
  lockKey(): string { return `${this.base}:lock`; }

  async list(): Promise<SnapshotMeta[]> {
    const all = await this.redis.hvals(this.metaKey());
    return all.map((s) => {
      const m = JSON.parse(s) as SnapshotMeta & { maxRecordedAt: number | null; maxOccurredAt: number | null };
      return { ...m, maxRecordedAt: fromJson(m.maxRecordedAt), maxOccurredAt: fromJson(m.maxOccurredAt) };
    }).sort((a, b) => a.id - b.id);
  }

  async blocks(): Promise<BlockMeta[]> {
    return (await this.redis.lrange(this.blocksKey(), 0, -1)).map((s) => {
      const b = JSON.parse(s) as BlockMeta & Record<'minRecordedAt' | 'minOccurredAt' | 'maxOccurredAt', number | null>;
      return { ...b, minRecordedAt: b.minRecordedAt ?? Number.POSITIVE_INFINITY, minOccurredAt: b.minOccurredAt ?? Number.POSITIVE_INFINITY, maxOccurredAt: fromJson(b.maxOccurredAt) };
    });
  }

  /** Every state key under `store` as a DUMP payload, by its name without the prefix. */
  async dumpState(store: FlowStore): Promise<Map<string, Buffer>> {
    const keys = (await scanAll(this.redis, store.keys.all())).filter((k) => !NOT_STATE.test(k));
    const out = new Map<string, Buffer>();
    for (let i = 0; i < keys.length; i += 1000) {
      const chunk = keys.slice(i, i + 1000);
      const p = this.redis.pipeline();
      for (const k of chunk) p.dumpBuffer(k);
      for (const [j, [err, v]] of ((await p.exec()) ?? []).entries()) {
        if (err) throw err;
        if (v) out.set(chunk[j]!.slice(store.keys.prefix.length), v as Buffer); // null: deleted meanwhile
      }
    }
    return out;
  }

  /**
   * Writes a snapshot of the state under `from` and the blocks since the previous one,
   * visible once complete. Each key is stored (server-side COPY) only when its DUMP
   * differs from the previous snapshot's; the snapshot's manifest names, for every key,
   * the snapshot that holds its value. The blocks after the previous snapshot's cut that
   * a tail index wrote are replaced by `blocks`.
   */
  async save(from: FlowStore, meta: Omit<SnapshotMeta, 'keys' | 'bytes' | 'takenAt'>, blocks: BlockMeta[], previous?: Saved): Promise<Saved> {
    const dumps = await this.dumpState(from);
    const state = new Map<string, { hash: string; holder: number }>();
    let bytes = 0;
    let p = this.redis.pipeline();
    let queued = 0;
    for (const [k, v] of dumps) {
      const hash = createHash('sha1').update(v).digest('base64');
      const before = previous?.state.get(k);
      if (before && before.hash === hash) { state.set(k, before); continue; }
      state.set(k, { hash, holder: meta.id });
      p.copy(`${from.keys.prefix}${k}`, this.valueKey(meta.id, k), 'REPLACE');
      bytes += v.length;
      if (++queued % 1000 === 0) { await execAll(p); p = this.redis.pipeline(); }
    }
    await execAll(p);
    const manifest = gzipSync(JSON.stringify(Object.fromEntries([...state].map(([k, v]) => [k, v.holder]))));
    const full: SnapshotMeta = { ...meta, keys: dumps.size, bytes, takenAt: Date.now() };
    const kept = previous ? (await this.blocks()).filter((b) => BigInt(b.to) <= BigInt(previous.meta.offsets[b.partition] ?? '0')) : [];
    const m = this.redis.multi();
    m.set(this.manifestKey(meta.id), manifest);
    m.del(this.blocksKey());
    for (const b of [...kept, ...blocks]) m.rpush(this.blocksKey(), blockJson(b));
    m.hset(this.metaKey(), String(meta.id), JSON.stringify({ ...full, maxRecordedAt: num(full.maxRecordedAt), maxOccurredAt: num(full.maxOccurredAt) }));
    await m.exec();
    return { meta: full, state };
  }

  /** What a builder needs to save the next snapshot as changes: the key hashes and holders of this one. */
  async saved(meta: SnapshotMeta, restored: FlowStore): Promise<Saved> {
    const holders = await this.manifest(meta.id);
    const state = new Map<string, { hash: string; holder: number }>();
    for (const [k, v] of await this.dumpState(restored)) state.set(k, { hash: createHash('sha1').update(v).digest('base64'), holder: holders[k]! });
    return { meta, state };
  }

  private async manifest(id: number): Promise<Record<string, number>> {
    const raw = await this.redis.getBuffer(this.manifestKey(id));
    if (!raw) throw new Error(`time-travel snapshot ${id} has no manifest`);
    return JSON.parse(gunzipSync(raw).toString()) as Record<string, number>;
  }

  /** Adds blocks of the log after the last snapshot (read by time travel instead of the whole tail). */
  async appendBlocks(blocks: BlockMeta[]): Promise<void> {
    if (blocks.length) await this.redis.rpush(this.blocksKey(), ...blocks.map(blockJson));
  }

  /**
   * Replaces the state under `into` with the snapshot's (server-side COPY of every key
   * from the snapshot that holds it). `onDemand`: only the aggregates are copied now;
   * each patient's and alert's key is copied when `into` (this very FlowStore object)
   * first reads or writes it (a KeyFiller on it, until its clear()). For a sandbox read
   * through that object and then dropped: time travel to a board.
   */
  async restore(id: number, into: FlowStore, opts: { onDemand?: boolean } = {}): Promise<{ keys: number; copied: number; filler?: ManifestFiller }> {
    await into.clear();
    const entries = Object.entries(await this.manifest(id));
    const now = opts.onDemand ? entries.filter(([k]) => !ON_DEMAND.test(k)) : entries;
    for (let i = 0; i < now.length; i += 2000) {
      const p = this.redis.pipeline();
      for (const [k, holder] of now.slice(i, i + 2000)) p.copy(this.valueKey(holder, k), `${into.keys.prefix}${k}`, 'REPLACE');
      await execAll(p);
    }
    if (!opts.onDemand) return { keys: entries.length, copied: entries.length };
    // The copies go over the sandbox store's own connection: a command it sends after asking for a key runs after the key's copy.
    const filler = new ManifestFiller(into.redis, new Map(entries.filter(([k]) => ON_DEMAND.test(k)).map(([k, holder]) => [`${into.keys.prefix}${k}`, this.valueKey(holder, k)])));
    into.filler = filler;
    return { keys: entries.length, copied: now.length, filler };
  }

  /**
   * How to travel to `at` on `basis`: the latest snapshot whose events are all <= at,
   * the blocks after it that hold an event <= at, and the log after the last snapshot.
   * Null when there are no snapshots of this version.
   */
  async plan(at: number, basis: 'shown' | 'known', high: Map<number, bigint>): Promise<TravelPlan | null> {
    const snaps = await this.list();
    if (!snaps.length) return null;
    const usable = snaps.filter((s) => (basis === 'shown' ? s.maxRecordedAt : s.maxOccurredAt) <= at);
    const snapshot = usable[usable.length - 1] ?? snaps[0]!;
    if ((basis === 'shown' ? snapshot.maxRecordedAt : snapshot.maxOccurredAt) > at) return null;
    const last = snaps[snaps.length - 1]!;
    const ranges = new Map<number, OffsetRange[]>();
    const skipped: BlockMeta[] = [];
    let toRead = 0;
    const add = (p: number, r: OffsetRange) => { if (r.to <= r.from) return; (ranges.get(p) ?? ranges.set(p, []).get(p)!).push(r); toRead += Number(r.to - r.from); };
    // How far the blocks reach per partition: the log after that is read whole.
    const frontier = new Map<number, bigint>([...high.keys()].map((p) => [p, BigInt(last.offsets[p] ?? '0')]));
    for (const b of await this.blocks()) {
      if (BigInt(b.to) > (frontier.get(b.partition) ?? 0n)) frontier.set(b.partition, BigInt(b.to));
      if (BigInt(b.from) < BigInt(snapshot.offsets[b.partition] ?? '0')) continue;
      if ((basis === 'shown' ? b.minRecordedAt : b.minOccurredAt) <= at) add(b.partition, { from: BigInt(b.from), to: BigInt(b.to) });
      else skipped.push(b);
    }
    for (const [p, h] of high) add(p, { from: frontier.get(p)!, to: h });
    return { snapshot, ranges, skipped, toRead };
  }

  /** Deletes every snapshot of other versions (rules, registry, contract or code changed). */
  async dropOtherVersions(): Promise<number> {
    const stale = (await scanAll(this.redis, `${this.prefix}:*`)).filter((k) => !k.startsWith(`${this.base}:`));
    for (let i = 0; i < stale.length; i += 1000) await this.redis.unlink(...stale.slice(i, i + 1000));
    return stale.length;
  }

  /** Deletes every snapshot of this version. */
  async drop(): Promise<number> {
    const keys = await scanAll(this.redis, `${this.base}:*`);
    for (let i = 0; i < keys.length; i += 1000) await this.redis.unlink(...keys.slice(i, i + 1000));
    return keys.length;
  }
}

async function scanAll(redis: Redis, match: string): Promise<string[]> {
  const keys = new Set<string>();
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', match, 'COUNT', 1000);
    cursor = next;
    for (const k of batch) keys.add(k);
  } while (cursor !== '0');
  return [...keys];
}

export interface SnapshotBuilderDeps {
  kafka: Kafka; redis: Redis; producer: Producer; codec: FlowEventCodec; logger: Logger;
  snapshots: SnapshotStore;
  /** Events (all partitions) between two snapshots; default 2,000. */
  everyEvents?: number;
  /** Events of one partition per block; default 250. */
  blockEvents?: number;
}

export interface BuildProgress { done: number; total: number; snapshots: number }

/**
 * Takes snapshots of the log as it grows: restores the latest snapshot into its own
 * sandbox, replays the next `everyEvents` events (every partition up to the same
 * proportion of what is new, so the cut is consistent), saves, and repeats while at
 * least `everyEvents` new events remain. One builder at a time per version (a Redis
 * lock); the log after the last snapshot is read by every time travel.
 */
export class SnapshotBuilder {
  constructor(private readonly d: SnapshotBuilderDeps) {}

  async catchUp(onProgress?: (p: BuildProgress) => void): Promise<{ snapshots: number; events: number; indexed: number; skipped?: 'locked' }> {
    const { snapshots: ss, redis, logger } = this.d;
    const every = this.d.everyEvents ?? 2000;
    const token = `${process.pid}-${Date.now()}-${Math.random()}`;
    if ((await redis.set(ss.lockKey(), token, 'PX', 600_000, 'NX')) !== 'OK') return { snapshots: 0, events: 0, indexed: 0, skipped: 'locked' };
    // Publishes nothing (publish: false below), so its alert changes go to no outbox, as in replay().
    const work = new FlowStore(redis, new Keys(`sbx.ttb-${ss.version}`, { alertOutbox: false }), ss.registry, ss.thresholds);
    try {
      const dropped = await ss.dropOtherVersions();
      if (dropped) logger.info({ keys: dropped, version: ss.version }, 'time-travel snapshots of an older version (rules, registry, contract or code changed) deleted');
      const bounds = await partitionBounds(this.d.kafka, ss.topic);
      let last = (await ss.list()).pop();
      let prev: Saved | undefined;
      if (!last) {
        // Id 0: the start of the log, empty state.
        await work.clear();
        prev = await ss.save(work, { id: 0, offsets: Object.fromEntries([...bounds].map(([p, b]) => [p, b.low.toString()])), maxRecordedAt: Number.NEGATIVE_INFINITY, maxOccurredAt: Number.NEGATIVE_INFINITY, events: 0 }, []);
        last = prev.meta;
      }
      const pending = () => [...bounds].reduce((n, [p, b]) => n + Number(b.high - BigInt(last!.offsets[p] ?? b.low.toString())), 0);
      const total = pending();
      let done = 0;
      let taken = 0;
      if (total >= every) {
        logger.info({ version: ss.version, from: last.id, events: total }, 'taking time-travel snapshots of the flow log');
        await ss.restore(last.id, work);
        prev ??= await ss.saved(last, work);
        const clock = new EventTimeClock();
        if (Number.isFinite(last.maxOccurredAt)) clock.observe(last.maxOccurredAt);
        const out = topicsFor(`sbx-ttb-${ss.version}`);
        const engine = new FlowEngine({ kafka: this.d.kafka, producer: this.d.producer, codec: this.d.codec, store: work, clock, logger, groupId: `pfm-ttb-${ss.version}`, topics: { ...engineTopics(out), flowEvents: ss.topic }, publish: false });
        const max = { recordedAt: last.maxRecordedAt, occurredAt: last.maxOccurredAt };
        while (pending() >= every) {
          const remaining = pending();
          const ranges = new Map<number, OffsetRange[]>();
          const next: Record<string, string> = {};
          for (const [p, b] of bounds) {
            const from = BigInt(last.offsets[p] ?? b.low.toString());
            const left = b.high - from;
            const step = BigInt(Math.ceil((Number(left) * every) / remaining));
            const to = from + (step < left ? step : left);
            next[p] = to.toString();
            if (to > from) ranges.set(p, [{ from, to }]);
          }
          const index = new BlockIndex(this.d.codec, this.d.blockEvents ?? 250, max);
          let n = 0;
          await readRanges(this.d.kafka, ss.topic, ranges, async (p, msgs) => {
            await engine.processMessages(ss.topic, p, msgs);
            await index.add(p, msgs);
            n += msgs.length;
            onProgress?.({ done: done + n, total, snapshots: taken });
          }, { groupPrefix: `pfm-ttb-${ss.version}` });
          done += n;
          prev = await ss.save(work, { id: last.id + 1, offsets: next, maxRecordedAt: max.recordedAt, maxOccurredAt: max.occurredAt, events: last.events + n }, index.close(), prev);
          last = prev.meta;
          taken += 1;
          await redis.pexpire(ss.lockKey(), 600_000);
          logger.info({ snapshot: last.id, events: last.events, keys: last.keys, bytes: last.bytes }, 'time-travel snapshot taken');
          onProgress?.({ done, total, snapshots: taken });
        }
      }
      // The rest of the log (less than one snapshot's worth): indexed in blocks only, so a
      // time travel to an earlier instant does not read it.
      const frontier = new Map([...bounds.keys()].map((p) => [p, BigInt(last!.offsets[p] ?? '0')]));
      for (const b of await ss.blocks()) if (BigInt(b.to) > (frontier.get(b.partition) ?? 0n)) frontier.set(b.partition, BigInt(b.to));
      const tail = new Map<number, OffsetRange[]>();
      for (const [p, b] of bounds) if (b.high > frontier.get(p)!) tail.set(p, [{ from: frontier.get(p)!, to: b.high }]);
      const index = new BlockIndex(this.d.codec, this.d.blockEvents ?? 250, { recordedAt: 0, occurredAt: 0 });
      const { messages: indexed } = await readRanges(this.d.kafka, ss.topic, tail, (p, msgs) => index.add(p, msgs), { groupPrefix: `pfm-ttb-${ss.version}` });
      await ss.appendBlocks(index.close());
      return { snapshots: taken, events: done, indexed };
    } finally {
      await work.clear();
      if ((await redis.get(ss.lockKey())) === token) await redis.del(ss.lockKey());
    }
  }
}


/** Cuts each partition's messages into blocks of `size` offsets and keeps what time travel needs of each. */
class BlockIndex {
  private readonly done: BlockMeta[] = [];
  private readonly open = new Map<number, BlockMeta>();
  constructor(private readonly codec: FlowEventCodec, private readonly size: number, private readonly max: { recordedAt: number; occurredAt: number }) {}

  async add(p: number, msgs: KafkaMessage[]): Promise<void> {
    for (const m of msgs) {
      let b = this.open.get(p);
      if (!b) { b = { partition: p, from: m.offset, to: m.offset, minRecordedAt: Infinity, minOccurredAt: Infinity, maxOccurredAt: -Infinity, last: {}, patient: {} }; this.open.set(p, b); }
      b.to = (BigInt(m.offset) + 1n).toString();
      const e = await decodeQuietly(this.codec, m);
      if (e) {
        b.minRecordedAt = Math.min(b.minRecordedAt, e.recordedAt);
        b.minOccurredAt = Math.min(b.minOccurredAt, e.occurredAt);
        b.maxOccurredAt = Math.max(b.maxOccurredAt, e.occurredAt);
        this.max.recordedAt = Math.max(this.max.recordedAt, e.recordedAt);
        this.max.occurredAt = Math.max(this.max.occurredAt, e.occurredAt);
        b.last[e.site] = m.offset;
        b.patient[e.site] = e.patientId;
      }
      if (BigInt(b.to) - BigInt(b.from) >= this.size) { this.done.push(b); this.open.delete(p); }
    }
  }

  close(): BlockMeta[] { return [...this.done, ...this.open.values()]; }
}

async function decodeQuietly(codec: FlowEventCodec, m: KafkaMessage): Promise<{ site: string; patientId: string; recordedAt: number; occurredAt: number } | undefined> {
  if (!m.value?.length) return undefined;
  try {
    // As the engine sees it: an event that breaks the contract is set aside and applies nothing.
    const e = await codec.decode(m.value);
    return isPlainFlowEvent(e) || flowEventSchema.safeParse(e).success ? e : undefined;
  } catch { return undefined; }
}

/**
 * Keeps the snapshots up to date in the background: every `intervalMs` it takes the
 * snapshots the log's growth allows (the first pass over a long log takes a while:
 * progress is logged every 10 s). Any number of processes may run one; a Redis lock lets
 * one build at a time.
 */
export class SnapshotKeeper {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private stopped = false;
  constructor(private readonly d: SnapshotBuilderDeps & { intervalMs: number }) {}

  start(): void {
    if (this.d.intervalMs <= 0) return;
    const loop = () => {
      if (this.stopped) return;
      this.running = this.passOnce().finally(() => { if (!this.stopped) this.timer = setTimeout(loop, this.d.intervalMs); });
    };
    this.timer = setTimeout(loop, Math.min(5000, this.d.intervalMs));
  }

  /** One catch-up; failures are logged and retried on the next pass. */
  async passOnce(): Promise<void> {
    const t0 = Date.now();
    let lastLog = t0;
    try {
      const r = await new SnapshotBuilder(this.d).catchUp((p) => {
        if (Date.now() - lastLog < 10_000) return;
        lastLog = Date.now();
        this.d.logger.info({ done: p.done, total: p.total, snapshots: p.snapshots }, 'time-travel snapshots: replaying the flow log');
      });
      if (r.snapshots) this.d.logger.info({ snapshots: r.snapshots, events: r.events, ms: Date.now() - t0 }, 'time-travel snapshots up to date');
    } catch (err) {
      this.d.logger.error({ err }, 'time-travel snapshot pass failed; the next pass retries');
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }
}
