// The model against the figures it claims (README.md, rates.ts, domain.md), measured
// from its event stream alone: one fixed seed, one simulated year.
import { flowEventInputSchema, isValidNhsNumber, type FlowEventInput } from '@pfm/contracts';
import { createSimulation, DAY_MS, HOUR_MS } from './model';
import { checkPathways, flowStats, isEvent, type FlowStats } from './stats';
import { defaultTrust } from './trust';

const SEED = 42;
const START = Date.UTC(2026, 0, 1);
const YEAR = 365;

function year(): { events: FlowEventInput[]; stats: FlowStats } {
  const sim = createSimulation({ seed: SEED, start: START, historyDays: YEAR });
  const events = [...sim.history(YEAR)];
  return { events, stats: flowStats(events, { trust: defaultTrust, from: START - YEAR * DAY_MS, to: START }) };
}

describe('trust model: one simulated year, default seed', () => {
  let events: FlowEventInput[];
  let stats: FlowStats;
  beforeAll(() => {
    ({ events, stats } = year());
  });

  it('emits only canonical events that pass flowEventInputSchema, with a source system and valid NHS numbers', () => {
    expect(events.length).toBeGreaterThan(50_000);
    const failures = events.filter((e) => !flowEventInputSchema.safeParse(e).success);
    expect(failures.slice(0, 3)).toEqual([]);
    const wrongEnvelope = events.filter(
      (e) =>
        e.site !== 'RXT' ||
        !['SIM-PAS', 'SIM-EPR'].includes(e.sourceSystem ?? '') ||
        (e.patientId.startsWith('ward:') ? e.nhsNumber !== undefined : !isValidNhsNumber(e.nhsNumber ?? '')),
    );
    expect(wrongEnvelope.slice(0, 3)).toEqual([]);
  });

  it('is in event-time order with unique ids, and every spell and referral follows a valid pathway', () => {
    expect(checkPathways(events)).toEqual([]);
  });

  it('starts every spell it shows with its admission (the opening census comes first)', () => {
    const windowStart = START - YEAR * DAY_MS;
    const census = events.filter((e) => e.occurredAt < windowStart);
    expect(census.length).toBeGreaterThan(0);
    expect(census.some((e) => e.type === 'patient.admitted')).toBe(true);
    expect(events.findIndex((e) => e.occurredAt >= windowStart)).toBe(census.length);
  });

  it('adult acute LOS: median ~30 days, mean within King\'s Fund 32-39, a tail past 60 and 90 days', () => {
    const aa = stats.los.adult_acute;
    expect(aa).toBeDefined();
    if (!aa) return;
    expect(aa.n).toBeGreaterThan(500);
    expect(aa.median).toBeGreaterThanOrEqual(25);
    expect(aa.median).toBeLessThanOrEqual(35);
    expect(aa.mean).toBeGreaterThanOrEqual(32);
    expect(aa.mean).toBeLessThanOrEqual(40);
    expect(aa.over60Share).toBeGreaterThan(0.05);
    expect(aa.over60Share).toBeLessThan(0.25);
    expect(aa.over90Share).toBeGreaterThan(0.005);
    expect(aa.over90Share).toBeLessThan(aa.over60Share);
  });

  it('orders LOS by ward type: PICU < adult acute < older adult < rehab', () => {
    const m = (t: 'picu' | 'adult_acute' | 'older_adult_acute' | 'rehab'): number => stats.los[t]?.median ?? Number.NaN;
    expect(m('picu')).toBeLessThan(m('adult_acute'));
    expect(m('adult_acute')).toBeLessThan(m('older_adult_acute'));
    expect(m('older_adult_acute')).toBeLessThan(m('rehab'));
  });

  it('keeps occupancy in the 90s (NHS Benchmarking: adult acute 94%), with leave holding some beds', () => {
    const aa = stats.occupancy.adult_acute;
    const all = stats.occupancy.all;
    expect(aa && all).toBeDefined();
    if (!aa || !all) return;
    expect(aa.inclLeave).toBeGreaterThanOrEqual(0.9);
    expect(aa.inclLeave).toBeLessThanOrEqual(1);
    expect(all.inclLeave).toBeGreaterThanOrEqual(0.88);
    expect(aa.present).toBeLessThan(aa.inclLeave - 0.03);
    expect(aa.maxInclLeave).toBeLessThanOrEqual(1);
  });

  it('places patients out of area when no local bed is free, 30-200 km from home', () => {
    expect(stats.oap.admissions).toBeGreaterThan(0);
    expect(stats.oap.minDistanceKm).toBeGreaterThanOrEqual(30);
    expect(stats.oap.maxDistanceKm).toBeLessThanOrEqual(200);
    const oaps = events.filter((e) => isEvent(e, 'patient.admitted') && e.payload.outOfArea === true);
    for (const e of oaps) {
      if (!isEvent(e, 'patient.admitted')) continue;
      expect(e.payload.oapReason).toBe('no local bed');
      expect(defaultTrust.wards.some((w) => w.code === e.payload.ward)).toBe(false);
    }
  });

  it('CRFD by MHSDS v6 reason: housing (14-19, 32) is the largest group, around a fifth of delays', () => {
    const { byGroup, daysShareByGroup } = stats.crfd;
    const largest = (m: Record<string, number>): string => Object.entries(m).sort((a, b) => b[1] - a[1])[0]?.[0] ?? '';
    expect(stats.crfd.periods).toBeGreaterThan(200);
    expect(largest(byGroup)).toBe('housing');
    expect(largest(daysShareByGroup)).toBe('housing');
    const housing = daysShareByGroup.housing ?? 0;
    expect(housing).toBeGreaterThan(0.12);
    expect(housing).toBeLessThan(0.3);
    for (const code of Object.keys(stats.crfd.byReason)) expect(code).toMatch(/^(0[1-9]|[12]\d|3[0-7]|98)$/);
    expect(stats.crfd.occupiedShare).toBeGreaterThan(0.02);
  });

  it('72h follow-up: ~80% within 72h (NHS Standard Contract ambition), the rest late or missed', () => {
    const f = stats.followUp;
    expect(f.eligible).toBeGreaterThan(500);
    expect(f.rate).toBeGreaterThanOrEqual(0.75);
    expect(f.rate).toBeLessThanOrEqual(0.85);
    expect(f.late).toBeGreaterThan(0);
    expect(f.missed).toBeGreaterThan(0);
  });

  it('crisis response: most referrals seen within 1h / 4h / 24h, some breaches', () => {
    for (const key of ['liaison_emergency', 'very_urgent', 'urgent']) {
      const w = stats.referrals.withinTarget[key];
      expect(w).toBeDefined();
      expect(w?.share).toBeGreaterThan(0.8);
      expect(w?.share).toBeLessThan(0.97);
    }
    for (const t of ['crisis', 'liaison', 'community', 'home_treatment']) expect(stats.referrals.byTeamType[t]).toBeGreaterThan(0);
  });

  it('sets EDDs at the first review and re-sets some as they slip; takes s17 leave; steps PICU patients down', () => {
    expect(stats.edd.slippedShare).toBeGreaterThan(0.1);
    expect(stats.edd.dischargedAfterEddShare).toBeGreaterThan(0);
    expect(stats.eventsByType['leave.started']).toBeGreaterThan(0);
    expect(stats.eventsByType['patient.transferred']).toBeGreaterThan(0);
    expect(stats.eventsByType['patient.updated']).toBeGreaterThan(0);
    expect(stats.readmission30d.rate).toBeGreaterThan(0);
    // The first EDD comes from the first consultant review, within 72h of admission.
    const admittedAt = new Map<string, number>();
    const firstEddGap = new Map<string, number>();
    for (const e of events) {
      if (isEvent(e, 'patient.admitted')) admittedAt.set(e.payload.spellId, e.occurredAt);
      if (isEvent(e, 'edd.set') && !firstEddGap.has(e.payload.spellId)) {
        firstEddGap.set(e.payload.spellId, e.occurredAt - (admittedAt.get(e.payload.spellId) ?? Number.NaN));
      }
    }
    expect(firstEddGap.size).toBeGreaterThan(1000);
    expect([...firstEddGap.values()].filter((gap) => !(gap <= 72 * HOUR_MS + 60_000))).toEqual([]);
  });
});

describe('trust model: determinism and the live API', () => {
  // A short warm-up keeps these runs quick; they test mechanics, not distributions.
  const take = (seed: number, days: number): FlowEventInput[] => [...createSimulation({ seed, start: START, burnInDays: 60 }).history(days)];

  it('gives identical events for the same seed and different ones for another', () => {
    const a = take(7, 30);
    expect(take(7, 30)).toEqual(a);
    expect(take(8, 30)).not.toEqual(a);
  });

  it('serves one timeline: a shorter history is the tail of a longer one', () => {
    const cut = START - 30 * DAY_MS;
    const long = take(7, 120).filter((e) => e.occurredAt >= cut);
    const short = take(7, 30).filter((e) => e.occurredAt >= cut);
    expect(short).toEqual(long);
  });

  it('advance() continues history() from start, in order, and the whole stream stays a valid pathway', () => {
    const sim = createSimulation({ seed: 3, start: START, burnInDays: 60 });
    const history = [...sim.history(10)];
    const day1 = sim.advance(START + DAY_MS);
    const day2 = sim.advance(START + 2 * DAY_MS);
    expect(day1.length).toBeGreaterThan(0);
    for (const e of day1) expect(e.occurredAt >= START && e.occurredAt < START + DAY_MS).toBe(true);
    for (const e of day2) expect(e.occurredAt >= START + DAY_MS && e.occurredAt < START + 2 * DAY_MS).toBe(true);
    expect(sim.clock).toBe(START + 2 * DAY_MS);
    expect(checkPathways([...history, ...day1, ...day2])).toEqual([]);
    expect(sim.advance(START + DAY_MS)).toEqual([]);
    expect(() => sim.history(5)).toThrow();
  });

  it('advance() without history() opens with the census of who is in a bed at start', () => {
    const sim = createSimulation({ seed: 3, start: START });
    const first = sim.advance(START + HOUR_MS);
    const census = first.filter((e) => e.occurredAt < START);
    expect(census.filter((e) => e.type === 'patient.admitted').length).toBeGreaterThan(100);
    const c = sim.census();
    const occupied = c.wards.reduce((n, w) => n + w.occupied, 0);
    const beds = c.wards.reduce((n, w) => n + w.beds, 0);
    expect(occupied / beds).toBeGreaterThan(0.8);
    expect(checkPathways(first)).toEqual([]);
  });

  it('refuses a history longer than the run was set up for', () => {
    expect(() => createSimulation({ seed: 1, start: START }).history(121)).toThrow(RangeError);
  });
});

describe('trust model: faults', () => {
  const sim = createSimulation({ seed: 5, start: START, burnInDays: 60, faults: { duplicate: 0.02, late: 0.02, badNhs: 0.01, cancel: 0.05 } });
  const events = [...sim.history(60)];
  // Late messages still held at START are released by the next call.
  const deliveries = [...sim.deliveries(events, START), ...sim.deliveries([], START + DAY_MS)];

  it('cancels admissions, transfers and discharges, then re-does them, keeping a valid pathway', () => {
    for (const t of ['admission.cancelled', 'transfer.cancelled', 'discharge.cancelled'] as const) {
      expect(events.some((e) => e.type === t)).toBe(true);
    }
    expect(checkPathways(events)).toEqual([]);
    for (const e of events) expect(flowEventInputSchema.safeParse(e).success).toBe(true);
  });

  it('plans duplicates (same eventId again), late deliveries and bad NHS numbers', () => {
    const dup = deliveries.filter((d) => d.fault === 'duplicate');
    const late = deliveries.filter((d) => d.fault === 'late');
    const bad = deliveries.filter((d) => d.fault === 'bad_nhs');
    expect(dup.length).toBeGreaterThan(0);
    expect(late.length).toBeGreaterThan(0);
    expect(bad.length).toBeGreaterThan(0);
    for (const d of dup) expect(deliveries.filter((x) => x.event.eventId === d.event.eventId).length).toBe(2);
    for (const d of bad) {
      expect(flowEventInputSchema.safeParse(d.event).success).toBe(false);
      expect(d.original && flowEventInputSchema.safeParse(d.original).success).toBe(true);
      expect(d.original?.eventId).toBe(d.event.eventId);
    }
    const order = new Map(events.map((e, i) => [e.eventId, i]));
    const positions = deliveries.map((d) => order.get(d.event.eventId) ?? -1);
    // a late message arrives after at least one event that happened after it
    const overtaken = late.filter((d) => {
      const at = deliveries.indexOf(d);
      const mine = order.get(d.event.eventId) ?? -1;
      return positions.slice(0, at).some((p) => p > mine);
    });
    expect(overtaken.length).toBeGreaterThan(0);
  });

  it('delivers in deliverAt order and every event at least once', () => {
    const backwards = deliveries.filter((d, i) => i > 0 && d.deliverAt < (deliveries[i - 1] as { deliverAt: number }).deliverAt);
    expect(backwards).toEqual([]);
    const delivered = new Set(deliveries.map((d) => d.event.eventId));
    const missing = events.filter((e) => !delivered.has(e.eventId));
    expect(missing).toEqual([]);
  });

  it('is off by default', () => {
    const clean = createSimulation({ seed: 5, start: START, burnInDays: 60 });
    const ev = [...clean.history(30)];
    expect(ev.some((e) => e.type.endsWith('.cancelled'))).toBe(false);
    expect([...clean.deliveries(ev, START)].every((d) => d.fault === undefined && d.deliverAt === d.event.occurredAt)).toBe(true);
  });
});
