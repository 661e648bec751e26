// ./pfm bench --time-travel [--days 365] [--instants 40] [--baselines 4] [--every 1000]
// [--block 100] [--restore on-demand|all|both]: time travel to
// random instants of the simulated period (a year of the trust's history, delivered with the
// simulator's faults: late and duplicate messages), from the nearest snapshot and from the
// start of the log, in the same run on the same topic. Reports p50 / p95 / max of the
// whole request (replay + board), the snapshots' size and build time, and the ratio.
// --restore both: each instant is travelled to with either way of restoring a snapshot
// (every key, or on demand: what the board gateway does), in alternating order.
// Figures and method: docs/benchmarks.md.
import { cpus, loadavg, totalmem } from 'node:os';
import type { FlowEvent, FlowEventInput } from '@pfm/contracts';
import { DEFAULT_THRESHOLDS } from '@pfm/flow-domain';
import { WardRegistry } from '@pfm/flow-store';
import { createLogger } from '@pfm/observability';
import { boardAt, replay, SnapshotBuilder, SnapshotStore, type ReplayDeps } from '@pfm/flow-processing';
import { createSimulation, wardsOf } from '../services/simulator/src';
import { openScratch } from '../tests/support/scratch';

const log = (m: string) => process.stdout.write(`[bench-tt] ${m}\n`);
const arg = (name: string, dflt: number) => { const i = process.argv.indexOf(`--${name}`); return i >= 0 ? Number(process.argv[i + 1]) : dflt; };
const pct = (xs: number[], p: number) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? NaN; };

/** The trust's history as the log holds it: in delivery order, recordedAt = when it was delivered. */
export function trustYear(days: number, seed = 42): { events: FlowEvent[]; registry: WardRegistry } {
  const sim = createSimulation({ seed, start: Date.parse('2026-11-01T00:00:00Z'), historyDays: days, faults: true });
  const events: FlowEvent[] = [];
  for (const d of sim.deliveries(sim.history(days) as Iterable<FlowEventInput>)) {
    if (d.fault === 'bad_nhs') continue; // ingest refuses these: they never reach the log
    events.push({ ...d.event, eventId: `tt-${events.length}`, recordedAt: Math.max(d.deliverAt, d.event.occurredAt), sourceSystem: 'sim', channel: 'simulator' } as FlowEvent);
  }
  return { events, registry: new WardRegistry(wardsOf(sim.trust)) };
}

type Restore = 'on-demand' | 'all';

export async function benchTimeTravel(o: { days: number; instants: number; baselines: number; everyEvents: number; blockEvents: number; restore?: Restore | 'both' }): Promise<Record<string, unknown>> {
  const modes: Restore[] = o.restore === 'both' ? ['on-demand', 'all'] : [o.restore ?? 'on-demand'];
  const { events, registry } = trustYear(o.days);
  const scratch = await openScratch('ttbench');
  const logger = createLogger('bench');
  logger.level = 'warn';
  const deps: ReplayDeps = { kafka: scratch.kafka, redis: scratch.redis, producer: scratch.producer, codec: scratch.codec, registry, logger };
  const snapshots = new SnapshotStore(scratch.redis, SnapshotStore.prefixFor(scratch.ns), scratch.topics.flowEvents, DEFAULT_THRESHOLDS, registry);
  try {
    log(`producing ${events.length} events (${o.days} days of the simulator's trust, faults on)`);
    await scratch.send(events);

    const b0 = Date.now();
    let lastLog = 0;
    const built = await new SnapshotBuilder({ ...deps, snapshots, everyEvents: o.everyEvents, blockEvents: o.blockEvents }).catchUp((p) => {
      if (Date.now() - lastLog > 10_000) { lastLog = Date.now(); log(`snapshots: ${p.done}/${p.total} events, ${p.snapshots} taken`); }
    });
    const buildMs = Date.now() - b0;
    const metas = await snapshots.list();
    const bytes = metas.reduce((n, m) => n + m.bytes, 0);
    log(`snapshots: ${built.snapshots} in ${(buildMs / 1000).toFixed(1)} s (every ${o.everyEvents} events), ${(bytes / 2 ** 20).toFixed(1)} MiB of state dumps, last one ${metas[metas.length - 1]!.keys} keys / ${(metas[metas.length - 1]!.bytes / 2 ** 20).toFixed(2)} MiB`);

    // Instants over the simulated period (its last `days` days): the log also holds the
    // history the simulator back-fills before it (admissions of patients already in), a
    // few thousand events spread over months, where an instant is cheap to travel to.
    const hi = Math.max(...events.map((e) => e.recordedAt));
    const lo = hi - o.days * 86_400_000;
    let seed = 7;
    const rand = () => { seed = (seed * 48271) % 2147483647; return seed / 2147483647; };
    const instants = Array.from({ length: o.instants }, (_, i) => ({ at: Math.floor(lo + rand() * (hi - lo)), basis: (i % 2 ? 'known' : 'shown') as 'shown' | 'known' }));
    const travel = async (i: number, at: number, basis: 'shown' | 'known', restore: Restore | null) => {
      const t0 = Date.now();
      const cpu0 = process.cpuUsage();
      const r = await replay(deps, { name: `ttb-${scratch.ns.slice(-6)}-${restore ? restore[0] : 'f'}${i}`, thresholds: DEFAULT_THRESHOLDS, sourceTopic: scratch.topics.flowEvents, until: at, basis, ...(restore ? { snapshots, restore } : {}) });
      const t1 = Date.now();
      const board = await boardAt(r.store, at);
      const ms = Date.now() - t0;
      // This process's CPU for the request (user + system): less load-dependent than the wall time (Redis and Kafka work is not in it).
      const cpu = process.cpuUsage(cpu0);
      const cpuMs = Math.round((cpu.user + cpu.system) / 1000);
      // Keys copied into the sandbox: at the restore, and on demand by the replay and the board.
      const copied = (r.fromSnapshot?.copied ?? 0) + ((r.store.filler as { filled?: number } | undefined)?.filled ?? 0);
      await r.store.clear();
      return { ms, read: r.events, board, copied, keys: r.fromSnapshot?.keys ?? 0, phases: { ...r.phases, boardMs: Date.now() - t1, nodeCpuMs: cpuMs } };
    };
    const by = new Map(modes.map((m) => [m, { ms: [] as number[], read: [] as number[], copied: [] as number[], keys: [] as number[], phases: {} as Record<string, number[]> }]));
    const boards = new Map<number, string>();
    let modesAgree = 0;
    for (const [i, { at, basis }] of instants.entries()) {
      // Alternating which way goes first, so neither always runs on a warmer cache.
      const order = i % 2 ? [...modes].reverse() : modes;
      const seen: string[] = [];
      for (const mode of order) {
        const r = await travel(i, at, basis, mode);
        const m = by.get(mode)!;
        m.ms.push(r.ms);
        m.read.push(r.read);
        m.copied.push(r.copied);
        m.keys.push(r.keys);
        for (const [k, v] of Object.entries(r.phases)) (m.phases[k] ??= []).push(v);
        seen.push(JSON.stringify(r.board));
      }
      if (seen.every((b) => b === seen[0])) modesAgree += 1;
      if (i < o.baselines) boards.set(i, seen[0]!);
    }
    for (const [mode, m] of by) {
      log(`from snapshots (restore ${mode}): ${o.instants} instants, p50 ${pct(m.ms, 50)} ms, p95 ${pct(m.ms, 95)} ms, max ${Math.max(...m.ms)} ms; events read p50 ${pct(m.read, 50)}, max ${Math.max(...m.read)}; keys copied p50 ${pct(m.copied, 50)}, max ${Math.max(...m.copied)} (of p50 ${pct(m.keys, 50)} in the snapshot)`);
      log(`  p50 / p95 by phase: ${Object.entries(m.phases).map(([k, v]) => `${k} ${pct(v, 50)} / ${pct(v, 95)}`).join(', ')}; load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
    }
    if (modes.length > 1) log(`boards equal between the two ways of restoring: ${modesAgree}/${o.instants}`);
    const fast = by.get(modes[0]!)!.ms;
    const full: number[] = [];
    let equal = 0;
    for (const [i, { at, basis }] of instants.slice(0, o.baselines).entries()) {
      const r = await travel(i, at, basis, null);
      full.push(r.ms);
      if (JSON.stringify(r.board) === boards.get(i)) equal += 1;
      log(`from the start: instant ${i + 1}/${o.baselines}: ${r.ms} ms (${r.read} events)`);
    }
    log(`from the start: p50 ${pct(full, 50)} ms, p95 ${pct(full, 95)} ms; boards equal to the snapshot answer: ${equal}/${o.baselines}`);
    return {
      events: events.length, days: o.days, snapshots: built.snapshots, everyEvents: o.everyEvents, blockEvents: o.blockEvents, buildSeconds: +(buildMs / 1000).toFixed(1),
      snapshotMiB: +(bytes / 2 ** 20).toFixed(1), lastSnapshotKeys: metas[metas.length - 1]!.keys,
      withSnapshots: Object.fromEntries([...by].map(([mode, m]) => [mode, {
        instants: o.instants, p50: pct(m.ms, 50), p95: pct(m.ms, 95), max: Math.max(...m.ms), eventsReadP50: pct(m.read, 50), eventsReadMax: Math.max(...m.read), keysCopiedP50: pct(m.copied, 50), keysCopiedMax: Math.max(...m.copied),
        phasesP50: Object.fromEntries(Object.entries(m.phases).map(([k, v]) => [k, pct(v, 50)])), phasesP95: Object.fromEntries(Object.entries(m.phases).map(([k, v]) => [k, pct(v, 95)])),
      }])),
      ...(modes.length > 1 ? { boardsEqualBetweenRestores: `${modesAgree}/${o.instants}` } : {}),
      fromStart: { instants: o.baselines, p50: pct(full, 50), p95: pct(full, 95) },
      ratioP50: +(pct(full, 50) / pct(fast, 50)).toFixed(1), ratioP95: +(pct(full, 95) / pct(fast, 95)).toFixed(1), boardsEqual: `${equal}/${o.baselines}`,
      machine: `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`,
    };
  } finally {
    await snapshots.drop();
    await scratch.close();
  }
}

export async function main(): Promise<void> {
  const i = process.argv.indexOf('--restore');
  const restore = (i >= 0 ? process.argv[i + 1] : 'on-demand') as Restore | 'both';
  if (!['on-demand', 'all', 'both'].includes(restore)) throw new Error('--restore on-demand|all|both');
  const r = await benchTimeTravel({ days: arg('days', 365), instants: arg('instants', 40), baselines: arg('baselines', 4), everyEvents: arg('every', 1000), blockEvents: arg('block', 100), restore });
  log(JSON.stringify(r, null, 2));
}

if (require.main === module) main().catch((e: unknown) => { console.error(e); process.exit(1); });
