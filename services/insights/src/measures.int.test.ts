/** @pfm-stack none */
// Measures over a small warehouse whose figures are known by hand, and every measure of
// the catalogue by every segment it offers runs against DuckDB.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FlowEvent } from '@pfm/contracts';
import { DEFAULT_THRESHOLDS, emptyPatient, evolve } from '@pfm/flow-domain';
import { IMPLEMENTED, loadCatalogue, loadPopulation, measureSeries, parsePopulation, QueryError, spcInput, type Catalogue } from './measures';
import { LocalAreas, Pseudonymiser } from './pseudonym';
import { patientRows, type RowContext } from './rows';
import { Warehouse } from './warehouse';

const root = join(__dirname, '..', '..', '..');
const H = 3_600_000;
const D = 24 * H;
const T0 = Date.parse('2026-03-02T10:00:00Z'); // a Monday
const ctx: RowContext = {
  thresholds: DEFAULT_THRESHOLDS, wardType: (_s, w) => (w === 'OAK' ? 'adult_acute' : 'older_adult_acute'), pseudo: new Pseudonymiser('m'.repeat(40)),
  areas: new LocalAreas([{ areaCode: 'NORTH', name: 'North', locality: 'NORTH', deprivationQuintile: 2 }, { areaCode: 'CITY', name: 'City', locality: 'CITY', deprivationQuintile: 1 }], 'locality'),
};
let n = 0;
const ev = (patientId: string, type: FlowEvent['type'], payload: object, at: number): FlowEvent =>
  ({ eventId: `m${++n}`, type, payload, occurredAt: at, recordedAt: at, site: 'RXT', patientId, sourceSystem: 'T', channel: 'json' }) as FlowEvent;
const rec = (patientId: string, events: FlowEvent[]) => {
  const state = events.reduce((s, e) => evolve(s, e).state, emptyPatient('RXT', patientId));
  return { recordKey: ctx.pseudo.recordKey('RXT', patientId), state, rows: patientRows(state, ctx) };
};

describe('measures', () => {
  let w: Warehouse;
  let catalogue: Catalogue;
  beforeAll(async () => {
    catalogue = loadCatalogue(join(root, 'config', 'measures.json'));
    w = await Warehouse.open(':memory:', { thresholds: DEFAULT_THRESHOLDS, wards: [{ site: 'RXT', code: 'OAK', name: 'Oak', type: 'adult_acute', beds: 2 }, { site: 'RXT', code: 'ASH', name: 'Ash', type: 'older_adult_acute', beds: 2 }] });
    await w.commit({
      records: [
        // Week 1 (2 Mar): A admitted to OAK detained, LOS 10, followed up in 24 h.
        rec('A', [ev('A', 'patient.admitted', { spellId: 'A1', ward: 'OAK', legalStatus: '03', area: 'NORTH', ageBand: '25-34', gender: 'F', ethnicity: 'A' }, T0),
          ev('A', 'crfd.started', { spellId: 'A1', reasonCode: '14' }, T0 + 8 * D),
          ev('A', 'patient.discharged', { spellId: 'A1' }, T0 + 10 * D), ev('A', 'followup.made', { spellId: 'A1' }, T0 + 11 * D)]),
        // Week 1: B admitted to ASH informal, LOS 4, not followed up; readmitted in week 3.
        rec('B', [ev('B', 'patient.admitted', { spellId: 'B1', ward: 'ASH', legalStatus: '01', area: 'CITY', ageBand: '75-84', gender: 'M', ethnicity: 'M' }, T0 + D),
          ev('B', 'patient.discharged', { spellId: 'B1' }, T0 + 5 * D),
          ev('B', 'patient.admitted', { spellId: 'B2', ward: 'ASH', legalStatus: '01' }, T0 + 15 * D)]),
        // Crisis referrals: one very urgent answered in 3 h, one in 6 h.
        rec('C', [ev('C', 'referral.received', { referralId: 'R1', team: 'CR', teamType: 'crisis', urgency: 'very_urgent', area: 'NORTH' }, T0),
          ev('C', 'referral.assessed', { referralId: 'R1' }, T0 + 3 * H),
          ev('C', 'referral.received', { referralId: 'R2', team: 'CR', teamType: 'crisis', urgency: 'very_urgent', area: 'NORTH' }, T0 + D),
          ev('C', 'referral.assessed', { referralId: 'R2' }, T0 + D + 6 * H)]),
      ],
      alerts: [], offsets: [], watermark: T0 + 28 * D,
    });
  });
  afterAll(() => w.close());

  const series = (q: Parameters<typeof measureSeries>[2]) => measureSeries(w, catalogue, q, parsePopulation(readFileSync(join(root, 'config', 'population.csv'), 'utf8')));

  it('every catalogue measure is implemented, and each runs by every segment it offers, weekly and monthly', async () => {
    expect(catalogue.measures.map((m) => m.id).sort()).toEqual([...IMPLEMENTED].sort());
    for (const m of catalogue.measures) {
      for (const period of ['week', 'month'] as const) {
        if (!m.id.endsWith('_per_100k')) await series({ measure: m.id, period });
        for (const by of m.by) await series({ measure: m.id, period, by });
      }
    }
  });

  it('admissions by week and by legal status; detained share', async () => {
    const a = await series({ measure: 'admissions', period: 'week' });
    expect(a.points.map((p) => [p.periodStart, p.value])).toEqual([['2026-03-02', 2], ['2026-03-16', 1]]);
    const byLegal = await series({ measure: 'admissions', period: 'month', by: 'legal_status' });
    expect(byLegal.points.map((p) => [p.segment, p.value])).toEqual([['detained', 1], ['informal', 2]]);
    const d = await series({ measure: 'detained_admission_share', period: 'month' });
    expect(d.points.map((p) => [p.numerator, p.denominator])).toEqual([[1, 3]]);
    expect(d.points[0]!.value).toBeCloseTo(100 / 3, 10);
  });

  it('LOS median and p90 of discharges, readmission and follow-up rates', async () => {
    const med = await series({ measure: 'los_median', period: 'month' });
    expect(med.points.map((p) => [p.value, p.denominator])).toEqual([[7, 2]]);
    const p90 = await series({ measure: 'los_p90', period: 'month' });
    expect(p90.points[0]!.value).toBeCloseTo(4 + 0.9 * 6, 10);
    const re = await series({ measure: 'readmission_30d', period: 'month', by: 'ward' });
    expect(re.points.map((p) => [p.segment, p.numerator, p.denominator])).toEqual([['ASH', 1, 1], ['OAK', 0, 1]]);
    const fu = await series({ measure: 'followup_72h', period: 'month' });
    expect(fu.points.map((p) => [p.numerator, p.denominator, p.value])).toEqual([[1, 2, 50]]);
  });

  it('bed days, CRFD days by reason and reason group, occupancy against beds; rates per 100,000 by local area', async () => {
    const bd = await series({ measure: 'occupied_bed_days', period: 'month', by: 'ward' });
    // A: midnights 3..12 Mar = 10; B1: 4..7 Mar = 4; B2 from 17 Mar to the last complete day 29 Mar = 13.
    expect(bd.points.map((p) => [p.segment, p.value])).toEqual([['ASH', 17], ['OAK', 10]]);
    const crfd = await series({ measure: 'crfd_bed_days', period: 'month', by: 'crfd_reason' });
    expect(crfd.points.map((p) => [p.segment, p.value])).toEqual([['14', 2]]);
    // By the reason groups of NHS England's acute inpatient dashboard: 14 is housing.
    const groups = await series({ measure: 'crfd_bed_days', period: 'month', by: 'crfd_reason_group' });
    expect(groups.points.map((p) => [p.segment, p.value])).toEqual([['Housing', 2]]);
    // Census days 2..29 Mar (the last complete day before the 30 Mar watermark): 28 days x 2 beds.
    const occ = await series({ measure: 'occupancy_incl_leave', period: 'month', by: 'ward' });
    expect(occ.points.map((p) => [p.segment, p.numerator, p.denominator])).toEqual([['ASH', 17, 2 * 28], ['OAK', 10, 2 * 28]]);
    const rate = await series({ measure: 'admissions_per_100k', period: 'month', by: 'local_area' });
    const north = rate.points.find((p) => p.segment === 'NORTH')!;
    expect(north.numerator).toBe(1);
    expect(north.value).toBeCloseTo(100_000 / north.denominator!, 10);
    expect(north.denominator).toBeGreaterThan(100_000);
  });

  it('rates per 100,000 by deprivation quintile, with the quintile of each local area', async () => {
    const pop = loadPopulation(join(root, 'config', 'population.csv'), LocalAreas.fromFile(join(root, 'config', 'local-areas.csv'), 'locality'));
    const rate = await measureSeries(w, catalogue, { measure: 'admissions_per_100k', period: 'month', by: 'deprivation_quintile' }, pop);
    const northQ = String(LocalAreas.fromFile(join(root, 'config', 'local-areas.csv'), 'locality').quintileOf('NORTH'));
    const q = rate.points.find((p) => p.segment === northQ)!;
    const northPop = pop.filter((p) => p.deprivation_quintile === northQ).reduce((a, p) => a + p.population, 0);
    expect(q.numerator).toBe(1);
    expect(q.denominator).toBe(northPop);
    expect(q.value).toBeCloseTo(100_000 / northPop, 10);
  });

  it('crisis response within 4 h; complete periods only reach SPC', async () => {
    const r = await series({ measure: 'crisis_response_4h', period: 'week' });
    expect(r.points.map((p) => [p.numerator, p.denominator, p.value])).toEqual([[1, 2, 50]]);
    const a = await series({ measure: 'admissions', period: 'week' });
    expect(spcInput(a)).toEqual([{ group: null, points: [{ date: '2026-03-02', value: 2 }, { date: '2026-03-16', value: 1 }] }]);
    const m = await series({ measure: 'admissions', period: 'month' });
    expect(m.points[0]!.complete).toBe(false);
  });

  it('bad input names the field', async () => {
    await expect(series({ measure: 'nope', period: 'week' })).rejects.toThrow(QueryError);
    await expect(series({ measure: 'admissions', period: 'week', by: 'team' })).rejects.toThrow(/^by: /);
    await expect(series({ measure: 'admissions', period: 'day' as 'week' })).rejects.toThrow(/^period: /);
  });
});
