// The Making Data Count rules as NHSRplotthedots applies them, checked on series whose
// limits are worked out by hand in the comments. Several series pin the mean and the
// limits with `fixAfter` on a short base (e.g. 0, 20, 0, 20: mean 10, every moving range
// 20) so the points after it can be placed exactly where a rule needs them.
import fc from 'fast-check';
import { LIMIT, NEAR_LIMIT, assurance, mean, pointType, segmentLimits, spc, specialCauses, variationIcon, SpcInputError, type SpcInput } from './spc';

/** Consecutive daily dates from 2026-01-01. */
const days = (n: number, start = '2026-01-01'): string[] => {
  const t0 = Date.parse(`${start}T00:00:00Z`);
  return Array.from({ length: n }, (_, i) => new Date(t0 + i * 86_400_000).toISOString().slice(0, 10));
};
const series = (values: readonly number[], start?: string): SpcInput[] => {
  const d = days(values.length, start);
  return values.map((value, i) => ({ date: d[i]!, value }));
};
const types = (values: readonly number[], o: Parameters<typeof spc>[1] = {}) => spc(series(values), o).points.map((p) => p.pointType);
const rules = (values: readonly number[], o: Parameters<typeof spc>[1] = {}) => spc(series(values), o).points.map((p) => p.rule);

const C = 'common_cause';
const I = 'special_cause_improvement';
const X = 'special_cause_concern';

// The example of the reference's "deviations" vignette: 1, 2, 1, 2, 10, then 1, 2 ... (18 points).
// Sum 35, mean 35/18 = 1.944. Moving ranges: 1, 1, 1, 8, 9 and twelve 1s: 17 ranges, sum 32,
// average 32/17 = 1.882. Screening cut 3.267 x 1.882 = 6.149 drops 8 and 9: average 15/15 = 1.
// Screened: UPL 1.944 + 2.66 = 4.604, LPL -0.716 (the vignette prints 4.6 / 1.94 / -0.72).
// Unscreened: UPL 1.944 + 2.66 x 1.882 = 6.951, LPL -3.062 (the vignette: 6.95 / -3.06).
const VIGNETTE = [1, 2, 1, 2, 10, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1];

describe('XmR limits', () => {
  it('mean +/- 2.66 x average moving range, worked by hand', () => {
    // 4, 6, 5, 7, 3: mean 5; moving ranges 2, 1, 2, 4, average 2.25; cut 7.35 drops none.
    const l = segmentLimits([4, 6, 5, 7, 3]);
    expect(l.mean).toBe(5);
    expect(l.averageMovingRange).toBe(2.25);
    expect(l.upl).toBeCloseTo(10.985, 12);
    expect(l.lpl).toBeCloseTo(-0.985, 12);
    expect(l.nearUpl).toBeCloseTo(5 + (2 * 2.66 / 3) * 2.25, 12);
    expect(LIMIT).toBe(2.66);
    expect(NEAR_LIMIT).toBeCloseTo(1.7733333, 6);
  });

  it('screening on (the default) drops moving ranges >= 3.267 x average and recomputes once', () => {
    const r = spc(series(VIGNETTE));
    expect(r.points[0]!.mean).toBeCloseTo(35 / 18, 12);
    expect(r.points[0]!.upl).toBeCloseTo(35 / 18 + 2.66, 12);
    expect(r.points[0]!.lpl).toBeCloseTo(35 / 18 - 2.66, 12);
    expect(r.points[0]!.upl!.toFixed(2)).toBe('4.60');
    expect(r.points[0]!.lpl!.toFixed(2)).toBe('-0.72');
    expect(r.points.map((p) => p.pointType)).toEqual(VIGNETTE.map((v) => (v === 10 ? I : C)));
  });

  it('screening off keeps every moving range (the Excel tool)', () => {
    const r = spc(series(VIGNETTE), { screenOutliers: false });
    expect(r.points[0]!.upl).toBeCloseTo(35 / 18 + 2.66 * (32 / 17), 12);
    expect(r.points[0]!.upl!.toFixed(2)).toBe('6.95');
    expect(r.points[0]!.lpl!.toFixed(2)).toBe('-3.06');
  });

  it('a moving range exactly at the cut is dropped (>=), one just under is kept', () => {
    // 0, 3267, 3267, 3267, 2534: ranges 3267, 0, 0, 733, average 4000 / 4 = 1000 and the cut
    // 3.267 x 1000 = 3267 (exact in doubles): 3267 goes, the average becomes 733 / 3.
    expect(3.267 * 1000).toBe(3267);
    expect(segmentLimits([0, 3267, 3267, 3267, 2534]).averageMovingRange).toBeCloseTo(733 / 3, 9);
    const justUnder = segmentLimits([0, 3266, 3266, 3266, 2533]); // ranges 3266, 0, 0, 733: avg 999.75, cut 3266.18
    expect(justUnder.averageMovingRange).toBe(999.75);
    expect(segmentLimits([0, 1, 0, 1, 21]).averageMovingRange).toBe(1); // 20 >= 3.267 x 5.75
    expect(segmentLimits([0, 1, 0, 1, 11]).averageMovingRange).toBe(13 / 4); // 10 < 3.267 x 3.25
  });

  it('fixed after N points: mean and limits from the first N of the segment only', () => {
    // First 4: 0, 20, 0, 20: mean 10, ranges 20, 20, 20: UPL 10 + 53.2 = 63.2, LPL -43.2.
    const r = spc(series([0, 20, 0, 20, 100, 30, 30, 30]), { fixAfter: 4 });
    for (const p of r.points) {
      expect(p.mean).toBe(10);
      expect(p.upl).toBeCloseTo(63.2, 12);
      expect(p.lpl).toBeCloseTo(-43.2, 12);
    }
    expect(r.points[4]!.pointType).toBe(I); // 100 > 63.2
    // Unfixed, the later points move the limits.
    expect(spc(series([0, 20, 0, 20, 100, 30, 30, 30])).points[0]!.mean).toBe(230 / 8);
  });

  it('all moving ranges zero: no limits with screening on (as the reference), limits on the mean without', () => {
    // 3.267 x 0 = 0 and no range is < 0, so screening keeps none: the reference gets NaN limits.
    expect(segmentLimits([5, 5, 5, 5])).toMatchObject({ mean: 5, averageMovingRange: null, lpl: null, upl: null });
    expect(segmentLimits([5, 5, 5, 5], { screenOutliers: false })).toMatchObject({ mean: 5, averageMovingRange: 0, lpl: 5, upl: 5 });
    // Fixed on a flat start: without limits a later change is common cause; unscreened it is outside.
    expect(types([5, 5, 5, 9], { fixAfter: 3 })).toEqual([C, C, C, C]);
    expect(types([5, 5, 5, 9], { fixAfter: 3, screenOutliers: false })).toEqual([C, C, C, I]);
    // Screening can also leave only zero ranges: 1, 1, 1, 0, 0 has ranges 0, 0, 1, 0, average 0.25,
    // cut 0.8175 drops the 1 and the limits collapse onto the mean 0.6: every point is outside.
    expect(spc(series([1, 1, 1, 0, 0])).points.map((p) => [p.upl, p.rule])).toEqual(Array(5).fill([0.6, 'outside_limits']));
    // Without limits the shift rule still applies (it needs only the mean).
    expect(types([0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1], { fixAfter: 4 }).slice(4)).toEqual(Array(7).fill(I));
  });

  it('a one-point segment has no limits and is common cause', () => {
    const r = spc(series([7]));
    expect(r.points[0]).toMatchObject({ mean: 7, lpl: null, upl: null, pointType: C });
  });

  it('mean: two passes, exact on values the points may equal', () => {
    expect(mean([0.1, 0.2, 0.3])).toBe(0.2);
    expect(mean([0, 10, 0, 10])).toBe(5);
  });
});

describe('special cause: outside the limits', () => {
  it('strictly beyond a limit; a point on the limit is not outside', () => {
    // Base 0, 20, 0, 20: mean 10, UPL 63.2, LPL -43.2.
    expect(rules([0, 20, 0, 20, 63.2 + 1e-9], { fixAfter: 4 })[4]).toBe('outside_limits');
    const l = segmentLimits([0, 20, 0, 20]);
    expect(rules([0, 20, 0, 20, l.upl!], { fixAfter: 4 })[4]).not.toBe('outside_limits');
    expect(types([0, 20, 0, 20, -50], { fixAfter: 4 })[4]).toBe(X);
  });
});

describe('special cause: 7 on one side of the mean (shift)', () => {
  // Base 0, 10, 0, 10: mean exactly 5; limits 5 +/- 26.6, two-thirds 5 +/- 17.73.
  const base = [0, 10, 0, 10];

  it('7 in a row above the mean: all 7 (and any longer run) are special', () => {
    const t = types([...base, 6, 6, 6, 6, 6, 6, -1], { fixAfter: 4 });
    // 10 (4th) and the six 6s make 7 above.
    expect(t).toEqual([C, C, C, I, I, I, I, I, I, I, C]);
    expect(rules([...base, 6, 6, 6, 6, 6, 6, -1], { fixAfter: 4 })[5]).toBe('shift');
  });

  it('6 in a row is not enough', () => {
    expect(types([...base, 6, 6, 6, 6, 6, -1], { fixAfter: 4 })).toEqual(Array(10).fill(C));
  });

  it('a point exactly on the mean breaks the run and is itself common cause', () => {
    // 10, 6, 6, 6 above; 5 on the mean; then 6 x 6 above: neither side reaches 7.
    expect(types([...base, 6, 6, 6, 5, 6, 6, 6, 6, 6, 6], { fixAfter: 4 })).toEqual(Array(14).fill(C));
    // One more 6 after the mean point makes 7: only that run is special.
    expect(types([...base, 6, 6, 6, 5, 6, 6, 6, 6, 6, 6, 6], { fixAfter: 4 })).toEqual([...Array(8).fill(C), ...Array(7).fill(I)]);
  });

  it('below the mean with decrease as improvement is improvement', () => {
    expect(types([...base, 4, 4, 4, 4, 4, 4, 4], { fixAfter: 4, improvement: 'decrease' }).slice(4)).toEqual(Array(7).fill(I));
  });
});

describe('special cause: 7 rising or falling (trend)', () => {
  // Base 0, 20, 0, 20: mean 10, limits 10 +/- 53.2, two-thirds 10 +/- 35.47. Values 7..13
  // straddle the mean so no shift interferes.
  const base = [0, 20, 0, 20];

  it('7 points each higher than the last are all special; 6 are not', () => {
    expect(types([...base, 7, 8, 9, 10, 11, 12, 13], { fixAfter: 4 }).slice(4)).toEqual(Array(7).fill(I));
    expect(rules([...base, 7, 8, 9, 10, 11, 12, 13], { fixAfter: 4 }).slice(4)).toEqual(Array(7).fill('trend'));
    expect(types([...base, 7, 8, 9, 10, 11, 12], { fixAfter: 4 }).slice(4)).toEqual(Array(6).fill(C));
  });

  it('falling with increase as improvement is concern', () => {
    expect(types([...base, 13, 12, 11, 10, 9, 8, 7], { fixAfter: 4 }).slice(4)).toEqual(Array(7).fill(X));
  });

  it('a tie breaks the trend (equal neighbours are neither rising nor falling)', () => {
    // 7, 8, 9, 9, 10, 11, 12, 13, 14: the longest strictly rising stretch is 9..14, 6 points.
    expect(types([...base, 7, 8, 9, 9, 10, 11, 12, 13, 14], { fixAfter: 4 })).toEqual(Array(13).fill(C));
    // One more rising point makes 9..15 seven: those 7 are special, the points before the tie are not.
    expect(types([...base, 7, 8, 9, 9, 10, 11, 12, 13, 14, 15], { fixAfter: 4 }).slice(4)).toEqual([C, C, C, I, I, I, I, I, I, I]);
  });

  it('the turning point between a rising and a falling run takes the run after it', () => {
    // 4, 5, 6, 7, 8, 9, 10 rise; 10, 9, 8, 7, 6, 5, 4 fall; the 10 is in both.
    const t = types([...base, 4, 5, 6, 7, 8, 9, 10, 9, 8, 7, 6, 5, 4], { fixAfter: 4 }).slice(4);
    expect(t).toEqual([I, I, I, I, I, I, X, X, X, X, X, X, X]);
  });

  it('two rising runs joined by a drop: the end of the first stays rising (documented choice)', () => {
    // 1..7 then 0..6 (all below the mean 10, so the shift rule also holds; trend comes first).
    const t = types([...base, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3, 4, 5, 6], { fixAfter: 4 }).slice(4);
    expect(t).toEqual(Array(14).fill(I));
  });
});

describe('special cause: 2 of 3 beyond two thirds of the limit', () => {
  // Base -3, 3, -3, 3: mean 0, ranges 6: limits +/- 15.96, two-thirds +/- 10.64.
  const base = [-3, 3, -3, 3];
  const t = (vals: number[], o = {}) => types([...base, ...vals], { fixAfter: 4, ...o }).slice(4);

  it('two of three beyond +2/3 with the third on the same side: the two are special', () => {
    expect(t([-1, 12, 2, 12, -1])).toEqual([C, I, C, I, C]);
    expect(t([-1, 1, 12, 12, -1])).toEqual([C, C, I, I, C]);
    expect(rules([...base, -1, 1, 12, 12, -1], { fixAfter: 4 })[6]).toBe('two_in_three');
  });

  it('not when the third point is across the mean, or on it', () => {
    // Two adjacent near points with a point across the mean on each side: no window of 3 on one side.
    expect(t([-1, 12, 12, -1])).toEqual(Array(4).fill(C));
    expect(t([-1, 12, -1, 12, -1])).toEqual(Array(5).fill(C));
    expect(t([-1, 12, 0, 12, -1])).toEqual(Array(5).fill(C));
  });

  it('a point outside the limits does not count towards 2 of 3', () => {
    // 12, 20, 3: only 12 is between two thirds and the limit; 20 is outside (its own rule).
    expect(t([-1, 12, 20, -1])).toEqual([C, C, I, C]);
    // 12, 20, 12: two near points in the window, so both 12s are special as well.
    expect(t([-1, 12, 20, 12, -1])).toEqual([C, I, I, I, C]);
  });

  it('two of three below -2/3 with decrease as improvement', () => {
    expect(t([1, -12, -2, -12, 1], { improvement: 'decrease' })).toEqual([C, I, C, I, C]);
  });

  it('needs three points inside the segment (no window past either end)', () => {
    const l = segmentLimits(base);
    expect(specialCauses([12, 12], l).map((s) => s.rule)).toEqual([null, null]);
    expect(specialCauses([12, 12, 1], l).map((s) => s.rule)).toEqual(['two_in_three', 'two_in_three', null]);
  });
});

describe('rule order and point types', () => {
  it('outside beats trend beats 2 of 3 beats shift', () => {
    const l = segmentLimits([0, 20, 0, 20]);
    // Rising 7 that ends outside: the last is outside_limits, the rest trend.
    expect(specialCauses([11, 12, 13, 14, 15, 16, 70], l).map((s) => s.rule)).toEqual([...Array(6).fill('trend'), 'outside_limits']);
    // 2 of 3 inside a 7-long shift: the near points say two_in_three, the others shift.
    expect(specialCauses([11, 50, 50, 11, 12, 11, 12], l).map((s) => s.rule)).toEqual(['shift', 'two_in_three', 'two_in_three', 'shift', 'shift', 'shift', 'shift']);
  });

  it('neutral direction: high and low, never improvement or concern', () => {
    expect(types([0, 20, 0, 20, 100, -100], { fixAfter: 4, improvement: 'neutral' }).slice(4)).toEqual(['special_cause_neutral_high', 'special_cause_neutral_low']);
    expect(pointType(0, 'neutral')).toBe(C);
    expect(pointType(1, 'decrease')).toBe(X);
    expect(pointType(-1, 'decrease')).toBe(I);
  });

  it('variation icon follows the latest point and the improvement direction', () => {
    expect(variationIcon('special_cause_improvement', 'increase')).toBe('improvement_high');
    expect(variationIcon('special_cause_improvement', 'decrease')).toBe('improvement_low');
    expect(variationIcon('special_cause_concern', 'increase')).toBe('concern_low');
    expect(variationIcon('special_cause_concern', 'decrease')).toBe('concern_high');
    expect(variationIcon('special_cause_neutral_low', 'neutral')).toBe('neutral_low');
    expect(variationIcon(C, 'increase')).toBe('common_cause');
  });
});

describe('rebase', () => {
  // Twelve points around 10, then twelve around 20.
  const low = [9, 11, 10, 9, 11, 10, 9, 11, 10, 9, 11, 10];
  const high = low.map((v) => v + 10);
  const all = series([...low, ...high], '2026-01-01');

  it('without a rebase the step is one long shift each side of a middle mean', () => {
    const p = spc(all).points;
    expect(p[0]!.mean).toBe(15);
    expect(p.slice(0, 12).every((q) => q.pointType === X)).toBe(true);
    expect(p.slice(12).every((q) => q.pointType === I)).toBe(true);
  });

  it('a rebase on the step starts a new segment with its own mean and limits', () => {
    const p = spc(all, { rebase: ['2026-01-13'] }).points;
    expect(p[0]).toMatchObject({ mean: 10, segment: 0 });
    expect(p[12]).toMatchObject({ mean: 20, segment: 1 });
    // Ranges 2, 1, 1, 2, 1, 1, ... (11 ranges: 2,1,1 repeating, sum 15): average 15/11.
    expect(p[0]!.upl).toBeCloseTo(10 + 2.66 * (15 / 11), 12);
    expect(p.every((q) => q.pointType === C)).toBe(true);
  });

  it('a rebase date between points starts at the first point on or after it', () => {
    const sparse = all.filter((_, i) => i !== 12); // no point on 2026-01-13
    const p = spc(sparse, { rebase: ['2026-01-13'] }).points;
    expect(p[12]).toMatchObject({ date: '2026-01-14', segment: 1, mean: mean(high.slice(1)) });
    expect(p[11]!.segment).toBe(0);
  });

  it('rebases before the first or after the last point change nothing', () => {
    expect(spc(all, { rebase: ['2025-01-01', '2027-01-01'] })).toEqual(spc(all));
  });

  it('runs do not cross a rebase', () => {
    // 4 rising + rebase + 3 rising would be 7 rising without the rebase.
    const vals = [0, 20, 0, 20, 7, 8, 9, 10, 11, 12, 13];
    const noRebase = spc(series(vals), { fixAfter: 4 }).points.map((p) => p.rule);
    expect(noRebase.slice(4)).toEqual(Array(7).fill('trend'));
    const withRebase = spc(series(vals), { fixAfter: 4, rebase: [days(11)[8]!] }).points.map((p) => p.rule);
    expect(withRebase.slice(4)).toEqual(Array(7).fill(null));
  });

  it('fixAfter counts from the start of each segment', () => {
    const p = spc(all, { rebase: ['2026-01-13'], fixAfter: 3 }).points;
    expect(p[0]!.mean).toBe(10); // 9, 11, 10
    expect(p[12]!.mean).toBe(20); // 19, 21, 20
  });
});

describe('assurance against a target', () => {
  // Base 0, 20, 0, 20: LPL -43.2, UPL 63.2.
  const s = series([0, 20, 0, 20]);
  const a = (target: number | null, improvement: 'increase' | 'decrease' | 'neutral') => spc(s, { target, improvement }).assurance;

  it('increase: target below the LPL always met, above the UPL never, between either', () => {
    expect(a(-50, 'increase')).toBe('consistent_pass');
    expect(a(70, 'increase')).toBe('consistent_fail');
    expect(a(10, 'increase')).toBe('inconsistent');
  });

  it('decrease: the mirror image', () => {
    expect(a(70, 'decrease')).toBe('consistent_pass');
    expect(a(-50, 'decrease')).toBe('consistent_fail');
    expect(a(10, 'decrease')).toBe('inconsistent');
  });

  it('none without a target or when neither direction is better', () => {
    expect(a(null, 'increase')).toBeNull();
    expect(a(70, 'neutral')).toBeNull();
  });

  it('a target exactly on a limit is inconsistent (strict comparisons)', () => {
    const upl = segmentLimits([0, 20, 0, 20]).upl!;
    expect(a(upl, 'increase')).toBe('inconsistent');
  });

  it('uses the limits of the latest segment', () => {
    const r = spc(series([0, 20, 0, 20, 100, 120, 100, 120]), { rebase: [days(8)[4]!], target: 50 });
    expect(r.assurance).toBe('consistent_pass'); // latest segment: mean 110, LPL 56.8
    expect(assurance({ lpl: null, upl: null }, 5, 'increase')).toBe('inconsistent');
  });
});

describe('input', () => {
  it('sorts by date; the order of the input does not matter', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -50, max: 50 }), { minLength: 1, maxLength: 40 }), fc.integer(), (vals, seed) => {
        const ordered = series(vals);
        const shuffled = [...ordered].sort((x, y) => ((x.date.charCodeAt(9) * 31 + seed) % 7) - ((y.date.charCodeAt(9) * 31 + seed) % 7));
        expect(spc(shuffled, { improvement: 'decrease' })).toEqual(spc(ordered, { improvement: 'decrease' }));
      }),
    );
  });

  it('every point marked outside is beyond its limits; every other is within', () => {
    // Once found by chance (CI, 2026-12-03): two equal values, so no limits at all.
    const flat = spc(series([-999999.9999999987, -999999.9999999987])).points;
    expect(flat.map((p) => [p.lpl, p.upl, p.rule])).toEqual([[null, null, null], [null, null, null]]);
    fc.assert(
      fc.property(fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { minLength: 2, maxLength: 40 }), (vals) => {
        for (const p of spc(series(vals)).points) {
          // A series with no moving range left (constant, or every range screened out) has no
          // limits (null): nothing is beyond them. Compared as numbers, null read as 0.
          const beyond = p.upl !== null && p.lpl !== null && (p.value > p.upl || p.value < p.lpl);
          expect(p.rule === 'outside_limits').toBe(beyond);
        }
      }),
    );
  });

  it('refuses a repeated date, a bad date, a non-finite value and bad options', () => {
    expect(() => spc([{ date: '2026-01-01', value: 1 }, { date: '2026-01-01', value: 2 }])).toThrow(/2026-01-01 appears twice/);
    expect(() => spc([{ date: '2026-02-30', value: 1 }])).toThrow(SpcInputError);
    expect(() => spc([{ date: '2026-01-01', value: Number.NaN }])).toThrow(/not a finite number/);
    expect(() => spc(series([1, 2]), { fixAfter: 1 })).toThrow(/fixAfter/);
    expect(() => spc(series([1, 2]), { rebase: ['01/02/2026'] })).toThrow(/rebase/);
    expect(() => spc(series([1, 2]), { target: Number.POSITIVE_INFINITY })).toThrow(/target/);
  });
});
