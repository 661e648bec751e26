// Time travel from snapshots against time travel from the start of the log, on the real
// stack: at random instants on both bases the sandbox state (every key) and the board
// are equal, while the snapshot run reads a fraction of the log. Snapshots of other
// rules are never used, and the builder deletes them. Restored on demand (what the
// board gateway does), the board and then the whole state are equal too, at instants
// right at, just before and just after each snapshot's cut, with late and duplicate
// deliveries in the log.
import { topicsFor, type FlowEvent } from '@pfm/contracts';
import { DEFAULT_THRESHOLDS, fold } from '@pfm/flow-domain';
import { WardRegistry, type FlowStore } from '@pfm/flow-store';
import { sendFlowEvents } from '@pfm/kafka-runtime';
import { createLogger } from '@pfm/observability';
import { SYNTHETIC_WARDS, syntheticEvents, uniqueName } from '@pfm/testkit';
import { boardAt } from './analysis';
import { replay, type ReplayDeps, type ReplayResult } from './replay';
import { ManifestFiller, SnapshotBuilder, SnapshotStore } from './snapshots';
import { openEngineStack, type EngineStack } from './testing';

const registry = new WardRegistry(SYNTHETIC_WARDS.map((code) => ({ site: 'RXT', code, name: `${code} Ward`, type: 'adult_acute' as const, beds: 20 })));

/** A seeded stream delivered as ingest would write it: in arrival order, a few events hours late. */
function stream(total: number, seed: number): FlowEvent[] {
  let s = seed;
  const r = () => { s = (s * 1103515245 + 12345) % 2 ** 31; return s / 2 ** 31; };
  return syntheticEvents({ total, seed, start: Date.parse('2026-02-01T00:00:00Z') })
    .map((e) => ({ ...e, recordedAt: e.occurredAt + (r() < 0.03 ? Math.floor(r() * 6 * 3_600_000) : Math.floor(r() * 600_000)) }))
    .sort((a, b) => a.recordedAt - b.recordedAt);
}

describe('time travel from snapshots', () => {
  const ns = uniqueName('ttsnap');
  const t = topicsFor(ns);
  const logger = createLogger('snapshots-test');
  logger.level = 'warn';
  const events = stream(1500, 5);
  let stack: EngineStack;
  let deps: ReplayDeps;
  let snapshots: SnapshotStore;
  const run = ns.slice(-6);

  beforeAll(async () => {
    stack = await openEngineStack(ns, t.flowEvents, 3);
    deps = { ...stack, registry, logger };
    await sendFlowEvents(stack.producer, stack.codec, events.slice(0, 1100), t.flowEvents);
    snapshots = new SnapshotStore(stack.redis, SnapshotStore.prefixFor(ns), t.flowEvents, DEFAULT_THRESHOLDS, registry);
  });

  afterAll(async () => {
    await snapshots?.drop();
    await stack?.producer.disconnect();
    stack?.redis.disconnect();
  });

  /** Every key of a sandbox, the prefix removed (the alert outbox is delivery state, not flow state). */
  const state = async (store: FlowStore) => {
    const dump = await store.dump({ exclude: /:aout$/ });
    return Object.fromEntries(Object.entries(dump).map(([k, v]) => [k.slice(store.keys.prefix.length), v]));
  };

  it('answers every instant exactly as a replay from the start, reading less of the log', async () => {
    const progress: number[] = [];
    // The builder's work sandbox publishes nothing, so it writes no alert outbox (no stream under its prefix while it builds).
    const streamsSeen: Promise<string[]>[] = [];
    const workStreams = async () => {
      const out: string[] = [];
      for (const key of await stack.redis.keys(`sbx.ttb-${snapshots.version}:*`)) if ((await stack.redis.type(key)) === 'stream') out.push(key);
      return out;
    };
    const builder = new SnapshotBuilder({ ...deps, snapshots, everyEvents: 300, blockEvents: 40 });
    const first = await builder.catchUp((p) => { progress.push(p.done); streamsSeen.push(workStreams()); });
    expect(streamsSeen.length).toBeGreaterThan(3);
    expect((await Promise.all(streamsSeen)).flat()).toEqual([]);
    // A snapshot per 300 events while at least 300 are new; the rest is indexed in blocks only.
    expect(first.snapshots).toBe(3);
    expect(first.events + first.indexed).toBe(1100);
    expect(progress[progress.length - 1]).toBe(first.events);
    // The log grows: the next pass continues from the last snapshot (storing only what changed).
    await sendFlowEvents(stack.producer, stack.codec, events.slice(1100), t.flowEvents);
    const second = await builder.catchUp();
    expect(second.snapshots).toBeGreaterThanOrEqual(1);
    const list = await snapshots.list();
    expect(list.map((s) => s.id)).toEqual([...Array(first.snapshots + second.snapshots + 1).keys()]);
    expect(list[list.length - 1]!.bytes).toBeLessThan(list.reduce((n, s) => n + s.bytes, 0) / 2);
    expect(list[list.length - 1]!.events + second.indexed).toBe(1500);
    // Nothing new: nothing taken.
    expect((await builder.catchUp()).snapshots).toBe(0);

    const lo = Math.min(...events.map((e) => e.occurredAt));
    const hi = Math.max(...events.map((e) => e.recordedAt));
    let seed = 17;
    const rand = () => { seed = (seed * 48271) % 2147483647; return seed / 2147483647; };
    const instants = Array.from({ length: 6 }, (_, i) => ({ at: Math.floor(lo + rand() * (hi - lo)), basis: (i % 2 ? 'known' : 'shown') as 'shown' | 'known' }));
    // The instants are independent (a sandbox each): replayed all at once, each both ways.
    const fewer = await Promise.all(instants.map(async ({ at, basis }, i) => {
      const runs = await Promise.allSettled([
        replay(deps, { name: `${run}-f${i}`, thresholds: DEFAULT_THRESHOLDS, sourceTopic: t.flowEvents, until: at, basis }),
        replay(deps, { name: `${run}-s${i}`, thresholds: DEFAULT_THRESHOLDS, sourceTopic: t.flowEvents, until: at, basis, snapshots }),
      ]);
      try {
        const [full, fast] = runs.map((r) => { if (r.status === 'rejected') throw r.reason; return r.value; }) as [ReplayResult, ReplayResult];
        expect(full.fromSnapshot).toBeUndefined();
        expect(fast.fromSnapshot).toBeDefined();
        expect(full.events).toBe(1500);
        expect(fast.watermark).toBe(full.watermark);
        expect(await state(fast.store)).toEqual(await state(full.store));
        expect(await boardAt(fast.store, at)).toEqual(await boardAt(full.store, at));
        return fast.events < full.events;
      } finally {
        for (const r of runs) if (r.status === 'fulfilled') await r.value.store.clear();
      }
    }));
    expect(fewer.filter(Boolean).length).toBeGreaterThanOrEqual(4);
  }, 300_000);

  it('never uses snapshots taken under other rules, and the builder deletes them', async () => {
    const other = { ...DEFAULT_THRESHOLDS, strandedDays: DEFAULT_THRESHOLDS.strandedDays + 1 };
    const otherSnapshots = new SnapshotStore(stack.redis, SnapshotStore.prefixFor(ns), t.flowEvents, other, registry);
    expect(otherSnapshots.version).not.toBe(snapshots.version);
    expect(await otherSnapshots.list()).toEqual([]);
    const at = Math.max(...events.map((e) => e.recordedAt));
    const r = await replay(deps, { name: `${run}-o`, thresholds: other, sourceTopic: t.flowEvents, until: at, snapshots: otherSnapshots });
    await r.store.clear();
    expect(r.fromSnapshot).toBeUndefined();
    expect(r.events).toBe(1500);
    // Rules changed: the next build starts over under the new version and drops the old one.
    await new SnapshotBuilder({ ...deps, snapshots: otherSnapshots, everyEvents: 1000 }).catchUp();
    expect((await otherSnapshots.list()).map((s) => s.id)).toEqual([0, 1]);
    expect(await snapshots.list()).toEqual([]);
    await otherSnapshots.drop();
  }, 120_000);
});

describe('time travel from a snapshot restored on demand', () => {
  const ns = uniqueName('ttdemand');
  const t = topicsFor(ns);
  const logger = createLogger('snapshots-test');
  logger.level = 'warn';
  // Late deliveries (stream()), and one event in 20 delivered again, the same event up to
  // two hours later (a source resending it).
  const events = (() => {
    const base = stream(1200, 9);
    const again = base.filter((_, i) => i % 20 === 7).map((e, i) => ({ ...e, recordedAt: e.recordedAt + ((i * 7_919) % 7_200_000) }));
    return [...base, ...again].sort((a, b) => a.recordedAt - b.recordedAt);
  })();
  let stack: EngineStack;
  let deps: ReplayDeps;
  let snapshots: SnapshotStore;
  const run = ns.slice(-6);

  beforeAll(async () => {
    stack = await openEngineStack(ns, t.flowEvents, 3);
    deps = { ...stack, registry, logger };
    await sendFlowEvents(stack.producer, stack.codec, events, t.flowEvents);
    snapshots = new SnapshotStore(stack.redis, SnapshotStore.prefixFor(ns), t.flowEvents, DEFAULT_THRESHOLDS, registry);
    await new SnapshotBuilder({ ...deps, snapshots, everyEvents: 250, blockEvents: 30 }).catchUp();
  }, 120_000);

  afterAll(async () => {
    await snapshots?.drop();
    await stack?.producer.disconnect();
    stack?.redis.disconnect();
  });

  const state = async (store: FlowStore) => {
    const dump = await store.dump({ exclude: /:aout$/ });
    return Object.fromEntries(Object.entries(dump).map(([k, v]) => [k.slice(store.keys.prefix.length), v]));
  };

  it('answers as a replay from the start at, just before and just after each cut, copying a part of the keys', async () => {
    const list = (await snapshots.list()).filter((s) => s.id > 0);
    expect(list.length).toBeGreaterThanOrEqual(3);
    // Each snapshot's own cut on both bases (the instant it becomes usable), a millisecond
    // either side, and a few instants between.
    const instants: { at: number; basis: 'shown' | 'known' }[] = [];
    for (const s of list.slice(0, 3)) {
      for (const d of [-1, 0, 1]) instants.push({ at: s.maxRecordedAt + d, basis: 'shown' }, { at: s.maxOccurredAt + d, basis: 'known' });
    }
    const last = list[list.length - 1]!;
    instants.push({ at: last.maxRecordedAt, basis: 'shown' }, { at: Math.max(...events.map((e) => e.recordedAt)), basis: 'shown' }, { at: Math.floor((list[0]!.maxOccurredAt + last.maxOccurredAt) / 2), basis: 'known' });
    const partial: boolean[] = [];
    const used = new Set<number>();
    // Four instants at a time (a sandbox each), each both ways.
    for (let i = 0; i < instants.length; i += 4) {
      await Promise.all(instants.slice(i, i + 4).map(async ({ at, basis }, j) => {
        const runs = await Promise.allSettled([
          replay(deps, { name: `${run}-f${i + j}`, thresholds: DEFAULT_THRESHOLDS, sourceTopic: t.flowEvents, until: at, basis }),
          replay(deps, { name: `${run}-d${i + j}`, thresholds: DEFAULT_THRESHOLDS, sourceTopic: t.flowEvents, until: at, basis, snapshots, restore: 'on-demand' }),
        ]);
        try {
          const [full, fast] = runs.map((r) => { if (r.status === 'rejected') throw r.reason; return r.value; }) as [ReplayResult, ReplayResult];
          expect(full.fromSnapshot).toBeUndefined();
          expect(fast.fromSnapshot).toBeDefined();
          used.add(fast.fromSnapshot!.id);
          expect(fast.watermark).toBe(full.watermark);
          expect(fast.alertsRaised).toBe(full.alertsRaised);
          // The board first (what the gateway reads: only the keys it touches are copied in) ...
          expect(await boardAt(fast.store, at)).toEqual(await boardAt(full.store, at));
          const filler = fast.store.filler;
          expect(filler).toBeInstanceOf(ManifestFiller);
          partial.push(fast.fromSnapshot!.copied + (filler as ManifestFiller).filled < fast.fromSnapshot!.keys);
          // ... then every key (a dump copies in the rest: what the replay never read is as the snapshot held it).
          expect(await state(fast.store)).toEqual(await state(full.store));
        } finally {
          for (const r of runs) if (r.status === 'fulfilled') await r.value.store.clear();
        }
      }));
    }
    // Instants on several snapshots, and most boards needed a part of the snapshot's keys.
    expect(used.size).toBeGreaterThanOrEqual(3);
    expect(partial.filter(Boolean).length).toBeGreaterThanOrEqual(instants.length / 2);
  }, 600_000);

  it('refuses a change queued on a pipeline that would touch a key not copied in yet', async () => {
    const [s] = (await snapshots.list()).slice(-1);
    const store = (await replay(deps, { name: `${run}-q`, thresholds: DEFAULT_THRESHOLDS, sourceTopic: t.flowEvents, until: s!.maxRecordedAt, basis: 'shown', snapshots, restore: 'on-demand' })).store;
    try {
      const pid = [...new Set(events.map((e) => e.patientId))].find((id) => store.filler!.pending([store.keys.patient('RXT', id)]));
      expect(pid).toBeDefined();
      const none = store.derive('RXT', pid!, fold([]).view);
      const plan = store.planApply({ site: 'RXT', patientId: pid!, before: none, after: none, state: null, offsetField: '', offset: '0' });
      expect(() => store.queueApply(store.redis.pipeline(), plan)).toThrow(/not filled yet/);
      await store.need(store.keysOf(plan));
      expect(() => store.queueApply(store.redis.pipeline(), plan)).not.toThrow();
    } finally {
      await store.clear();
    }
  }, 120_000);
});
