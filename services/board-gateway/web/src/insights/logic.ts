// Pure helpers of the Insights and equity views: chart scales and ticks shared across
// small multiples, Making Data Count icons and words, CSV of a series, small-number
// text, and the role a token carries (for choosing the shell; the server decides access).
import type { Assurance, Direction, EquitySegment, FunnelFlag, ImprovementNote, PointType, SeriesResponse, SeriesSegment } from './api';

/** Making Data Count palette (the same as @pfm/spc's SVG). */
export const MDC = {
  common_cause: '#7B7D7D', improvement: '#289DE0', concern: '#FAB428', neutral: '#361475',
  mean: '#000000', limits: '#7B7D7D', target: '#DE1B1B', value_line: '#7B7D7D', note: '#005EB8',
} as const;

export const POINT_COLOURS: Record<PointType, string> = {
  common_cause: MDC.common_cause, special_cause_improvement: MDC.improvement, special_cause_concern: MDC.concern,
  special_cause_neutral_high: MDC.neutral, special_cause_neutral_low: MDC.neutral,
};

export type VariationIcon = 'common_cause' | 'improvement_high' | 'improvement_low' | 'concern_high' | 'concern_low' | 'neutral_high' | 'neutral_low';

/** The variation icon of a series: its latest charted point's type, oriented by the improvement direction. */
export function variationIcon(last: PointType | null | undefined, direction: Direction): VariationIcon {
  switch (last) {
    case 'special_cause_improvement': return direction === 'decrease' ? 'improvement_low' : 'improvement_high';
    case 'special_cause_concern': return direction === 'decrease' ? 'concern_high' : 'concern_low';
    case 'special_cause_neutral_high': return 'neutral_high';
    case 'special_cause_neutral_low': return 'neutral_low';
    default: return 'common_cause';
  }
}

export const VARIATION_TEXT: Record<VariationIcon, string> = {
  common_cause: 'Common cause variation',
  improvement_high: 'Special cause improvement (higher)',
  improvement_low: 'Special cause improvement (lower)',
  concern_high: 'Special cause concern (higher)',
  concern_low: 'Special cause concern (lower)',
  neutral_high: 'Special cause variation, higher (neither better nor worse)',
  neutral_low: 'Special cause variation, lower (neither better nor worse)',
};
export const ASSURANCE_TEXT: Record<Assurance, string> = {
  consistent_pass: 'The target will consistently be met',
  consistent_fail: 'The target will consistently be missed',
  inconsistent: 'The target may or may not be met',
};
export const POINT_TEXT: Record<PointType, string> = {
  common_cause: 'common cause', special_cause_improvement: 'special cause: improvement', special_cause_concern: 'special cause: concern',
  special_cause_neutral_high: 'special cause: high', special_cause_neutral_low: 'special cause: low',
};
export const FLAG_TEXT: Record<FunnelFlag, string> = {
  within: 'within the limits', high_95: 'above the 95% limit', low_95: 'below the 95% limit', high_998: 'above the 99.8% limit', low_998: 'below the 99.8% limit',
};

export const variationColour = (v: VariationIcon): string =>
  v === 'common_cause' ? MDC.common_cause : v.startsWith('improvement') ? MDC.improvement : v.startsWith('concern') ? MDC.concern : MDC.neutral;
export const assuranceColour = (a: Assurance): string => (a === 'consistent_pass' ? MDC.improvement : a === 'consistent_fail' ? MDC.concern : MDC.common_cause);

/** The charted points of a segment: complete, with a value and SPC. */
export const charted = (s: SeriesSegment) => s.points.filter((p) => p.complete && p.value !== null && p.mean !== null && p.pointType !== null);
export const latestType = (s: SeriesSegment): PointType | null => charted(s).at(-1)?.pointType ?? null;

/** One y range for every panel (values, limits, target), padded, so small multiples compare by eye. */
export function sharedDomain(segments: readonly SeriesSegment[], target?: number | null): [number, number] {
  const ys: number[] = [];
  for (const s of segments) for (const p of s.points) for (const v of [p.value, p.mean, p.lpl, p.upl]) if (v !== null && Number.isFinite(v)) ys.push(v);
  if (target !== undefined && target !== null) ys.push(target);
  if (ys.length === 0) return [0, 1];
  let lo = Math.min(...ys);
  let hi = Math.max(...ys);
  if (hi === lo) { lo -= 1; hi += 1; }
  const pad = (hi - lo) * 0.06;
  return [lo >= 0 && lo - pad < 0 ? 0 : lo - pad, hi + pad];
}

/** Every period start of any segment, in order (the shared x axis). */
export function sharedDates(segments: readonly SeriesSegment[]): string[] {
  return [...new Set(segments.flatMap((s) => s.points.map((p) => p.periodStart)))].sort();
}

/** Round tick spacing (1, 2 or 5 x 10^k) giving about `count` ticks. */
export function ticks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((k) => k * mag).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) out.push(Math.abs(t) < step * 1e-9 ? 0 : Number(t.toPrecision(12)));
  return out;
}

export function formatNumber(v: number | null | undefined, digits = 1): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–';
  return Number.isInteger(v) ? v.toLocaleString('en-GB') : v.toLocaleString('en-GB', { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}
export const formatValue = (v: number | null | undefined, unit: string): string => (v === null || v === undefined ? '–' : unit === '%' ? `${formatNumber(v)}%` : formatNumber(v));

/** A count as shown to people: "<5" for 1 to 4 (threshold 5), the number otherwise. */
export function smallNumber(n: number | null, suppressed: boolean, below: number): string {
  if (suppressed || (n !== null && n > 0 && n < below)) return `<${below}`;
  return formatNumber(n, 0);
}

const csvCell = (c: string | number | null): string => {
  const s = c === null ? '' : String(c);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};
export const toCsv = (rows: (string | number | null)[][]): string => `${rows.map((r) => r.map(csvCell).join(',')).join('\n')}\n`;

/** The series behind a chart as CSV (one row per segment and period). */
export function seriesCsv(r: SeriesResponse): string {
  const rows: (string | number | null)[][] = [['measure', 'period', 'segment_by', 'segment', 'period_start', 'numerator', 'denominator', 'value', 'unit', 'complete', 'mean', 'lower_limit', 'upper_limit', 'point_type']];
  for (const s of r.segments) {
    for (const p of s.points) rows.push([r.measure.id, r.period, r.by, s.segment, p.periodStart, p.numerator, p.denominator, p.value, r.measure.unit, p.complete ? 'true' : 'false', p.mean, p.lpl, p.upl, p.pointType]);
  }
  return toCsv(rows);
}

/** The equity rows as shown (suppressed counts as "<5"). */
export function equityRowsText(segments: readonly EquitySegment[], below: number): string[][] {
  return segments.map((s) => [s.segment, smallNumber(s.numerator, s.suppressed, below), s.suppressed ? '' : formatNumber(s.denominator, 0), s.suppressed ? '' : formatNumber(s.value, 2), s.flag ? FLAG_TEXT[s.flag] : s.suppressed ? 'small number: not shown' : '']);
}

/** Notes to draw on a chart: those about the measure, dated within the chart's dates. */
export function notesOnChart(notes: readonly ImprovementNote[], measure: string, dates: readonly string[]): ImprovementNote[] {
  if (dates.length === 0) return [];
  const first = dates[0]!;
  return notes.filter((n) => n.measures.includes(measure) && n.effectiveDate >= first).sort((a, b) => a.effectiveDate.localeCompare(b.effectiveDate));
}

/** The role a token carries (read without checking: it only picks what the app shows; every door checks). */
export function tokenRole(token: string): string | null {
  const part = token.split('.')[1];
  if (!part) return null;
  try {
    const json = atob(part.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(part.length / 4) * 4, '='));
    const role = (JSON.parse(json) as { role?: unknown }).role;
    return typeof role === 'string' ? role : null;
  } catch {
    return null;
  }
}

/** A file name part from free text. */
export const fileSafe = (s: string): string => s.replace(/[^A-Za-z0-9_-]+/g, '-').replace(/^-|-$/g, '').slice(0, 60) || 'chart';

export const SEGMENT_NAMES: Record<string, string> = {
  site: 'Site', ward: 'Ward', ward_type: 'Ward type', local_area: 'Local area', age_band: 'Age band', sex: 'Sex', ethnic_group: 'Ethnic group',
  deprivation_quintile: 'Deprivation quintile', legal_status: 'Legal status', crfd_reason: 'Delay reason (CRFD)', crfd_reason_group: 'Delay reason group (CRFD)', team: 'Team',
};
export const segmentName = (s: string): string => SEGMENT_NAMES[s] ?? s;
