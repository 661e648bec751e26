import type { WardSummary } from '@pfm/contracts';
import { dayStartIn, DEFAULT_THRESHOLDS, emptyPatient, evolve, facts, fold, oapMeasures, siteTotals, timers, type DomainContext, type PatientState } from './index';
import { days, ev, T0 } from './testing';
import type { FlowEvent } from '@pfm/contracts';

// A registry with two local wards and two units outside the trust (marked external).
const REGISTRY: Record<string, { external: boolean }> = { W1: { external: false }, W2: { external: false }, 'OAP-A': { external: true }, 'OAP-B': { external: true } };
const ctx: DomainContext = { thresholds: DEFAULT_THRESHOLDS, wardType: () => 'adult_acute', external: (w) => REGISTRY[w]?.external };

function applyAll(events: FlowEvent[], s: PatientState = emptyPatient('RXT', 'P1')) {
  for (const e of events) s = evolve(s, e).state;
  return fold(s.events).view;
}
const oapCount = (view: ReturnType<typeof applyAll>) => facts('P1', view, ctx).filter((f) => f.kind === 'count' && f.name === 'outOfArea');

const summary = (ward: string, over: Partial<WardSummary>): WardSummary => ({
  site: 'RXT', ward, name: ward, wardType: 'adult_acute', beds: 0, occupied: 0, onLeave: 0, present: 0, free: 0, closed: 0,
  crfd: 0, crfdReasons: {}, stranded: 0, superStranded: 0, longStay: 0, eddPassed: 0, outOfArea: 0, occupancyPct: 0, occupancyInclLeavePct: 0, seq: 1, ...over,
});

describe('out-of-area placements come from the unit the patient is in (ward registry)', () => {
  it('given a placement in an external unit, when moved to another external unit (A02 carries no flag), the placement continues', () => {
    const view = applyAll([
      ev('patient.admitted', { spellId: 'S1', ward: 'OAP-A', outOfArea: true, oapReason: 'no local bed', distanceFromHomeKm: 80 }, T0),
      ev('patient.transferred', { spellId: 'S1', ward: 'OAP-B' }, T0 + days(3)),
    ]);
    expect(oapCount(view)).toEqual([{ kind: 'count', scope: 'ward:OAP-B', name: 'outOfArea', value: 1 }]);
  });

  it('given a placement in an external unit, when moved home to a local ward, the placement ends even if the sender still flags it', () => {
    const view = applyAll([
      ev('patient.admitted', { spellId: 'S1', ward: 'OAP-A', outOfArea: true }, T0),
      ev('patient.transferred', { spellId: 'S1', ward: 'W1', outOfArea: true }, T0 + days(3)),
    ]);
    expect(oapCount(view)).toEqual([]);
  });

  it('given an admission to an external unit with no flag from the sender, it is out of area by the registry', () => {
    const view = applyAll([ev('patient.admitted', { spellId: 'S1', ward: 'OAP-A' }, T0)]);
    expect(oapCount(view)).toHaveLength(1);
  });
});

describe('site totals count local beds only', () => {
  const wards = [
    summary('W1', { beds: 20, occupied: 16, onLeave: 2, free: 3, closed: 1 }),
    summary('W2', { beds: 18, occupied: 15, onLeave: 0, free: 3, closed: 0 }),
    // External units hold no local beds; their patients are out-of-area placements.
    summary('OAP-A', { external: true, occupied: 6, outOfArea: 6 }),
    summary('OAP-B', { external: true, occupied: 4, outOfArea: 4 }),
  ];

  it('given local wards and external units, when totalled, beds = occupied + free + closed and occupancy ignores out-of-area patients', () => {
    const t = siteTotals(wards);
    expect(t).toMatchObject({ beds: 38, occupied: 31, free: 6, closed: 1, overCapacity: 0, outOfArea: 10 });
    expect(t.beds).toBe(t.occupied + t.free + t.closed - t.overCapacity);
    expect(t.occupancyInclLeavePct).toBeCloseTo((31 / 37) * 100, 1);
    expect(t.occupancyPct).toBeCloseTo((29 / 37) * 100, 1);
  });

  it('given a ward over its available beds, the excess is reported, not hidden in "free"', () => {
    const t = siteTotals([summary('W1', { beds: 10, occupied: 12, free: 0, closed: 0 })]);
    expect(t).toMatchObject({ beds: 10, occupied: 12, free: 0, overCapacity: 2 });
    expect(t.beds).toBe(t.occupied + t.free + t.closed - t.overCapacity);
  });

  it('out-of-area measures: placements, bed-days in out-of-area units and distance from home', () => {
    const now = T0 + days(10);
    const m = oapMeasures([{ oapSince: T0, distanceFromHomeKm: 80 }, { oapSince: T0 + days(6), distanceFromHomeKm: 40 }, { oapSince: T0 + days(9) }], now);
    expect(m).toEqual({ placements: 3, bedDays: 15, meanDistanceKm: 60, maxDistanceKm: 80 });
  });
});

describe('local calendar day (expected discharges today / tomorrow)', () => {
  it('starts at local midnight in Europe/London, in summer (BST) and winter (GMT)', () => {
    expect(new Date(dayStartIn(Date.parse('2026-07-02T10:30:00Z'))).toISOString()).toBe('2026-07-01T23:00:00.000Z');
    expect(new Date(dayStartIn(Date.parse('2026-12-02T00:30:00Z'))).toISOString()).toBe('2026-12-02T00:00:00.000Z');
  });
});

describe('section 136 place of safety suites', () => {
  it('given a s136 suite in the registry (ward type place_of_safety), its occupancy is shown apart and never counted as inpatient beds', () => {
    const t = siteTotals([
      summary('W1', { beds: 20, occupied: 18, free: 2 }),
      summary('S136', { wardType: 'place_of_safety', beds: 2, occupied: 2, free: 0 }),
    ]);
    expect(t).toMatchObject({ beds: 20, occupied: 18, free: 2, placeOfSafety: { spaces: 2, occupied: 2 } });
  });

  it('given a patient in a s136 suite, no length-of-stay rule runs there but the 24 h s136 clock does', () => {
    const ctx136: DomainContext = { thresholds: DEFAULT_THRESHOLDS, wardType: () => 'place_of_safety' };
    const view = applyAll([ev('patient.admitted', { spellId: 'S1', ward: 'S136', legalStatus: '20' }, T0)]);
    expect(timers('RXT', 'P1', view, ctx136).map((x) => x.rule)).toEqual(['mha_expiry']);
  });
});
