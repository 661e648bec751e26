// pnpm -s tsx scripts/bench-clocks.ts [days] [rounds]: the cost of a patient's clocks per
// applied event, as the engine derives them: every clock of the patient computed again
// (`timers`) against only the clocks of the spell or referral the event changed
// (`timersAfter` with `clockScope`), on the simulator's trust over `days` (default 730),
// folded patient by patient in log order as the engine folds it. No stack needed: pure
// Node. Both ways run over the same events in turn, `rounds` times (default 7), and every
// event's clocks are compared once: the script fails if any differ. Figures: docs/benchmarks.md.
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { FlowEvent } from '@pfm/contracts';
import { clockScope, DEFAULT_THRESHOLDS, emptyPatient, evolve, fold, thresholdsForSite, timers, timersAfter, type ClockScope, type DomainContext, type PatientState, type PatientView, type Timer } from '@pfm/flow-domain';
import { simulatedLog } from './bench-insights';

interface Step { site: string; patientId: string; view: PatientView; prior: Timer[]; scope: ClockScope | undefined }

function main(): void {
  const days = Number(process.argv[2] ?? 730);
  const rounds = Number(process.argv[3] ?? 7);
  const { events, registry } = simulatedLog(days, 7, Date.parse('2024-01-01T00:00:00Z'));
  // Each site's context as the engine's store makes it (FlowStore.ctxFor).
  const contexts = new Map<string, DomainContext>();
  const store = {
    ctxFor: (site: string): DomainContext => {
      let c = contexts.get(site);
      if (!c) contexts.set(site, (c = { thresholds: thresholdsForSite(DEFAULT_THRESHOLDS, site), wardType: (w) => registry.typeOf(site, w), external: (w) => registry.external(site, w) }));
      return c;
    },
  };
  const patients = new Map<string, { state: PatientState; view: PatientView; clocks: Timer[] }>();
  const steps: Step[] = [];
  for (const e of events as FlowEvent[]) {
    const k = `${e.site}/${e.patientId}`;
    const ctx = store.ctxFor(e.site);
    const p = patients.get(k) ?? { state: emptyPatient(e.site, e.patientId), view: fold([]).view, clocks: [] };
    const r = evolve(p.state, e, e.recordedAt, p.view);
    if (r.outcome.kind === 'applied') {
      const whole = timers(e.site, e.patientId, r.view, ctx);
      if (r.released.length === 0 && e.type !== 'patient.merged') steps.push({ site: e.site, patientId: e.patientId, view: r.view, prior: p.clocks, scope: clockScope(e) });
      p.view = r.view;
      p.clocks = whole;
    }
    p.state = r.state;
    patients.set(k, p);
  }
  // Every event's clocks the same both ways (the property test's check, on the realistic stream).
  for (const s of steps) {
    const ctx = store.ctxFor(s.site);
    const a = JSON.stringify(timers(s.site, s.patientId, s.view, ctx));
    const b = JSON.stringify(timersAfter(s.site, s.patientId, s.view, ctx, s.prior, s.scope));
    if (a !== b) throw new Error(`clocks differ for ${s.patientId}: ${a} against ${b}`);
  }
  const scoped = steps.filter((s) => s.scope).length;
  const time = (fn: (s: Step) => Timer[]): number => {
    const t0 = performance.now();
    let n = 0;
    for (const s of steps) n += fn(s).length;
    if (n < 0) throw new Error('unreachable');
    return ((performance.now() - t0) * 1000) / steps.length;
  };
  const full: number[] = [];
  const changed: number[] = [];
  for (let i = 0; i < rounds; i++) {
    full.push(time((s) => timers(s.site, s.patientId, s.view, store.ctxFor(s.site))));
    changed.push(time((s) => timersAfter(s.site, s.patientId, s.view, store.ctxFor(s.site), s.prior, s.scope)));
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const f = (x: number) => x.toFixed(2);
  process.stdout.write(`[clocks] ${cpus()[0]?.model ?? 'cpu'} x${cpus().length}, Node ${process.version}, load average ${loadavg()[0]!.toFixed(1)}\n`);
  process.stdout.write(`[clocks] ${days} days: ${events.length} events, ${steps.length} applied alone (compared: all equal), ${scoped} of them (${((100 * scoped) / steps.length).toFixed(1)}%) scoped to a spell or referral\n`);
  process.stdout.write(`[clocks] every clock again: ${f(median(full))} µs/event (min ${f(Math.min(...full))}, max ${f(Math.max(...full))})\n`);
  process.stdout.write(`[clocks] only what changed: ${f(median(changed))} µs/event (min ${f(Math.min(...changed))}, max ${f(Math.max(...changed))})\n`);
  process.stdout.write(`[clocks] ratio (every clock / only what changed, medians): ${(median(full) / median(changed)).toFixed(2)}\n`);
}

main();
