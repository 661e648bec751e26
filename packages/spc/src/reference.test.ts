// Differential check against the reference: NHSRplotthedots' ptd_spc() was run on 258
// series (seeded random shapes with random options, plus hand-made edge cases) and its
// results stored in reference/reference-cases.json (how: reference/README.md). Every
// mean, limit, point type and assurance here must equal R's, except the one documented
// choice, which a hand-made case pins down.
import fixture from '../reference/reference-cases.json';
import { spc, type Improvement, type PointType } from './spc';

interface Case {
  id: number;
  start: string;
  values: number[];
  screen: boolean;
  fixAfter: number | null;
  rebase: string[];
  improvement: Improvement;
  target: number | null;
  differs?: string;
  reference: { segments: { points: number; mean: number; lpl: number | null; upl: number | null }[]; types: string; assurance: string | null };
}

const CODE: Record<PointType, string> = {
  common_cause: 'c',
  special_cause_improvement: 'I',
  special_cause_concern: 'X',
  special_cause_neutral_high: 'h',
  special_cause_neutral_low: 'l',
};
const cases = (fixture as { cases: Case[] }).cases;
const weekly = (start: string, n: number) => Array.from({ length: n }, (_, i) => new Date(Date.parse(`${start}T00:00:00Z`) + i * 7 * 86_400_000).toISOString().slice(0, 10));
const run = (c: Case) => {
  const dates = weekly(c.start, c.values.length);
  return spc(c.values.map((value, i) => ({ date: dates[i]!, value })), { screenOutliers: c.screen, fixAfter: c.fixAfter, rebase: c.rebase, improvement: c.improvement, target: c.target });
};
// R computes in long double where it can; allow the last couple of bits.
const same = (a: number | null, b: number | null) => (a === null || b === null ? a === b : Math.abs(a - b) <= 1e-12 * Math.max(1, Math.abs(b)));

describe('the same results as NHSRplotthedots', () => {
  it('covers enough: many cases, every point type, all three assurances, rebases, fixed limits, screening off', () => {
    expect(cases.length).toBeGreaterThanOrEqual(250);
    const types = cases.map((c) => c.reference.types).join('');
    for (const code of Object.values(CODE)) expect(types).toContain(code);
    for (const a of ['consistent_pass', 'consistent_fail', 'inconsistent']) expect(cases.some((c) => c.reference.assurance === a)).toBe(true);
    expect(cases.filter((c) => c.rebase.length > 0).length).toBeGreaterThan(30);
    expect(cases.filter((c) => c.fixAfter !== null).length).toBeGreaterThan(30);
    expect(cases.filter((c) => !c.screen).length).toBeGreaterThan(30);
    expect(cases.some((c) => c.reference.segments.some((s) => s.upl === null))).toBe(true);
  });

  it.each(cases.filter((c) => !c.differs).map((c) => [c.id, c] as const))('case %i', (_id, c) => {
    const r = run(c);
    const segs: { points: number; mean: number; lpl: number | null; upl: number | null }[] = [];
    for (const p of r.points) {
      const last = segs[segs.length - 1];
      if (last && segs.length - 1 === p.segment) last.points++;
      else segs.push({ points: 1, mean: p.mean, lpl: p.lpl, upl: p.upl });
    }
    // Segments the reference reports: a rebase group starts only where a rebase date has a point.
    expect(segs.map((s) => s.points)).toEqual(c.reference.segments.map((s) => s.points));
    segs.forEach((s, i) => {
      const ref = c.reference.segments[i]!;
      expect([same(s.mean, ref.mean), same(s.lpl, ref.lpl), same(s.upl, ref.upl)]).toEqual([true, true, true]);
    });
    expect(r.points.map((p) => CODE[p.pointType]).join('')).toBe(c.reference.types);
    expect(r.assurance).toBe(c.reference.assurance);
  });

  it('the documented difference: two rising runs joined by a drop', () => {
    const c = cases.find((x) => x.differs)!;
    const mine = run(c).points.map((p) => CODE[p.pointType]).join('');
    // Values 0 20 0 20 | 1..7 | 0..6: R calls the 7 (index 10) a falling trend point, concern.
    expect(c.reference.types).toBe('cccc' + 'IIIIII' + 'X' + 'IIIIIII');
    expect(mine).toBe('cccc' + 'IIIIIII' + 'IIIIIII');
  });
});
