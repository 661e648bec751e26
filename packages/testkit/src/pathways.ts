// Deterministic synthetic pathways for fault tests and benchmarks: many patients, each
// with a realistic run of admission, transfers, leave, CRFD, EDD, discharge and
// follow-up, interleaved in event-time order. Synthetic data only.
import type { FlowEvent } from '@pfm/contracts';

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const SYNTHETIC_WARDS = ['OAK', 'ASH', 'ELM', 'BIRCH', 'WILLOW', 'CEDAR', 'HAZEL', 'ROWAN'];

/** About `total` events over `patients`-sized cohorts, sorted by event time. */
export function syntheticEvents(opts: { total: number; seed?: number; site?: string; start?: number }): FlowEvent[] {
  const r = rng(opts.seed ?? 1);
  const site = opts.site ?? 'RXT';
  const start = opts.start ?? Date.parse('2026-01-01T00:00:00Z');
  const day = 86_400_000;
  const out: FlowEvent[] = [];
  let n = 0;
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  for (let p = 0; out.length < opts.total; p++) {
    const patientId = `SYN${p}`;
    const spellId = `SP${p}`;
    let t = start + Math.floor(r() * 300 * day);
    const mk = (type: FlowEvent['type'], payload: object, at: number) => {
      out.push({ eventId: `syn-${++n}`, type, payload, occurredAt: at, recordedAt: at, site, patientId, sourceSystem: 'SYN', channel: 'simulator' } as FlowEvent);
    };
    let ward = pick(SYNTHETIC_WARDS);
    mk('patient.admitted', { spellId, ward, bed: `B${Math.floor(r() * 20)}`, initials: 'XX', outOfArea: r() < 0.05 }, t);
    const los = Math.max(1, Math.round(Math.exp(3.4 + 0.8 * (r() + r() + r() - 1.5))));
    mk('edd.set', { spellId, expectedDischargeAt: t + Math.round(los * 0.8) * day }, t + day);
    if (r() < 0.3) { t += Math.floor(r() * los * 0.4 * day); ward = pick(SYNTHETIC_WARDS); mk('patient.transferred', { spellId, ward, bed: `B${Math.floor(r() * 20)}` }, t); }
    if (r() < 0.4) { const ls = t + day * 2; mk('leave.started', { spellId }, ls); mk('leave.ended', { spellId }, ls + day); t = ls + day; }
    if (r() < 0.25) { mk('crfd.started', { spellId, reasonCode: pick(['14', '15', '09', '04', '01', '98']) }, t + day); t += day; }
    const end = t + los * day;
    if (r() < 0.85) {
      mk('patient.discharged', { spellId, destination: 'home' }, end);
      if (r() < 0.8) mk('followup.made', { spellId }, end + Math.floor(r() * 96) * 3_600_000);
    }
  }
  out.length = opts.total;
  return out.sort((a, b) => a.occurredAt - b.occurredAt);
}
