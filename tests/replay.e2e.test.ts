// Replay for ops on the real stack: sandboxes never touch live keys, the whole log
// replays to the live state (determinism), time travel, what-if, and rebuild after
// Redis loses the product's keys mid-stream.
import type { FlowEvent } from '@pfm/contracts';
import { DEFAULT_THRESHOLDS, emptyPatient, evolve, facts } from '@pfm/flow-domain';
import { FlowStore, Keys, WardRegistry } from '@pfm/flow-store';
import { createProducer, FlowEventCodec } from '@pfm/kafka-runtime';
import { createLogger } from '@pfm/observability';
import { compareWithLive, diffAlerts, boardAt, replay, SnapshotBuilder, SnapshotStore, type ReplayDeps } from '@pfm/flow-processing';
import { buildApi, type BoardAudit } from '@pfm/replay';
import { Auth } from '@pfm/access';
import { syntheticEvents, waitFor } from '@pfm/testkit';
import { DEFAULT_WARDS, postEvents, SECRET, startProduct, type ProductUnderTest } from './support/stack';

const wards = [...DEFAULT_WARDS, ...['ASH', 'BIRCH', 'WILLOW', 'CEDAR', 'HAZEL', 'ROWAN'].map((code) => ({ site: 'RXT', code, name: `${code} Ward`, type: 'adult_acute' as const, beds: 60 }))];

/** Occupied beds per ward from the events alone (the pure rules, no engine). */
function expectedOccupied(events: FlowEvent[], until = Number.POSITIVE_INFINITY): Record<string, number> {
  const byPatient = new Map<string, ReturnType<typeof emptyPatient>>();
  let last: Record<string, number> = {};
  for (const e of [...events].sort((a, b) => a.occurredAt - b.occurredAt)) {
    if (e.occurredAt > until) continue;
    const r = evolve(byPatient.get(e.patientId) ?? emptyPatient(e.site, e.patientId), e);
    byPatient.set(e.patientId, r.state);
  }
  last = {};
  for (const [pid, s] of byPatient) {
    const { fold } = jest.requireActual<typeof import('@pfm/flow-domain')>('@pfm/flow-domain');
    for (const f of facts(pid, fold(s.events).view)) if (f.kind === 'count' && f.name === 'occupied') last[f.scope.slice(5)] = (last[f.scope.slice(5)] ?? 0) + f.value;
  }
  return last;
}

describe('replay, time travel, what-if and rebuild', () => {
  let p: ProductUnderTest;
  let live: FlowStore;
  let deps: ReplayDeps;
  const events = syntheticEvents({ total: 3000, seed: 11, start: Date.parse('2026-03-01T00:00:00Z') });
  const registry = new WardRegistry(wards);

  const send = async (batch: FlowEvent[]) => {
    for (let i = 0; i < batch.length; i += 500) {
      const r = await postEvents(p.ingestUrl, batch.slice(i, i + 500).map(({ recordedAt: _r, channel: _c, sourceSystem: _s, ...rest }) => rest));
      expect(r.status).toBe(202);
    }
  };
  const allApplied = async (store: FlowStore) => {
    const admin = p.kafka.admin();
    await admin.connect();
    const ends = await admin.fetchTopicOffsets(p.topics.flowEvents);
    await admin.disconnect();
    const applied = await store.appliedOffsets(p.topics.flowEvents);
    return ends.every((e) => Number(e.high) === 0 || (applied.has(e.partition) && BigInt(applied.get(e.partition)!) >= BigInt(e.high) - 1n));
  };

  beforeAll(async () => {
    // The synthetic year runs from 2026-03-01 into 2027 on event time: ingest's limit on
    // dates ahead of the wall clock is off, as in the demo's time-compressed feed.
    p = await startProduct({ wards, extraEnv: { PFM_CLOCK: 'event', PFM_SCAN_INTERVAL_MS: '300', PFM_INGEST_MAX_AHEAD_MINUTES: '0' } });
    live = new FlowStore(p.redis, new Keys(p.prefix), registry, DEFAULT_THRESHOLDS);
    const codec = new FlowEventCodec(p.env.SCHEMA_REGISTRY_URL!, `${p.topics.flowEvents}-value`);
    await codec.init();
    const producer = createProducer(p.kafka);
    await producer.connect();
    const logger = createLogger('replay-test');
    logger.level = 'warn';
    deps = { kafka: p.kafka, redis: p.redis, producer, codec, registry, logger };
    await send(events.slice(0, 2000));
    await waitFor(() => allApplied(live), { timeoutMs: 120000, what: 'live engine to apply the first 2000 events' });
  });
  afterAll(async () => {
    for (const name of ['t-sbx', 't-travel', 't-base', 't-cand', 't-after']) await new FlowStore(p.redis, new Keys(`sbx.${name}`), registry, DEFAULT_THRESHOLDS).clear();
    if (p) await new SnapshotStore(p.redis, SnapshotStore.prefixFor(p.prefix), p.topics.flowEvents, DEFAULT_THRESHOLDS, registry).drop();
    await deps?.producer.disconnect();
    await p?.stop();
  });

  it('replays the whole log into a sandbox without touching live keys, and the sandbox equals live', async () => {
    // Let live settle: its scanner fires the last clocks shortly after the last event.
    let before = await live.dump({ exclude: /:clock$/ });
    await waitFor(async () => {
      const now = await live.dump({ exclude: /:clock$/ });
      const stable = JSON.stringify(now) === JSON.stringify(before);
      before = now;
      return stable;
    }, { intervalMs: 1500, what: 'live state to settle' });
    const r = await replay(deps, { name: 't-sbx', thresholds: DEFAULT_THRESHOLDS, sourceTopic: p.topics.flowEvents });
    expect(r.events).toBe(2000);
    expect(await live.dump({ exclude: /:clock$/ })).toEqual(before);
    const d = await compareWithLive(live, r.store, r.watermark);
    expect(d.differences).toEqual([]);
    expect(d.alertDifferences).toEqual([]);
    expect(d.keysCompared).toBeGreaterThan(300);
    expect(d.alertsCompared).toBeGreaterThan(10);
  });

  it('time travel: the board at T equals the state of the events that happened by T', async () => {
    const T = Date.parse('2026-07-15T03:00:00Z');
    const r = await replay(deps, { name: 't-travel', thresholds: DEFAULT_THRESHOLDS, sourceTopic: p.topics.flowEvents, until: T, basis: 'known' });
    const b = await boardAt(r.store, T);
    const got = Object.fromEntries(b.sites[0]!.wards.filter((w) => w.occupied > 0).map((w) => [w.ward, w.occupied]));
    expect(got).toEqual(expectedOccupied(events.slice(0, 2000), T));
    expect(b.sites[0]!.wards.reduce((n, w) => n + w.stranded, 0)).toBeGreaterThan(0);
  });

  it('what-if: stranded at 5 days raises more stranded alerts than at 7', async () => {
    const base = await replay(deps, { name: 't-base', thresholds: DEFAULT_THRESHOLDS, sourceTopic: p.topics.flowEvents });
    const cand = await replay(deps, { name: 't-cand', thresholds: { ...DEFAULT_THRESHOLDS, strandedDays: 5 }, sourceTopic: p.topics.flowEvents });
    const d = await diffAlerts(base.store, cand.store);
    expect(d.byRule.stranded!.candidate).toBeGreaterThan(d.byRule.stranded!.baseline);
    expect(d.lines.join('\n')).toMatch(/^stranded: \d+ more alerts \(\d+ -> \d+\), \d+ on ward \w+/m);
  });

  it('the HTTP API runs a sandbox replay with progress and serves its board; bad input gets field-level reasons', async () => {
    // Time travel starts from the nearest snapshot of the live rules; board reads are audited.
    const snapshots = new SnapshotStore(p.redis, SnapshotStore.prefixFor(p.prefix), p.topics.flowEvents, DEFAULT_THRESHOLDS, registry);
    expect((await new SnapshotBuilder({ ...deps, snapshots, everyEvents: 500 }).catchUp()).snapshots).toBeGreaterThanOrEqual(3);
    const audits: BoardAudit[] = [];
    const app = buildApi({ ...deps, live, topic: p.topics.flowEvents, snapshots, close: async () => undefined }, { auth: new Auth(SECRET), boardAudit: (a) => audits.push(a) });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    const ops = await p.token({ sub: 'ops-test', role: 'ops' });
    const call = async (method: string, path: string, body?: unknown, token = ops) => {
      const r = await fetch(`${base}${path}`, { method, headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined });
      return { status: r.status, json: (await r.json()) as Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
    };
    const bad = await call('POST', '/v1/replays', { name: 'no spaces allowed', speed: -1, thresholds: { strandedDays: -3, nonsense: 1 } });
    expect(bad.status).toBe(400);
    expect(bad.json.errors.map((e: { path: string }) => e.path)).toEqual(expect.arrayContaining(['name', 'speed', 'thresholds.strandedDays', 'thresholds']));
    // Ops only: no token 401, a bed manager's 403, for every route; nothing started.
    expect((await call('GET', '/v1/board?at=2026-06-01T00:00:00Z', undefined, '')).status).toBe(401);
    expect((await call('POST', '/v1/replays', { name: 't-denied' }, await p.token())).status).toBe(403);
    expect((await call('GET', '/v1/replays/t-api/board', undefined, await p.token())).status).toBe(403);
    expect((await call('GET', '/v1/replays/t-denied')).status).toBe(404);
    const started = await call('POST', '/v1/replays', { name: 't-api', until: '2026-06-01T00:00:00Z', basis: 'known' });
    expect(started.status).toBe(202);
    const job = await waitFor(async () => { const j = (await call('GET', '/v1/replays/t-api')).json; return j.status !== 'running' ? j : undefined; }, { timeoutMs: 120_000, what: 'API replay to finish' });
    expect([job.status, job.error]).toEqual(['done', undefined]);
    expect(job.result.fromSnapshot).toBeDefined();
    expect(job.result.events).toBeLessThan(2000);
    const board = (await call('GET', '/v1/replays/t-api/board?at=2026-06-01T00:00:00Z')).json;
    const occupiedOf = (b: typeof board) => Object.fromEntries(b.sites[0].wards.filter((w: { occupied: number }) => w.occupied > 0).map((w: { ward: string; occupied: number }) => [w.ward, w.occupied]));
    expect(occupiedOf(board)).toEqual(expectedOccupied(events.slice(0, 2000), Date.parse('2026-06-01T00:00:00Z')));
    const travelled = (await call('GET', '/v1/board?at=2026-08-01T00:00:00Z&basis=known')).json;
    expect(occupiedOf(travelled)).toEqual(expectedOccupied(events.slice(0, 2000), Date.parse('2026-08-01T00:00:00Z')));
    // An ops token for another site sees none of this site's board.
    const elsewhere = await p.token({ sub: 'ops-elsewhere', role: 'ops', sites: ['RYY'] });
    expect((await call('GET', '/v1/replays/t-api/board?at=2026-06-01T00:00:00Z', undefined, elsewhere)).json.sites).toEqual([]);
    expect(audits.map((a) => [a.action, a.who, a.instant, a.patients > 0])).toEqual([
      ['sandbox.board', 'ops-test', Date.parse('2026-06-01T00:00:00Z'), true], ['timetravel.board', 'ops-test', Date.parse('2026-08-01T00:00:00Z'), true],
      ['sandbox.board', 'ops-elsewhere', Date.parse('2026-06-01T00:00:00Z'), false],
    ]);
    expect((await call('DELETE', '/v1/replays/t-api')).json.dropped).toBeGreaterThan(0);
    await app.close();
    await snapshots.drop();
  });

  it('rebuilds from the log when Redis loses the product keys mid-stream', async () => {
    const keys = await p.redis.keys(`${p.prefix}:*`);
    expect(keys.length).toBeGreaterThan(100);
    await p.redis.unlink(...keys);
    await send(events.slice(2000));
    await waitFor(() => allApplied(live), { timeoutMs: 120000, what: 'engine to rebuild and apply every event' });
    const expected = expectedOccupied(events);
    await waitFor(async () => {
      const s = await live.wardSummaries('RXT', Object.keys(expected), Date.now());
      return s.every((w) => w.occupied === expected[w.ward]);
    }, { timeoutMs: 60000, what: 'rebuilt occupancy to equal the events' });
    const r = await replay(deps, { name: 't-after', thresholds: DEFAULT_THRESHOLDS, sourceTopic: p.topics.flowEvents });
    expect((await compareWithLive(live, r.store, r.watermark)).differences).toEqual([]);
  });
});
