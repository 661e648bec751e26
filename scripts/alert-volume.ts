// Alert volume per ward per day on the simulator's synthetic trust, with no stack: the
// trust's history is folded patient by patient with the pure rules, and each clock is
// raised the way the engine raises it (when it falls due before the patient's next event,
// or by the end, if its condition still holds). Prints open alerts at the end, alerts
// raised per ward per day by rule and severity: what a crisis team or bed manager reads.
// Run: pnpm tsx scripts/alert-volume.ts [--days 120] [--seed 1]
import type { FlowEvent, FlowEventInput, Ward } from '@pfm/contracts';
import { alertFor, DEFAULT_THRESHOLDS, emptyPatient, evolve, fold, timers, type DomainContext, type PatientState } from '../packages/flow-domain/src';
import { createSimulation, wardsOf } from '../services/simulator/src';

export interface Volume {
  days: number; wards: number; beds: number;
  raised: number; openAtEnd: number; openCriticalAtEnd: number;
  perWardPerDay: number;
  byRule: Record<string, { raised: number; open: number; severity: string }>;
}

export function alertVolume(opts: { days: number; seed: number; start?: number }): Volume {
  const start = opts.start ?? Date.parse('2026-11-01T00:00:00Z');
  const sim = createSimulation({ seed: opts.seed, start, historyDays: opts.days });
  const wards: Ward[] = wardsOf(sim.trust);
  const types = new Map(wards.map((w) => [w.code, w]));
  const ctx = {
    thresholds: DEFAULT_THRESHOLDS,
    wardType: (ward: string) => types.get(ward)?.type ?? 'unknown',
    external: (ward: string) => { const w = types.get(ward) as (Ward & { external?: boolean }) | undefined; return w ? w.external === true : undefined; },
  } as DomainContext;
  const byPatient = new Map<string, FlowEvent[]>();
  let i = 0;
  for (const input of sim.history(opts.days) as Iterable<FlowEventInput>) {
    const e = { eventId: `av-${i++}`, recordedAt: input.occurredAt, sourceSystem: 'sim', channel: 'simulator', ...input } as FlowEvent;
    const list = byPatient.get(e.patientId) ?? [];
    list.push(e);
    byPatient.set(e.patientId, list);
  }
  const from = start - opts.days * 86_400_000;
  const byRule: Volume['byRule'] = {};
  let raised = 0;
  let openAtEnd = 0;
  let openCriticalAtEnd = 0;
  for (const [pid, events] of byPatient) {
    let s: PatientState = emptyPatient(sim.trust.site, pid);
    const seen = new Set<string>();
    const fire = (until: number) => {
      const view = fold(s.events).view;
      for (const t of timers(s.site, pid, view, ctx)) {
        if (t.dueAt > until || t.dueAt < from || seen.has(t.alertId)) continue;
        const a = alertFor(s.site, pid, s.nhsNumber, view, ctx, t, until);
        if (!a) continue;
        seen.add(t.alertId);
        raised++;
        (byRule[a.rule] ??= { raised: 0, open: 0, severity: a.severity }).raised++;
      }
    };
    for (const e of events.sort((a, b) => a.occurredAt - b.occurredAt)) {
      fire(e.occurredAt);
      s = evolve(s, e).state;
    }
    fire(start);
    const open = new Set(timers(s.site, pid, fold(s.events).view, ctx).filter((t) => t.dueAt <= start).map((t) => t.alertId));
    for (const id of seen) {
      if (!open.has(id)) continue;
      const rule = id.split(':')[0]!;
      openAtEnd++;
      byRule[rule]!.open++;
      if (byRule[rule]!.severity === 'critical') openCriticalAtEnd++;
    }
  }
  const local = wards.filter((w) => !(w as Ward & { external?: boolean }).external);
  return {
    days: opts.days, wards: local.length, beds: local.reduce((n, w) => n + w.beds, 0), raised, openAtEnd, openCriticalAtEnd,
    perWardPerDay: Math.round((raised / local.length / opts.days) * 10) / 10, byRule,
  };
}

if (require.main === module) {
  const arg = (name: string, def: number) => { const k = process.argv.indexOf(`--${name}`); return k > 0 ? Number(process.argv[k + 1]) : def; };
  const v = alertVolume({ days: arg('days', 120), seed: arg('seed', 1) });
  console.log(`${v.days} days, ${v.wards} local wards, ${v.beds} beds: ${v.raised} alerts raised (${v.perWardPerDay} per ward per day); open at the end ${v.openAtEnd}, of them critical ${v.openCriticalAtEnd}`);
  console.table(Object.fromEntries(Object.entries(v.byRule).sort().map(([r, x]) => [r, { severity: x.severity, raised: x.raised, perWardPerDay: Math.round((x.raised / v.wards / v.days) * 100) / 100, openAtEnd: x.open }])));
}
