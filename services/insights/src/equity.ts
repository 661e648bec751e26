// The equity view of one measure: every segment of one dimension side by side over the
// whole period asked for, against the overall (trust) value on a funnel plot with 95%
// and 99.8% limits (@pfm/spc funnel). Proportions for measures with a denominator of
// cases; rates per 100,000 for counts where the population file has the dimension.
// Small numbers are suppressed: a count from 1 to `suppressBelow - 1` is never sent,
// only that it is small ("<5"); the funnel and the trust value still count it.
import { funnel, funnelCurve, type FunnelFlag, type FunnelKind } from '@pfm/spc';
import { measureKind, QueryError, type PopulationRow, type Segment, type Series } from './measures';

/** Dimensions the population file has (rates per 100,000 need one of them). */
export const POPULATION_SEGMENTS = ['local_area', 'age_band', 'sex', 'ethnic_group', 'deprivation_quintile'] as const;
/** Dimensions the equity view compares. */
export const EQUITY_SEGMENTS: readonly Segment[] = ['local_area', 'deprivation_quintile', 'ethnic_group', 'age_band', 'sex', 'legal_status'];
export const DEFAULT_SUPPRESS_BELOW = 5;

export interface EquitySegment {
  segment: string;
  /** null when suppressed. */
  numerator: number | null;
  /** Cases (proportion) or population (rate); null when suppressed. */
  denominator: number | null;
  value: number | null;
  suppressed: boolean;
  lower95: number | null; upper95: number | null; lower998: number | null; upper998: number | null;
  flag: FunnelFlag | null;
}
export interface EquityOut {
  kind: FunnelKind;
  /** '%' or 'per 100,000'. */
  unit: string;
  suppressBelow: number;
  trust: { numerator: number; denominator: number; value: number | null };
  segments: EquitySegment[];
  /** Limit lines for drawing the funnel, from the smallest to the largest denominator shown. */
  curve: { denominator: number; lower95: number; upper95: number; lower998: number; upper998: number }[];
  /** Segments outside the 99.8% limits, then those outside only the 95% limits (suppressed ones never named). */
  outside: { segment: string; flag: FunnelFlag }[];
}

const small = (n: number, below: number) => n > 0 && n < below;

/** Sums a series over its periods into one figure per segment and compares the segments. */
export function equity(s: Series, population: readonly PopulationRow[], suppressBelow = DEFAULT_SUPPRESS_BELOW): EquityOut {
  const kind = measureKind(s.measure.id);
  if (!s.by) throw new QueryError('by', 'the equity view needs a dimension');
  if (kind === 'value') throw new QueryError('measure', `${s.measure.id} is a statistic of a distribution; the equity view compares counts and proportions`);
  const popBy = new Map<string, number>();
  const rate = kind === 'count' || kind === 'rate100k';
  if (rate) {
    if (!(POPULATION_SEGMENTS as readonly string[]).includes(s.by)) throw new QueryError('by', `no population denominator for ${s.by} (rates per 100,000 need one of ${POPULATION_SEGMENTS.join(', ')})`);
    for (const p of population) {
      const k = p[s.by as keyof PopulationRow];
      if (k === undefined || k === '') continue;
      popBy.set(String(k), (popBy.get(String(k)) ?? 0) + p.population);
    }
  }
  const sums = new Map<string, { numerator: number; denominator: number }>();
  for (const p of s.points) {
    if (p.segment === null) continue;
    const cur = sums.get(p.segment) ?? { numerator: 0, denominator: 0 };
    cur.numerator += p.numerator;
    if (!rate) cur.denominator += p.denominator ?? 0;
    sums.set(p.segment, cur);
  }
  const input = [...sums].map(([segment, v]) => ({ segment, numerator: v.numerator, denominator: rate ? popBy.get(segment) ?? 0 : v.denominator }))
    .sort((a, b) => a.segment.localeCompare(b.segment));
  const f = funnel(input, { kind: rate ? 'rate' : 'proportion', scale: rate ? 100_000 : 100 });
  const byName = new Map(f.points.map((p) => [p.segment, p]));
  const segments = input.map((i): EquitySegment => {
    const suppressed = small(i.numerator, suppressBelow) || (!rate && small(i.denominator, suppressBelow));
    const p = byName.get(i.segment);
    if (suppressed) return { segment: i.segment, numerator: null, denominator: null, value: null, suppressed, lower95: null, upper95: null, lower998: null, upper998: null, flag: null };
    return {
      segment: i.segment, numerator: i.numerator, denominator: i.denominator, value: p?.value ?? null, suppressed,
      lower95: p?.lower95 ?? null, upper95: p?.upper95 ?? null, lower998: p?.lower998 ?? null, upper998: p?.upper998 ?? null, flag: p?.flag ?? null,
    };
  });
  const shown = segments.filter((x) => !x.suppressed && x.denominator);
  const dens = shown.map((x) => x.denominator!);
  const trustNum = input.reduce((a, i) => a + i.numerator, 0);
  const trustDen = input.reduce((a, i) => a + i.denominator, 0);
  const order: FunnelFlag[] = ['high_998', 'low_998', 'high_95', 'low_95'];
  return {
    kind: f.kind, unit: rate ? 'per 100,000' : '%', suppressBelow,
    trust: { numerator: trustNum, denominator: trustDen, value: f.target },
    segments,
    curve: f.target === null || dens.length === 0 ? [] : funnelCurve(f.target / f.scale, f.kind, Math.min(...dens) * 0.8, Math.max(...dens) * 1.2, { scale: f.scale, steps: 48 }),
    outside: shown.filter((x) => x.flag && x.flag !== 'within').sort((a, b) => order.indexOf(a.flag!) - order.indexOf(b.flag!)).map((x) => ({ segment: x.segment, flag: x.flag! })),
  };
}

/**
 * The segments a CSV for a wider audience leaves out: the suppressed ones and, when there
 * are any, the smallest other segment too (secondary suppression), so the trust row less
 * the rows listed is never a small count (or a sum of small counts) on its own.
 */
export function leftOutOfCsv(e: EquityOut): Set<string> {
  const out = new Set(e.segments.filter((s) => s.suppressed).map((s) => s.segment));
  if (out.size === 0) return out;
  const next = e.segments.filter((s) => !s.suppressed).sort((a, b) => (a.numerator ?? 0) - (b.numerator ?? 0) || a.segment.localeCompare(b.segment))[0];
  if (next) out.add(next.segment);
  return out;
}

/** A count as published: to the nearest 5 (domain.md, "published aggregates"). */
export const roundToFive = (x: number): number => Math.round(x / 5) * 5;

/**
 * The equity table as CSV for a wider audience: suppressed segments are left out (with the
 * next smallest: leftOutOfCsv), and numerators and denominators are rounded to the nearest
 * 5, as published aggregates are; values and limits are those of the exact counts.
 */
export function equityCsv(e: EquityOut, measure: string, by: string): string {
  const rows = [['measure', 'dimension', 'segment', 'numerator', 'denominator', 'value', 'unit', 'lower_95', 'upper_95', 'lower_99_8', 'upper_99_8', 'flag']];
  const n = (x: number | null) => (x === null ? '' : String(Math.round(x * 1e6) / 1e6));
  const count = (x: number | null) => (x === null ? '' : String(roundToFive(x)));
  const leftOut = leftOutOfCsv(e);
  for (const s of e.segments) {
    if (leftOut.has(s.segment)) continue;
    rows.push([measure, by, s.segment, count(s.numerator), count(s.denominator), n(s.value), e.unit, n(s.lower95), n(s.upper95), n(s.lower998), n(s.upper998), s.flag ?? '']);
  }
  rows.push([measure, by, 'TRUST', count(e.trust.numerator), count(e.trust.denominator), n(e.trust.value), e.unit, '', '', '', '', '']);
  const cell = (c: string) => (/[",\n]/.test(c) ? `"${c.replace(/"/g, '""')}"` : c);
  return `${rows.map((r) => r.map(cell).join(',')).join('\n')}\n`;
}
