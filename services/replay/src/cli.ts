// pfm replay / pfm rebuild: the ops command line (see the service README).
import { Command, InvalidArgumentError } from 'commander';
import { SingleBar, Presets } from 'cli-progress';
import { loadThresholds } from '@pfm/flow-store';
import { boardAt, compareWithLive, diffAlerts, replay, sandboxPrefix, SnapshotBuilder, type ReplayOptions } from '@pfm/flow-processing';
import { openContext, type ReplayContext } from './context';
import { rebuildLive } from './rebuild';

const time = (v: string): number => {
  const t = /^\d+$/.test(v) ? Number(v) : Date.parse(v);
  if (Number.isNaN(t)) throw new InvalidArgumentError(`not a time: ${v} (ISO-8601, e.g. 2026-11-17T03:00:00Z, or epoch ms)`);
  return t;
};
const positive = (v: string): number => {
  const n = Number(v);
  if (!(n >= 0)) throw new InvalidArgumentError('must be a number >= 0');
  return n;
};
const iso = (t: number) => new Date(t).toISOString().replace('.000Z', 'Z');

async function withProgress(ctx: ReplayContext, label: string, o: Omit<ReplayOptions, 'onProgress'>) {
  const bar = new SingleBar({ format: `${label} [{bar}] {percentage}% | {value}/{total} events | {rate} ev/s | ETA {eta_formatted} | event time {watermark}`, hideCursor: true, noTTYOutput: true, notTTYSchedule: 2000 }, Presets.shades_classic);
  const t0 = Date.now();
  let started = false;
  const r = await replay(ctx, {
    ...o,
    onProgress: ({ done, total, watermark }) => {
      if (!started) { bar.start(total, 0, { rate: 0, watermark: '-' }); started = true; }
      bar.update(done, { rate: Math.round(done / Math.max(0.001, (Date.now() - t0) / 1000)), watermark: iso(watermark) });
    },
  });
  if (started) bar.stop();
  console.log(`${label}: ${r.events} events in ${(r.ms / 1000).toFixed(1)} s (${Math.round(r.events / Math.max(0.001, r.ms / 1000))} events/s); event time reached ${r.watermark ? iso(r.watermark) : '-'}; ${r.alertsRaised} active alerts in the sandbox`);
  return r;
}

function printBoard(b: Awaited<ReturnType<typeof boardAt>>, json: boolean): void {
  if (json) { console.log(JSON.stringify(b, null, 2)); return; }
  console.log(`Board as at ${iso(b.at)}`);
  for (const s of b.sites) {
    console.log(`\nSite ${s.site}`);
    console.table(s.wards.map((w) => ({ ward: w.ward, type: w.wardType, beds: w.beds, occupied: w.occupied, onLeave: w.onLeave, free: w.free, 'occ%': w.occupancyInclLeavePct, stranded: w.stranded, superStranded: w.superStranded, longStay: w.longStay, crfd: w.crfd, eddPassed: w.eddPassed, oap: w.outOfArea })));
    console.log(`${s.flagged.length} flagged patients, ${s.alerts.length} alerts raised by then`);
  }
}

export function program(): Command {
  const p = new Command('pfm').description('Patient Flow Monitor: replay, time travel, what-if and rebuild from the event log');
  const r = p.command('replay').description('replay the flow-event log into sandboxes (never touches live state)');

  r.command('run <sandbox>').description('replay a range of the log into a named sandbox')
    .option('--until <time>', 'only events known by this time (time travel)', time)
    .option('--basis <basis>', '"shown" (recorded by T: what the board showed) or "known" (happened by T)', 'shown')
    .option('--from <time>', 'start at the first message produced at or after this time', time)
    .option('--speed <n>', '0 = as fast as possible; N = N x real time by event time', positive, 0)
    .option('--outputs', "publish board updates and alerts to the sandbox's own topics", false)
    .option('--thresholds <file>', 'thresholds file (default: the live configuration)')
    .action(async (name: string, o: { until?: number; basis: string; from?: number; speed: number; outputs: boolean; thresholds?: string }) => {
      const ctx = await openContext();
      try {
        await withProgress(ctx, `replay ${name}`, { name, thresholds: loadThresholds(o.thresholds ?? ctx.thresholdsFile), sourceTopic: ctx.topic, until: o.until, basis: o.basis === 'known' ? 'known' : 'shown', fromTimestamp: o.from, speed: o.speed, outputs: o.outputs });
      } finally { await ctx.close(); }
    });

  r.command('board').description('the board (sites, wards, flagged patients) as it was at a time')
    .requiredOption('--at <time>', 'the moment to show', time)
    .option('--basis <basis>', '"shown" or "known"', 'shown')
    .option('--json', 'print JSON instead of tables', false)
    .action(async (o: { at: number; basis: string; json: boolean }) => {
      const ctx = await openContext();
      try {
        const res = await withProgress(ctx, 'time travel', { name: `at-${o.at}`, thresholds: loadThresholds(ctx.thresholdsFile), sourceTopic: ctx.topic, until: o.at, basis: o.basis === 'known' ? 'known' : 'shown', snapshots: ctx.snapshots });
        if (!o.json) console.log(res.fromSnapshot ? `from snapshot ${res.fromSnapshot.id} (${res.fromSnapshot.eventsBefore} events), ${res.fromSnapshot.skippedBlocks} blocks of later events passed over` : 'from the start of the log (no snapshot of these rules before that time: `pfm replay snapshots`)');
        printBoard(await boardAt(res.store, o.at), o.json);
        await res.store.clear();
      } finally { await ctx.close(); }
    });

  r.command('whatif').description('alerts under other thresholds, against the live configuration, over the log')
    .requiredOption('--thresholds <file>', 'the candidate thresholds file')
    .option('--from <time>', 'count alerts that became true from this time', time)
    .option('--to <time>', 'count alerts that became true up to this time', time)
    .option('--json', 'print JSON', false)
    .action(async (o: { thresholds: string; from?: number; to?: number; json: boolean }) => {
      const ctx = await openContext();
      try {
        const base = await withProgress(ctx, 'baseline ', { name: 'whatif-baseline', thresholds: loadThresholds(ctx.thresholdsFile), sourceTopic: ctx.topic });
        const cand = await withProgress(ctx, 'candidate', { name: 'whatif-candidate', thresholds: loadThresholds(o.thresholds), sourceTopic: ctx.topic });
        const d = await diffAlerts(base.store, cand.store, { from: o.from, to: o.to });
        if (o.json) console.log(JSON.stringify(d, null, 2));
        else console.log(d.lines.length ? d.lines.join('\n') : 'No difference in alerts.');
      } finally { await ctx.close(); }
    });

  r.command('verify').description('determinism check: replay the whole log and compare with live state and alerts')
    .action(async () => {
      const ctx = await openContext();
      try {
        const res = await withProgress(ctx, 'verify', { name: 'verify', thresholds: ctx.live.thresholds, sourceTopic: ctx.topic });
        const d = await compareWithLive(ctx.live, res.store, res.watermark);
        console.log(`${d.keysCompared} keys and ${d.alertsCompared} alerts compared: ${d.equal ? 'replay EQUALS live' : 'DIFFERENT'}`);
        for (const k of d.differences) console.log(`  state differs: ${k}`);
        for (const k of d.alertDifferences) console.log(`  alert differs: ${k}`);
        process.exitCode = d.equal ? 0 : 1;
      } finally { await ctx.close(); }
    });

  r.command('snapshots').description('take the time-travel snapshots the log allows now (the replay service does it every minute), or delete them')
    .option('--every <events>', 'events between two snapshots', positive, 1000)
    .option('--drop', 'delete every snapshot instead', false)
    .action(async (o: { every: number; drop: boolean }) => {
      const ctx = await openContext();
      try {
        if (o.drop) { console.log(`deleted ${await ctx.snapshots.drop()} snapshot keys (version ${ctx.snapshots.version})`); return; }
        const bar = new SingleBar({ format: 'snapshots [{bar}] {percentage}% | {value}/{total} events | {snapshots} taken', hideCursor: true, noTTYOutput: true, notTTYSchedule: 2000 }, Presets.shades_classic);
        let started = false;
        const r = await new SnapshotBuilder({ ...ctx, everyEvents: o.every }).catchUp(({ done, total, snapshots }) => {
          if (!started) { bar.start(total, 0, { snapshots: 0 }); started = true; }
          bar.update(done, { snapshots });
        });
        if (started) bar.stop();
        if (r.skipped) { console.log('another process is taking snapshots now; try again later'); return; }
        const list = await ctx.snapshots.list();
        const mib = list.reduce((n, m) => n + m.bytes, 0) / 2 ** 20;
        console.log(`${r.snapshots} new snapshots (${r.events} events replayed), ${r.indexed} later events indexed; ${list.length - 1} snapshots of version ${ctx.snapshots.version}, ${mib.toFixed(1)} MiB`);
      } finally { await ctx.close(); }
    });

  r.command('drop <sandbox>').description("delete a sandbox's keys")
    .action(async (name: string) => {
      const ctx = await openContext();
      try {
        const { FlowStore, Keys } = await import('@pfm/flow-store');
        const n = await new FlowStore(ctx.redis, new Keys(sandboxPrefix(name)), ctx.registry, ctx.live.thresholds).clear();
        console.log(`dropped ${n} keys of sandbox ${name}`);
      } finally { await ctx.close(); }
    });

  p.command('rebuild').description("drop live state in Redis and let the engine rebuild it from the log")
    .option('--yes', 'confirm: the boards show partial numbers until the rebuild completes', false)
    .option('--timeout <seconds>', 'how long to follow the rebuild', positive, 600)
    .action(async (o: { yes: boolean; timeout: number }) => {
      if (!o.yes) { console.error('pfm rebuild clears live flow state; the engine rebuilds it from the log. Run again with --yes.'); process.exitCode = 2; return; }
      const ctx = await openContext();
      try { await rebuildLive(ctx, o.timeout * 1000); } finally { await ctx.close(); }
    });
  return p;
}

if (require.main === module) {
  program().parseAsync(process.argv).catch((e: unknown) => { console.error(e instanceof Error ? e.message : e); process.exit(1); });
}
