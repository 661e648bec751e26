// Funnel plot limits against hand-worked figures, flags at and beyond each limit, and input checks.
import { funnel, funnelCurve, funnelFlag, funnelLimits, FunnelInputError, Z95, Z998 } from './funnel';

describe('funnel plots', () => {
  it('proportion limits are p0 ± z·sqrt(p0(1-p0)/n), scaled', () => {
    const l = funnelLimits(0.2, 100, 'proportion', 100);
    const sd = Math.sqrt(0.2 * 0.8 / 100); // 0.04
    expect(l.upper95).toBeCloseTo((0.2 + Z95 * sd) * 100, 10);
    expect(l.lower95).toBeCloseTo((0.2 - Z95 * sd) * 100, 10);
    expect(l.upper998).toBeCloseTo((0.2 + Z998 * sd) * 100, 10);
    expect(l.upper95).toBeCloseTo(27.84, 2);
    expect(l.lower998).toBeCloseTo(7.64, 2);
  });

  it('proportion limits stay within 0..1 and rate limits never go below 0', () => {
    const small = funnelLimits(0.05, 4, 'proportion');
    expect(small.lower998).toBe(0);
    expect(funnelLimits(0.95, 4, 'proportion').upper998).toBe(1);
    const r = funnelLimits(0.001, 500, 'rate', 100_000);
    expect(r.lower998).toBe(0);
    expect(r.upper95).toBeCloseTo((0.001 + Z95 * Math.sqrt(0.001 / 500)) * 100_000, 8);
  });

  it('limits narrow as the denominator grows', () => {
    const curve = funnelCurve(0.3, 'proportion', 10, 1000, { steps: 5 });
    expect(curve).toHaveLength(5);
    expect(curve[0]!.denominator).toBeCloseTo(10, 8);
    expect(curve[4]!.denominator).toBeCloseTo(1000, 8);
    for (let i = 1; i < curve.length; i++) expect(curve[i]!.upper95 - curve[i]!.lower95).toBeLessThan(curve[i - 1]!.upper95 - curve[i - 1]!.lower95);
  });

  it('flags 99.8% before 95%, high and low; a point on a limit is within it', () => {
    const l = { lower95: 10, upper95: 20, lower998: 5, upper998: 25 };
    expect(funnelFlag(26, l)).toBe('high_998');
    expect(funnelFlag(4, l)).toBe('low_998');
    expect(funnelFlag(21, l)).toBe('high_95');
    expect(funnelFlag(9, l)).toBe('low_95');
    expect(funnelFlag(20, l)).toBe('within');
    expect(funnelFlag(25, l)).toBe('high_95');
    expect(funnelFlag(15, l)).toBe('within');
  });

  it('compares each segment with the overall value of all segments and names the one outside', () => {
    const r = funnel([
      { segment: 'A', numerator: 20, denominator: 100 },
      { segment: 'B', numerator: 22, denominator: 100 },
      { segment: 'C', numerator: 60, denominator: 100 },
      { segment: 'D', numerator: 18, denominator: 100 },
      { segment: 'E', numerator: 0, denominator: 0 },
    ], { kind: 'proportion', scale: 100 });
    expect(r.target).toBeCloseTo(30, 10);
    expect(r.points.map((p) => p.segment)).toEqual(['A', 'B', 'C', 'D']);
    expect(r.points.find((p) => p.segment === 'C')).toMatchObject({ value: 60, flag: 'high_998' });
    expect(r.points.find((p) => p.segment === 'D')!.flag).toBe('low_95');
    expect(r.points.find((p) => p.segment === 'B')!.flag).toBe('within');
  });

  it('rates per 100,000 against the overall rate', () => {
    const r = funnel([
      { segment: 'NORTH', numerator: 50, denominator: 50_000 },
      { segment: 'SOUTH', numerator: 150, denominator: 50_000 },
    ], { kind: 'rate', scale: 100_000 });
    expect(r.target).toBeCloseTo(200, 10);
    expect(r.points.map((p) => [p.segment, p.value, p.flag])).toEqual([['NORTH', 100, 'low_998'], ['SOUTH', 300, 'high_998']]);
  });

  it('no denominators: no overall value and no points', () => {
    expect(funnel([], { kind: 'rate' })).toEqual({ kind: 'rate', scale: 1, target: null, points: [] });
  });

  it('refuses negative counts, more events than cases, and a zero denominator for limits', () => {
    expect(() => funnel([{ segment: 'A', numerator: -1, denominator: 3 }], { kind: 'rate' })).toThrow(FunnelInputError);
    expect(() => funnel([{ segment: 'A', numerator: 4, denominator: 3 }], { kind: 'proportion' })).toThrow(/more events/);
    expect(() => funnelLimits(0.2, 0, 'proportion')).toThrow(/denominator/);
  });
});
