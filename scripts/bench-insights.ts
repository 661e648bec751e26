// The insights warehouse benchmark: the simulator's trust over DAYS of history (730 = two
// years) produced to a scratch flow-event topic, then
//   1. raw kafkajs consuming it with a no-op handler (the baseline, same run, same fetch size),
//   2. the insights consumer folding it into a new DuckDB file from the start of the log
//      (what `./pfm insights rebuild` does), with the time split by stage,
//   3. the read API's series queries segmented by local area over the whole warehouse
//      (p50 / p95 per measure, answered through HTTP with SPC, as an analyst asks them).
// Figures and method: docs/benchmarks.md ("Insights warehouse").
//   pnpm -s tsx scripts/bench-insights.ts [--days 730] [--seed 7] [--reps 20] [--partitions 6] [--keep FILE] [--no-queries] [--concurrency N]
// --queries: the read API only, on a warehouse built as above (or a copy of --warehouse FILE,
// one kept by --keep): every call the Insights and equity views make when they open, and
// every measure of the catalogue by week and month, whole trust and by a segment (p50 / p95).
//   pnpm -s tsx scripts/bench-insights.ts --queries [--warehouse FILE] [--days 730] [--seed 7] [--reps 10]
//   (also: pnpm bench --insights [--queries ...])
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { Auth } from '@pfm/access';
import { partitionKey, type FlowEvent, type FlowEventInput } from '@pfm/contracts';
import { DEFAULT_THRESHOLDS } from '@pfm/flow-domain';
import { WardRegistry } from '@pfm/flow-store';
import { createLogger } from '@pfm/observability';
import { waitFor } from '@pfm/testkit';
import { openScratch } from '../tests/support/scratch';
import { createSimulation, wardsOf } from '../services/simulator/src';
import type { RowContext } from '../services/insights/src/rows';

/**
 * The service's code under test: this tree's, or another copy of services/insights/src
 * (PFM_BENCH_INSIGHTS_SRC, e.g. an earlier commit's, to compare before and after in one run).
 */
const src = process.env.PFM_BENCH_INSIGHTS_SRC ?? join(__dirname, '../services/insights/src');
type Api = typeof import('../services/insights/src/api');
type Consumer = typeof import('../services/insights/src/consumer');
type Measures = typeof import('../services/insights/src/measures');
type Pseudonym = typeof import('../services/insights/src/pseudonym');
type WarehouseMod = typeof import('../services/insights/src/warehouse');
/* eslint-disable @typescript-eslint/no-require-imports */
const { buildInsightsApi } = require(join(src, 'api')) as Api;
const consumerModule = require(join(src, 'consumer')) as Consumer;
const { InsightsConsumer } = consumerModule;
const { loadCatalogue, loadPopulation } = require(join(src, 'measures')) as Measures;
const { LocalAreas, Pseudonymiser } = require(join(src, 'pseudonym')) as Pseudonym;
const { Warehouse } = require(join(src, 'warehouse')) as WarehouseMod;
/* eslint-enable @typescript-eslint/no-require-imports */

const log = (m: string) => process.stdout.write(`[bench-insights] ${m}\n`);
const root = join(__dirname, '..');
/** The simulated trust's history ends here (the day the log catches up with). */
const START = Date.parse('2026-11-01T00:00:00Z');

export interface InsightsBenchOptions { days: number; seed: number; reps: number; partitions: number; maxBatchBytes: number; keep?: string; /** Build only (no series queries). */ noQueries?: boolean; /** The consumer's concurrentPartitions (its default when not given; codes without it ignore it). */ concurrency?: number }

/** The simulator's events as they are on the topic (recorded when they happened, as in a backfill). */
export function simulatedLog(days: number, seed: number, start: number): { events: FlowEvent[]; registry: WardRegistry } {
  const sim = createSimulation({ seed, start, historyDays: days });
  const events = [...sim.history(days)].map((e: FlowEventInput) => ({ ...e, eventId: e.eventId!, recordedAt: e.occurredAt, sourceSystem: e.sourceSystem ?? 'SIM', channel: 'simulator' }) as FlowEvent);
  return { events, registry: new WardRegistry(wardsOf(sim.trust)) };
}

/** A new warehouse in `dir` for the simulated trust, with the row context and a quiet logger the fold runs with. */
async function openBenchWarehouse(dir: string, registry: WardRegistry) {
  const logger = createLogger('bench-insights');
  logger.level = 'warn';
  const ctx: RowContext = {
    thresholds: DEFAULT_THRESHOLDS, wardType: (site, ward) => registry.typeOf(site, ward),
    pseudo: new Pseudonymiser('bench-insights-secret-0123456789abcdef'),
    areas: LocalAreas.fromFile(join(root, 'config/local-areas.csv'), 'locality'),
  };
  const db = join(dir, 'insights.duckdb');
  const warehouse = await Warehouse.open(db, { wards: registry.wards(), thresholds: DEFAULT_THRESHOLDS });
  return { logger, ctx, db, warehouse };
}

const pct = (xs: number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]!;
};

export async function benchInsights(o: InsightsBenchOptions): Promise<Record<string, unknown>> {
  const start = START;
  const t0 = Date.now();
  const { events, registry } = simulatedLog(o.days, o.seed, start);
  log(`simulated ${o.days} days: ${events.length} events in ${Date.now() - t0} ms`);
  const scratch = await openScratch('bench-wh', o.partitions);
  const dir = mkdtempSync(join(tmpdir(), 'pfm-bench-insights-'));
  try {
    await scratch.send(events);
    const total = events.length;

    // 1. Baseline: kafkajs with a no-op handler, the same fetch size as the warehouse's consumer.
    let seen = 0;
    let rawStart = 0;
    const raw = scratch.kafka.consumer({ groupId: `${scratch.ns}-raw`, maxBytesPerPartition: o.maxBatchBytes });
    await raw.connect();
    await raw.subscribe({ topic: scratch.topics.flowEvents, fromBeginning: true });
    await raw.run({ eachBatchAutoResolve: true, eachBatch: async ({ batch }) => { if (!rawStart) rawStart = Date.now(); seen += batch.messages.length; } });
    await waitFor(() => seen >= total, { timeoutMs: 600_000, intervalMs: 5, what: 'raw consumer to read every event' });
    const rawMs = Math.max(1, Date.now() - rawStart);
    await raw.disconnect();
    const rawRate = total / (rawMs / 1000);
    log(`raw kafkajs consume: ${total} events in ${rawMs} ms = ${rawRate.toFixed(0)} events/s`);

    // 2. The warehouse from the start of the log.
    const { logger, ctx, db, warehouse } = await openBenchWarehouse(dir, registry);
    let firstBatch = 0;
    let batches = 0;
    const consumer = new InsightsConsumer({
      kafka: scratch.kafka, codec: scratch.codec, warehouse, ctx, logger, groupId: `${scratch.ns}-wh`,
      topics: { flowEvents: scratch.topics.flowEvents, alerts: scratch.topics.alerts }, maxBatchBytes: o.maxBatchBytes,
      ...(o.concurrency ? { concurrentPartitions: o.concurrency } : {}),
      afterBatch: () => { if (!firstBatch) firstBatch = Date.now(); batches += 1; },
    });
    const startedAt = Date.now();
    // CPU of this process while folding (JS and DuckDB's threads): on a shared machine the wall clock mostly measures waiting for a core.
    const cpu0 = process.cpuUsage();
    await consumer.start();
    await consumer.untilCaughtUp();
    const foldMs = Math.max(1, Date.now() - (firstBatch || startedAt));
    const cpuFold = process.cpuUsage(cpu0);
    await consumer.stop();
    // Up to the file as a caught-up consumer leaves it: what is still only in the write-ahead
    // log checkpointed into the file (the consumer's catch-up mode does most of this before
    // it reports caught up; without this the rest would be written by the untimed close).
    const ck0 = Date.now();
    const cpuCk0 = process.cpuUsage();
    await warehouse.run('CHECKPOINT');
    const checkpointMs = Date.now() - ck0;
    const cpuCk = process.cpuUsage(cpuCk0);
    const whMs = foldMs + checkpointMs;
    const cpuMs = Math.round((cpuFold.user + cpuFold.system + cpuCk.user + cpuCk.system) / 1000);
    const whRate = total / (whMs / 1000);
    const stages = (consumer.stats as { ms?: Record<string, number> }).ms ?? {};
    for (const k of Object.keys(stages)) stages[k] = Math.round(stages[k]!);
    log(`warehouse fold: ${total} events in ${whMs} ms (${checkpointMs} ms of it a final checkpoint) = ${whRate.toFixed(0)} events/s (${batches} batches, ${Math.round(total / Math.max(1, batches))} events each; ratio to raw ${(whRate / rawRate).toFixed(3)})`);
    const cpuStages = { ...((consumer.stats as { cpuMs?: Record<string, number> }).cpuMs ?? {}) };
    for (const k of Object.keys(cpuStages)) cpuStages[k] = Math.round(cpuStages[k]!);
    log(`  CPU: ${cpuMs} ms (${Math.round(total / (cpuMs / 1000))} events per CPU-second); time by stage (ms, wall): ${JSON.stringify(stages)}; CPU by stage (ms): ${JSON.stringify(cpuStages)}`);
    const counts = (await warehouse.rows('SELECT (SELECT count(*) FROM spells)::INTEGER AS spells, (SELECT count(*) FROM ward_stays)::INTEGER AS stays, (SELECT count(*) FROM referrals)::INTEGER AS referrals, (SELECT count(*) FROM census_patient_days)::INTEGER AS bed_days'))[0]!;
    log(`  warehouse: ${JSON.stringify(counts)}`);

    if (o.noQueries) {
      warehouse.close();
      if (o.keep) copyFileSync(db, o.keep);
      return { days: o.days, events: total, warehouseMs: whMs, warehouseCpuMs: cpuMs, counts, machine: `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, load ${loadavg().map((x) => x.toFixed(1)).join(' ')}` };
    }
    // 3. Segmented series through the read API (HTTP, token check, SPC), over everything.
    const auth = new Auth('bench-insights-jwt-secret-0123456789abcdef');
    const api = buildInsightsApi({
      warehouse, auth, logger, audit: () => undefined,
      catalogue: loadCatalogue(join(root, 'config/measures.json')), population: loadPopulation(join(root, 'config/population.csv')),
    });
    await api.listen({ port: 0, host: '127.0.0.1' });
    const base = `http://127.0.0.1:${(api.server.address() as { port: number }).port}`;
    const token = await auth.issue({ sub: 'bench-analyst', role: 'analyst', sites: ['RXT'] });
    const measures = ['admissions', 'occupied_bed_days', 'los_median', 'stranded_bed_day_share', 'oap_bed_days', 'readmission_30d', 'followup_72h', 'crisis_response_4h', 'admissions_per_100k'];
    const queries: Record<string, { p50: number; p95: number; max: number; points: number }> = {};
    const all: number[] = [];
    for (const period of ['week', 'month'] as const) {
      for (const m of measures) {
        const url = `${base}/api/v1/insights/series?measure=${m}&period=${period}&by=local_area`;
        const times: number[] = [];
        let points = 0;
        for (let i = 0; i < o.reps + 1; i++) {
          const t = performance.now();
          const r = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
          const body = (await r.json()) as { segments?: { points: unknown[] }[] };
          if (r.status !== 200) throw new Error(`${url}: ${r.status} ${JSON.stringify(body).slice(0, 300)}`);
          points = (body.segments ?? []).reduce((a, s) => a + s.points.length, 0);
          if (i > 0) times.push(performance.now() - t); // the first is a warm-up
        }
        all.push(...times);
        queries[`${m}/${period}`] = { p50: Number(pct(times, 0.5).toFixed(1)), p95: Number(pct(times, 0.95).toFixed(1)), max: Number(Math.max(...times).toFixed(1)), points };
      }
    }
    await api.close();
    log('series by local_area over the whole warehouse (ms):');
    for (const [k, v] of Object.entries(queries)) log(`  ${k.padEnd(32)} p50 ${v.p50}  p95 ${v.p95}  max ${v.max}  (${v.points} points)`);
    const overall = { p50: Number(pct(all, 0.5).toFixed(1)), p95: Number(pct(all, 0.95).toFixed(1)), n: all.length };
    log(`  all queries: p50 ${overall.p50} ms, p95 ${overall.p95} ms over ${overall.n} requests`);
    warehouse.close();
    if (o.keep) copyFileSync(db, o.keep);
    return {
      days: o.days, events: total, partitions: o.partitions, maxBatchBytes: o.maxBatchBytes,
      rawMs, rawRate: Math.round(rawRate), warehouseMs: whMs, warehouseRate: Math.round(whRate), warehouseCpuMs: cpuMs, eventsPerCpuSecond: Math.round(total / (cpuMs / 1000)), ratio: Number((whRate / rawRate).toFixed(3)), batches, stages, cpuStages,
      counts, queries, overall,
      machine: `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, load ${loadavg().map((x) => x.toFixed(1)).join(' ')}`,
    };
  } finally {
    await scratch.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The fold and write without Kafka (no broker, no registry, no decode): the simulated log
 * split into `partitions` by the producer's key, each partition cut into batches of
 * `batchEvents` events, fed to the consumer's own per-batch path (applyDecoded: load,
 * fold, rows, one transaction with the offset) partition after partition, round robin, as
 * the consumer takes them. Prints the stage times, the CPU of the process and a
 * fingerprint of every table (count and an order-free hash), so two codes can be compared
 * for equal contents as well as for speed. Timed up to a final CHECKPOINT (the file as a
 * caught-up consumer leaves it), in the consumer's catch-up mode (Warehouse.beginCatchUp)
 * when the code under test has it, unless --no-catch-up.
 *   pnpm -s tsx scripts/bench-insights.ts --no-kafka [--days 365] [--seed 7] [--batch-events 3000] [--partitions 6] [--no-catch-up] [--concurrency N]
 */
export async function benchFold(o: { days: number; seed: number; partitions: number; batchEvents: number; keep?: string; /** Use the catch-up mode when the code has it (default). */ catchUp?: boolean; /** Partitions in flight (default: the code's DEFAULT_CONCURRENT_PARTITIONS, 1 when it has none). */ concurrency?: number }): Promise<Record<string, unknown>> {
  const { events, registry } = simulatedLog(o.days, o.seed, START);
  const parts: FlowEvent[][] = Array.from({ length: o.partitions }, () => []);
  for (const e of events) parts[createHash('md5').update(partitionKey(e)).digest().readUInt32BE(0) % o.partitions]!.push(e);
  const batches: { partition: number; events: FlowEvent[]; next: number }[] = [];
  for (let i = 0; ; i++) {
    let any = false;
    parts.forEach((p, partition) => {
      const slice = p.slice(i * o.batchEvents, (i + 1) * o.batchEvents);
      if (slice.length) { any = true; batches.push({ partition, events: slice, next: i * o.batchEvents + slice.length }); }
    });
    if (!any) break;
  }
  const dir = mkdtempSync(join(tmpdir(), 'pfm-bench-fold-'));
  try {
    const { logger, ctx, db, warehouse } = await openBenchWarehouse(dir, registry);
    const consumer = new InsightsConsumer({ kafka: undefined as never, codec: undefined as never, warehouse, ctx, logger, groupId: 'bench-fold', topics: { flowEvents: 'bench-fold', alerts: 'bench-fold-alerts' } });
    const apply = (consumer as unknown as { applyDecoded?: (e: FlowEvent[], off: { topic: string; partition: number; next: string }) => Promise<void> }).applyDecoded;
    if (!apply) throw new Error(`the code under test (${src}) has no applyDecoded: the fold without Kafka needs it`);
    // The consumer's catch-up mode (one checkpoint at the end; Warehouse.beginCatchUp), when the code under test has it.
    const catchUp = warehouse as { beginCatchUp?: () => Promise<void>; endCatchUp?: () => Promise<void> };
    const mode = o.catchUp && catchUp.beginCatchUp ? 'catch-up' : 'plain';
    // Partitions folded side by side, as the consumer runs them, when the code under test does (it then serialises its writes).
    const lanes = o.concurrency ?? (consumerModule as { DEFAULT_CONCURRENT_PARTITIONS?: number }).DEFAULT_CONCURRENT_PARTITIONS ?? 1;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    if (mode === 'catch-up') await catchUp.beginCatchUp!();
    // As kafkajs hands them to the consumer: up to `lanes` partitions' batches in flight, each partition's in order.
    const after = new Map<number, Promise<void>>();
    let i = 0;
    await Promise.all(Array.from({ length: lanes }, async () => {
      while (i < batches.length) {
        const b = batches[i++]!;
        await after.get(b.partition);
        const done = apply.call(consumer, b.events, { topic: 'bench-fold', partition: b.partition, next: String(b.next) });
        after.set(b.partition, done);
        await done;
      }
    }));
    const foldMs = performance.now() - t0;
    const walBytes = existsSync(`${db}.wal`) ? statSync(`${db}.wal`).size : 0;
    // Timed to the file as a caught-up consumer leaves it: everything checkpointed into the file
    // (without it, the last batches' write-ahead log would be written by the untimed close).
    if (mode === 'catch-up') await catchUp.endCatchUp!();
    await warehouse.run('CHECKPOINT');
    const ms = Math.round(performance.now() - t0);
    const checkpointMs = Math.round(ms - foldMs);
    const cpu = process.cpuUsage(cpu0);
    const cpuMs = Math.round((cpu.user + cpu.system) / 1000);
    const stages = { ...(consumer.stats as { ms: Record<string, number> }).ms };
    for (const k of Object.keys(stages)) stages[k] = Math.round(stages[k]!);
    const total = events.length;
    log(`fold without Kafka (${mode}, ${lanes} partition(s) at a time): ${total} events in ${batches.length} batches (${o.partitions} partitions, <= ${o.batchEvents} events each): ${ms} ms wall (${checkpointMs} ms of it the checkpoint at the end, of a ${(walBytes / 2 ** 20).toFixed(1)} MiB write-ahead log) = ${Math.round(total / (ms / 1000))} events/s; CPU ${cpuMs} ms = ${Math.round(total / (cpuMs / 1000))} events per CPU-second`);
    const cpuStages = { ...((consumer.stats as { cpuMs?: Record<string, number> }).cpuMs ?? {}) };
    for (const k of Object.keys(cpuStages)) cpuStages[k] = Math.round(cpuStages[k]!);
    log(`  time by stage (ms, wall): ${JSON.stringify(stages)}; CPU by stage (ms): ${JSON.stringify(cpuStages)}; load ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
    const fingerprint: Record<string, string> = {};
    const tables = ['spells', 'ward_stays', 'leave_periods', 'crfd_periods', 'referrals', 'census_patient_days', 'daily_ward_census', '_patients', '_offsets', '_meta'];
    for (const t of tables) {
      const r = (await warehouse.rows(`SELECT count(*)::BIGINT AS n, coalesce(sum(hash(x)::HUGEINT), 0)::VARCHAR AS h FROM (SELECT * FROM ${t}) x`))[0]!;
      fingerprint[t] = `${String(r.n)}/${String(r.h)}`;
    }
    log(`  tables (count/hash): ${JSON.stringify(fingerprint)}`);
    warehouse.close();
    if (o.keep) copyFileSync(db, o.keep);
    return { days: o.days, events: total, batches: batches.length, mode, lanes, wallMs: ms, checkpointMs, walBytes, cpuMs, eventsPerCpuSecond: Math.round(total / (cpuMs / 1000)), stages, cpuStages, fingerprint, load: loadavg() };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** What an answer took, as the client saw it (HTTP, token check, query, SPC, JSON). */
interface Timed { p50: number; p95: number; max: number; n: number }
const summary = (times: number[]): Timed => ({ p50: Number(pct(times, 0.5).toFixed(1)), p95: Number(pct(times, 0.95).toFixed(1)), max: Number(Math.max(...times).toFixed(1)), n: times.length });

/**
 * The read API on a copy of `file` (the simulator's trust, `days` of it, `seed`): the calls
 * the web app's Insights view makes when it opens (catalogue, then the default measure's
 * series and its improvement notes side by side), the equity view's first call, and every
 * measure of the catalogue by week and by month, for the whole trust and by local area
 * (or its first segment), each `reps` times after a warm-up. Requests one at a time.
 */
export async function benchQueries(file: string, o: { days: number; seed: number; reps: number }): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), 'pfm-bench-queries-'));
  try {
    const db = join(dir, 'insights.duckdb');
    copyFileSync(file, db);
    const sim = createSimulation({ seed: o.seed, start: START, historyDays: o.days });
    const logger = createLogger('bench-insights');
    logger.level = 'warn';
    const t0 = performance.now();
    const warehouse = await Warehouse.open(db, { wards: wardsOf(sim.trust), thresholds: DEFAULT_THRESHOLDS });
    const openMs = Math.round(performance.now() - t0);
    const counts = (await warehouse.rows('SELECT (SELECT count(*) FROM spells)::INTEGER AS spells, (SELECT count(*) FROM referrals)::INTEGER AS referrals, (SELECT count(*) FROM census_patient_days)::INTEGER AS bed_days'))[0]!;
    log(`warehouse ${file}: ${JSON.stringify(counts)} (opened in ${openMs} ms)`);
    const auth = new Auth('bench-insights-jwt-secret-0123456789abcdef');
    const catalogue = loadCatalogue(join(root, 'config/measures.json'));
    const api = buildInsightsApi({ warehouse, auth, logger, audit: () => undefined, catalogue, population: loadPopulation(join(root, 'config/population.csv')) });
    await api.listen({ port: 0, host: '127.0.0.1' });
    const base = `http://127.0.0.1:${(api.server.address() as { port: number }).port}`;
    const token = await auth.issue({ sub: 'bench-analyst', role: 'analyst', sites: ['RXT'] });
    const get = async (path: string): Promise<unknown> => {
      const r = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${token}` } });
      const body = (await r.json()) as unknown;
      if (r.status !== 200) throw new Error(`${path}: ${r.status} ${JSON.stringify(body).slice(0, 300)}`);
      return body;
    };
    const timed = async (f: () => Promise<unknown>): Promise<number[]> => {
      const times: number[] = [];
      for (let i = 0; i < o.reps + 1; i++) {
        const t = performance.now();
        await f();
        if (i > 0) times.push(performance.now() - t); // the first is a warm-up
      }
      return times;
    };
    const results: Record<string, Timed> = {};
    const record = (name: string, times: number[]) => {
      results[name] = summary(times);
      log(`  ${name.padEnd(56)} p50 ${results[name].p50}  p95 ${results[name].p95}  max ${results[name].max}`);
    };
    try {
      // The views' defaults, as the web app picks them (ui/insights/InsightsView.tsx insightsDefaults,
      // EquityView.tsx equityDefaults): the catalogue's first measure by week for the whole trust;
      // the equity view's detained share of admissions by its first dimension.
      const cat = (await get('/api/v1/insights/measures')) as { scope: { sites: string[] }; measures: { id: string; by: string[]; kind: string }[]; equitySegments: string[] };
      const first = cat.measures[0]!.id;
      const site = cat.scope.sites[0]!;
      const eq = cat.measures.find((m) => m.id === 'detained_admission_share')!;
      const eqBy = eq.by.find((b) => cat.equitySegments.includes(b))!;
      log('the views\' first calls (ms):');
      record('measures (catalogue)', await timed(() => get('/api/v1/insights/measures')));
      record(`series ${first} week (Insights view default)`, await timed(() => get(`/api/v1/insights/series?measure=${first}&period=week`)));
      record(`improvements site=${site} measure=${first}`, await timed(() => get(`/api/v1/insights/improvements?site=${site}&measure=${first}`)));
      record(`equity ${eq.id} by ${eqBy} (equity view default)`, await timed(() => get(`/api/v1/insights/equity?measure=${eq.id}&by=${eqBy}`)));
      // The Insights view opening: the catalogue, then the series and the notes side by side.
      record('Insights view load (catalogue, then series + notes)', await timed(async () => {
        await get('/api/v1/insights/measures');
        await Promise.all([get(`/api/v1/insights/series?measure=${first}&period=week`), get(`/api/v1/insights/improvements?site=${site}&measure=${first}`)]);
      }));
      log('every measure (ms):');
      for (const m of cat.measures) {
        const by = m.by.includes('local_area') ? 'local_area' : m.by[0]!;
        for (const period of ['week', 'month'] as const) {
          for (const seg of [...(m.kind === 'rate100k' ? [] : [undefined]), by]) {
            const q = `measure=${m.id}&period=${period}${seg ? `&by=${seg}` : ''}`;
            record(`${m.id} ${period}${seg ? ` by ${seg}` : ''}`, await timed(() => get(`/api/v1/insights/series?${q}`)));
          }
        }
      }
    } finally {
      await api.close();
      warehouse.close();
    }
    const all = Object.values(results);
    return {
      warehouse: file, days: o.days, seed: o.seed, reps: o.reps, counts, openMs, queries: results,
      worstP95: Math.max(...all.map((r) => r.p95)),
      machine: `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, load ${loadavg().map((x) => x.toFixed(1)).join(' ')}`,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

export async function main(): Promise<void> {
  if (process.argv.includes('--no-kafka')) {
    const keepAt = process.argv.indexOf('--keep');
    const r = await benchFold({ days: arg('days', 365), seed: arg('seed', 7), partitions: arg('partitions', 6), batchEvents: arg('batch-events', 3000), keep: keepAt > 0 ? process.argv[keepAt + 1] : undefined, catchUp: !process.argv.includes('--no-catch-up'), concurrency: process.argv.includes('--concurrency') ? arg('concurrency', 1) : undefined });
    log(`code under test: ${src}`);
    console.log(JSON.stringify(r));
    return;
  }
  if (process.argv.includes('--queries')) {
    const at = process.argv.indexOf('--warehouse');
    let file = at > 0 ? process.argv[at + 1] : undefined;
    const days = arg('days', 730);
    const seed = arg('seed', 7);
    const tmp = file ? undefined : mkdtempSync(join(tmpdir(), 'pfm-bench-wh-'));
    try {
      if (!file) {
        file = join(tmp!, 'built.duckdb');
        await benchInsights({ days, seed, reps: 0, partitions: arg('partitions', 6), maxBatchBytes: arg('max-batch-bytes', 8 * 1024 * 1024), keep: file, noQueries: true });
      }
      const r = await benchQueries(file, { days, seed, reps: arg('reps', 10) });
      log(`machine: ${String(r.machine)}; code under test: ${src}`);
      console.log(JSON.stringify(r));
    } finally {
      if (tmp) rmSync(tmp, { recursive: true, force: true });
    }
    return;
  }
  const keepAt = process.argv.indexOf('--keep');
  const r = await benchInsights({
    days: arg('days', 730), seed: arg('seed', 7), reps: arg('reps', 20), partitions: arg('partitions', 6),
    maxBatchBytes: arg('max-batch-bytes', 8 * 1024 * 1024), keep: keepAt > 0 ? process.argv[keepAt + 1] : undefined, noQueries: process.argv.includes('--no-queries'),
    concurrency: process.argv.includes('--concurrency') ? arg('concurrency', 1) : undefined,
  });
  log(`machine: ${String(r.machine)}; code under test: ${src}`);
  console.log(JSON.stringify(r));
}

if (require.main === module) main().catch((e: unknown) => { console.error(e); process.exit(1); });
