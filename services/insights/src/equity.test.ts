// The equity view's sums, rates, flags and small-number suppression, on hand-made series.
import { equity, equityCsv } from './equity';
import { withDeprivation, type Measure, type PopulationRow, type Series, type SeriesPoint } from './measures';
import { LocalAreas } from './pseudonym';

const measure = (id: string, by: Measure['by']): Measure => ({ id, name: id, definition: '', numerator: '', denominator: null, unit: '', direction: 'neutral', source: '', by });
const pt = (periodStart: string, segment: string | null, numerator: number, denominator: number | null): SeriesPoint => ({ periodStart, segment, numerator, denominator, value: null, complete: true });

describe('equity view', () => {
  it('sums proportions over the months, names the segment outside the limits, suppresses small counts', () => {
    const s: Series = {
      measure: measure('detained_admission_share', ['ethnic_group']), period: 'month', by: 'ethnic_group',
      points: [
        pt('2026-01-01', 'White', 20, 100), pt('2026-02-01', 'White', 20, 100),
        pt('2026-01-01', 'Asian', 10, 50), pt('2026-02-01', 'Asian', 10, 50),
        pt('2026-01-01', 'Black', 30, 40), pt('2026-02-01', 'Black', 30, 40),
        pt('2026-01-01', 'Mixed', 1, 3), pt('2026-02-01', 'Mixed', 2, 3),
        pt('2026-01-01', null, 4, 10),
      ],
    };
    const e = equity(s, [], 5);
    expect(e.kind).toBe('proportion');
    expect(e.unit).toBe('%');
    expect(e.trust).toEqual({ numerator: 123, denominator: 386, value: (123 / 386) * 100 });
    expect(e.segments.map((x) => x.segment)).toEqual(['Asian', 'Black', 'Mixed', 'White']);
    expect(e.segments.find((x) => x.segment === 'Black')).toMatchObject({ numerator: 60, denominator: 80, value: 75, flag: 'high_998', suppressed: false });
    expect(e.segments.find((x) => x.segment === 'Mixed')).toEqual(expect.objectContaining({ numerator: null, denominator: null, value: null, flag: null, suppressed: true }));
    expect(e.outside[0]).toEqual({ segment: 'Black', flag: 'high_998' });
    expect(e.outside.map((o) => o.segment)).not.toContain('Mixed');
    expect(e.curve.length).toBeGreaterThan(2);
    const csv = equityCsv(e, 'detained_admission_share', 'ethnic_group');
    expect(csv).not.toContain('Mixed');
    expect(csv.split('\n')[0]).toBe('measure,dimension,segment,numerator,denominator,value,unit,lower_95,upper_95,lower_99_8,upper_99_8,flag');
    expect(csv).toContain('detained_admission_share,ethnic_group,Black,60,80,75,%');
  });

  it('the CSV gives no small count away by difference from the trust row: the next smallest segment is left out with them', () => {
    const s: Series = {
      measure: measure('detained_admission_share', ['ethnic_group']), period: 'month', by: 'ethnic_group',
      points: [pt('2026-01-01', 'White', 40, 200), pt('2026-01-01', 'Asian', 20, 100), pt('2026-01-01', 'Black', 60, 80), pt('2026-01-01', 'Mixed', 3, 6)],
    };
    const rows = equityCsv(equity(s, [], 5), 'detained_admission_share', 'ethnic_group').trim().split('\n').slice(1).map((l) => l.split(','));
    const listed = rows.filter((r) => r[2] !== 'TRUST');
    const trust = rows.find((r) => r[2] === 'TRUST')!;
    // The trust row less the rows listed is what was left out: never one small segment alone
    // (Asian 20/100 with Mixed 3/6: 23/106, published to the nearest 5).
    expect(listed.map((r) => r[2])).toEqual(['Black', 'White']);
    expect(Number(trust[3]) - listed.reduce((a, r) => a + Number(r[3]), 0)).toBe(25);
    expect(Number(trust[4]) - listed.reduce((a, r) => a + Number(r[4]), 0)).toBe(105);
    // Two small ones (1 and 1) would be given away by their sum (2) too: the next smallest goes with them as well.
    const two: Series = { ...s, points: [...s.points.slice(0, 3), pt('2026-01-01', 'Mixed', 1, 6), pt('2026-01-01', 'Other', 1, 9)] };
    expect(equityCsv(equity(two, [], 5), 'detained_admission_share', 'ethnic_group').split('\n').map((l) => l.split(',')[2])).toEqual(['segment', 'Black', 'White', 'TRUST', undefined]);
    // Nothing suppressed: every segment is listed.
    expect(equityCsv(equity({ ...s, points: s.points.slice(0, 3) }, [], 5), 'detained_admission_share', 'ethnic_group')).toMatch(/,Asian,20,100,/);
  });

  it('the CSV gives counts to the nearest 5, as published aggregates are; values and limits stay those of the exact counts', () => {
    const s: Series = {
      measure: measure('detained_admission_share', ['ethnic_group']), period: 'month', by: 'ethnic_group',
      points: [pt('2026-01-01', 'White', 23, 101), pt('2026-01-01', 'Black', 37, 52)],
    };
    const e = equity(s, [], 5);
    const rows = equityCsv(e, 'detained_admission_share', 'ethnic_group').trim().split('\n').slice(1).map((l) => l.split(','));
    const white = rows.find((r) => r[2] === 'White')!;
    expect(white.slice(3, 5)).toEqual(['25', '100']);
    expect(Number(white[5])).toBeCloseTo((23 / 101) * 100, 5);
    expect(rows.find((r) => r[2] === 'Black')!.slice(3, 5)).toEqual(['35', '50']);
    expect(rows.find((r) => r[2] === 'TRUST')!.slice(3, 5)).toEqual(['60', '155']);
    // The JSON the trust's own analysts read keeps the exact counts.
    expect(e.segments.find((x) => x.segment === 'White')).toMatchObject({ numerator: 23, denominator: 101 });
  });

  it('counts become rates per 100,000 of the population file; the population is never suppressed', () => {
    const pop: PopulationRow[] = [
      { local_area: 'NORTH', age_band: '18-24', sex: 'F', ethnic_group: 'White', population: 30_000 },
      { local_area: 'NORTH', age_band: '25-34', sex: 'M', ethnic_group: 'White', population: 20_000 },
      { local_area: 'SOUTH', age_band: '18-24', sex: 'F', ethnic_group: 'White', population: 50_000 },
      { local_area: 'EAST', age_band: '18-24', sex: 'F', ethnic_group: 'White', population: 10_000 },
    ];
    const s: Series = { measure: measure('admissions', ['local_area']), period: 'month', by: 'local_area', points: [pt('2026-01-01', 'NORTH', 50, null), pt('2026-02-01', 'NORTH', 50, null), pt('2026-01-01', 'SOUTH', 40, null), pt('2026-01-01', 'EAST', 3, null)] };
    const e = equity(s, pop);
    expect(e).toMatchObject({ kind: 'rate', unit: 'per 100,000', suppressBelow: 5 });
    expect(e.segments.find((x) => x.segment === 'NORTH')).toMatchObject({ numerator: 100, denominator: 50_000, value: 200, flag: 'high_998' });
    expect(e.segments.find((x) => x.segment === 'SOUTH')).toMatchObject({ value: 80, flag: 'low_998' });
    expect(e.segments.find((x) => x.segment === 'EAST')).toMatchObject({ suppressed: true, value: null });
    expect(e.trust.value).toBeCloseTo((143 / 110_000) * 100_000, 10);
    // Long-stay bed days are counted the same way: per 100,000 by local area (the example).
    const ls = equity({ ...s, measure: measure('long_stay_bed_days', ['local_area']) }, pop);
    expect(ls).toMatchObject({ kind: 'rate', unit: 'per 100,000' });
    expect(ls.segments.find((x) => x.segment === 'NORTH')).toMatchObject({ numerator: 100, denominator: 50_000, value: 200 });
  });

  it('rates by deprivation quintile take each local area\'s quintile; areas without one count in no quintile', () => {
    const pop: PopulationRow[] = [
      { local_area: 'NORTH', age_band: '18-24', sex: 'F', ethnic_group: 'White', population: 30_000 },
      { local_area: 'NORTH', age_band: '25-34', sex: 'M', ethnic_group: 'White', population: 20_000 },
      { local_area: 'CITY', age_band: '18-24', sex: 'F', ethnic_group: 'Black', population: 40_000 },
      { local_area: 'EAST', age_band: '18-24', sex: 'F', ethnic_group: 'White', population: 10_000 },
    ];
    const areas = new LocalAreas([
      { areaCode: 'NORTH', name: 'North', locality: 'NORTH', deprivationQuintile: 2 },
      { areaCode: 'CITY', name: 'City', locality: 'CITY', deprivationQuintile: 1 },
      { areaCode: 'EAST', name: 'East', locality: 'EAST' },
    ], 'locality');
    const joined = withDeprivation(pop, areas);
    expect(joined.map((r) => r.deprivation_quintile)).toEqual(['2', '2', '1', undefined]);
    expect(pop[0]!.deprivation_quintile).toBeUndefined();
    const s: Series = { measure: measure('admissions', ['deprivation_quintile']), period: 'month', by: 'deprivation_quintile', points: [pt('2026-01-01', '1', 80, null), pt('2026-01-01', '2', 50, null)] };
    const e = equity(s, joined);
    expect(e.segments.find((x) => x.segment === '1')).toMatchObject({ numerator: 80, denominator: 40_000, value: 200 });
    expect(e.segments.find((x) => x.segment === '2')).toMatchObject({ numerator: 50, denominator: 50_000, value: 100 });
  });

  it('a locality whose areas differ in quintile has none', () => {
    const areas = new LocalAreas([
      { areaCode: 'AB1', name: 'A', locality: 'WEST', deprivationQuintile: 1 },
      { areaCode: 'AB2', name: 'B', locality: 'WEST', deprivationQuintile: 3 },
      { areaCode: 'AB3', name: 'C', locality: 'HILL', deprivationQuintile: 4 },
      { areaCode: 'AB4', name: 'D', locality: 'HILL', deprivationQuintile: 4 },
    ], 'locality');
    expect(areas.quintileOf('WEST')).toBeUndefined();
    expect(areas.quintileOf('HILL')).toBe(4);
    expect(new LocalAreas([{ areaCode: 'AB1', name: 'A', locality: 'WEST', deprivationQuintile: 1 }], 'area').quintileOf('AB1')).toBe(1);
  });

  it('refuses a statistic (median) and a rate by a dimension the population file lacks', () => {
    const med: Series = { measure: measure('los_median', ['sex']), period: 'month', by: 'sex', points: [] };
    expect(() => equity(med, [])).toThrow(/statistic/);
    const byLegal: Series = { measure: measure('admissions', ['legal_status']), period: 'month', by: 'legal_status', points: [] };
    expect(() => equity(byLegal, [])).toThrow(/no population denominator/);
  });
});
