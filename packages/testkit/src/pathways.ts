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

const TYPES = ['patient.admitted', 'edd.set', 'patient.transferred', 'leave.started', 'leave.ended', 'crfd.started', 'patient.discharged', 'followup.made'] as const;
const REASONS = ['14', '15', '09', '04', '01', '98'];

/**
 * The synthetic events in event-time order, kept compact (typed arrays, about 30 bytes per
 * event instead of a few hundred for the objects): `at(i)` makes the i-th event.
 */
function syntheticPlan(opts: { total: number; seed?: number; site?: string; start?: number }): { length: number; at(i: number): FlowEvent } {
  const r = rng(opts.seed ?? 1);
  const site = opts.site ?? 'RXT';
  const start = opts.start ?? Date.parse('2026-01-01T00:00:00Z');
  const day = 86_400_000;
  const cap = opts.total + TYPES.length;
  // Per event in the order made: time, patient, type, and its payload's one number and one code.
  const time = new Float64Array(cap);
  const patient = new Int32Array(cap);
  const type = new Uint8Array(cap);
  const num = new Float64Array(cap);
  const code = new Int32Array(cap);
  let n = 0;
  const pick = <T>(xs: readonly T[]): number => Math.floor(r() * xs.length);
  for (let p = 0; n < opts.total; p++) {
    let t = start + Math.floor(r() * 300 * day);
    const mk = (k: number, at: number, x = 0, c = 0) => { time[n] = at; patient[n] = p; type[n] = k; num[n] = x; code[n] = c; n += 1; };
    let ward = pick(SYNTHETIC_WARDS);
    const bed = Math.floor(r() * 20);
    mk(0, t, 0, ward * 64 + bed * 2 + (r() < 0.05 ? 1 : 0));
    const los = Math.max(1, Math.round(Math.exp(3.4 + 0.8 * (r() + r() + r() - 1.5))));
    mk(1, t + day, t + Math.round(los * 0.8) * day);
    if (r() < 0.3) { t += Math.floor(r() * los * 0.4 * day); ward = pick(SYNTHETIC_WARDS); mk(2, t, 0, ward * 64 + Math.floor(r() * 20) * 2); }
    if (r() < 0.4) { const ls = t + day * 2; mk(3, ls); mk(4, ls + day); t = ls + day; }
    if (r() < 0.25) { mk(5, t + day, 0, pick(REASONS)); t += day; }
    const end = t + los * day;
    if (r() < 0.85) {
      mk(6, end);
      if (r() < 0.8) mk(7, end + Math.floor(r() * 96) * 3_600_000);
    }
  }
  const length = opts.total;
  // Stable by time: events at the same instant keep the order they were made in.
  const order = new Uint32Array(length).map((_, i) => i).sort((a, b) => time[a]! - time[b]! || a - b);
  return {
    length,
    at: (i) => {
      const j = order[i]!;
      const p = patient[j]!;
      const spellId = `SP${p}`;
      const c = code[j]!;
      const k = type[j]!;
      const payload = k === 0 ? { spellId, ward: SYNTHETIC_WARDS[c >> 6]!, bed: `B${(c & 63) >> 1}`, initials: 'XX', outOfArea: (c & 1) === 1 }
        : k === 1 ? { spellId, expectedDischargeAt: num[j]! }
          : k === 2 ? { spellId, ward: SYNTHETIC_WARDS[c >> 6]!, bed: `B${(c & 63) >> 1}` }
            : k === 5 ? { spellId, reasonCode: REASONS[c]! }
              : k === 6 ? { spellId, destination: 'home' }
                : { spellId };
      return { eventId: `syn-${j + 1}`, type: TYPES[k]!, payload, occurredAt: time[j]!, recordedAt: time[j]!, site, patientId: `SYN${p}`, sourceSystem: 'SYN', channel: 'simulator' } as FlowEvent;
    },
  };
}

/** About `total` events over `patients`-sized cohorts, sorted by event time. */
export function syntheticEvents(opts: { total: number; seed?: number; site?: string; start?: number }): FlowEvent[] {
  const plan = syntheticPlan(opts);
  return Array.from({ length: plan.length }, (_, i) => plan.at(i));
}

/**
 * The same events as `syntheticEvents`, in the same order, `size` at a time: only the
 * chunk in hand is held as objects (10M events as objects take ~2.4 GiB of heap).
 */
export function* syntheticEventChunks(opts: { total: number; seed?: number; site?: string; start?: number }, size: number): Generator<FlowEvent[]> {
  const plan = syntheticPlan(opts);
  for (let i = 0; i < plan.length; i += size) yield Array.from({ length: Math.min(size, plan.length - i) }, (_, k) => plan.at(i + k));
}
