// Statistical process control as NHS England's "Making Data Count" defines it: XmR
// limits and the four special-cause rules, with the semantics of the NHS-R community's
// NHSRplotthedots (ptd_spc). Pure: no I/O, no clock. The README lists each rule with
// the reference function it follows and the few places where this code chooses
// differently (and why).

/** Process limits sit this many average moving ranges from the mean. */
export const LIMIT = 2.66;
/** "Near the limit": two thirds of the way from the mean to a process limit. Same expression as the reference, so the same double. */
export const NEAR_LIMIT = 2 * (LIMIT / 3);
/** Moving ranges at or above this multiple of the average moving range are screened out (Nelson 1982). */
export const MR_SCREEN = 3.267;
/** Points in a shift (one side of the mean) or a trend (rising / falling). */
export const RUN = 7;
/**
 * The reference refuses limits fixed on fewer than 12 points; the command and the API
 * follow it. `spc()` itself accepts 2 or more (the arithmetic needs one moving range),
 * which keeps the rule tests short.
 */
export const MIN_FIX_AFTER = 12;

export type Improvement = 'increase' | 'decrease' | 'neutral';
export const IMPROVEMENTS: readonly Improvement[] = ['increase', 'decrease', 'neutral'];

export type PointType =
  | 'common_cause'
  | 'special_cause_improvement'
  | 'special_cause_concern'
  | 'special_cause_neutral_high'
  | 'special_cause_neutral_low';

export type Assurance = 'consistent_pass' | 'consistent_fail' | 'inconsistent';

/** Which rule made a point special (the first that applies, in this order), or null for common cause. */
export type SpecialCauseRule = 'outside_limits' | 'trend' | 'two_in_three' | 'shift';

export interface SpcInput {
  /** Calendar date, YYYY-MM-DD. */
  date: string;
  value: number;
}

export interface SpcOptions {
  /** Which direction is better; default 'increase' (as the reference). */
  improvement?: Improvement;
  /** Target for the assurance icon; none when null/undefined. */
  target?: number | null;
  /** Compute each segment's mean and limits from its first N points only (N >= 2). */
  fixAfter?: number | null;
  /** Each date starts a new segment at the first point on or after it. */
  rebase?: readonly string[];
  /** Drop moving ranges >= 3.267 x their average before computing limits; default true. */
  screenOutliers?: boolean;
}

export interface SegmentLimits {
  mean: number;
  /** Average moving range after screening; null when none is left (a single point, or every range 0 with screening on). */
  averageMovingRange: number | null;
  lpl: number | null;
  upl: number | null;
  /** Two-thirds limits (the "2 of 3" rule). */
  nearLpl: number | null;
  nearUpl: number | null;
}

export interface SpcPoint {
  date: string;
  value: number;
  mean: number;
  lpl: number | null;
  upl: number | null;
  pointType: PointType;
  /** The rule that made the point special, null for common cause. */
  rule: SpecialCauseRule | null;
  /** 0 for the first segment, +1 at each rebase. */
  segment: number;
}

export interface SpcResult {
  points: SpcPoint[];
  assurance: Assurance | null;
}

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** True for a real calendar date written YYYY-MM-DD (2026-02-30 is not). */
export function isIsoDate(s: string): boolean {
  const m = ISO_DATE.exec(s);
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const t = new Date(Date.UTC(y, mo - 1, d));
  return t.getUTCFullYear() === y && t.getUTCMonth() === mo - 1 && t.getUTCDate() === d;
}

/**
 * Arithmetic mean in two passes (sum / n, then the mean residual added back), the way
 * R's mean() refines its result, so that a value equal to the mean compares equal here
 * too (a point on the mean neither extends nor starts a shift).
 */
export function mean(xs: readonly number[]): number {
  const n = xs.length;
  if (n === 0) return Number.NaN;
  let s = 0;
  for (const x of xs) s += x;
  let m = s / n;
  if (Number.isFinite(m)) {
    let r = 0;
    for (const x of xs) r += x - m;
    m += r / n;
  }
  return m;
}

/**
 * XmR limits of one segment (ptd_spc_standard): mean and average moving range of the
 * first `fixAfter` points (all points when unset); moving ranges >= 3.267 x their average
 * are dropped and the average recomputed once when screening is on.
 */
export function segmentLimits(values: readonly number[], opts: { fixAfter?: number | null; screenOutliers?: boolean } = {}): SegmentLimits {
  if (values.length === 0) throw new RangeError('a segment needs at least one point');
  const basis = opts.fixAfter != null ? values.slice(0, opts.fixAfter) : values;
  const m = mean(basis);
  let ranges: number[] = [];
  for (let i = 1; i < basis.length; i++) ranges.push(Math.abs(basis[i]! - basis[i - 1]!));
  if (ranges.length === 0) return { mean: m, averageMovingRange: null, lpl: null, upl: null, nearLpl: null, nearUpl: null };
  let amr = mean(ranges);
  if (opts.screenOutliers !== false) {
    const cut = MR_SCREEN * amr;
    ranges = ranges.filter((r) => r < cut);
    // All ranges 0: "< 3.267 x 0" keeps none and the reference is left without limits
    // (NaN); so is this segment (null), with the same consequences for the rules.
    if (ranges.length === 0) return { mean: m, averageMovingRange: null, lpl: null, upl: null, nearLpl: null, nearUpl: null };
    amr = mean(ranges);
  }
  return {
    mean: m,
    averageMovingRange: amr,
    lpl: m - LIMIT * amr,
    upl: m + LIMIT * amr,
    nearLpl: m - NEAR_LIMIT * amr,
    nearUpl: m + NEAR_LIMIT * amr,
  };
}

type Sign = -1 | 0 | 1;
const sign = (x: number): Sign => (x > 0 ? 1 : x < 0 ? -1 : 0);

/**
 * `ends[j]` is the direction (+1/-1) of a run of RUN points ending at j, or 0. Returns, for
 * each point, the directions of every such run that contains it (runs ending at i..i+RUN-1).
 */
function runsContaining(ends: readonly Sign[]): Sign[][] {
  return ends.map((_, i) => ends.slice(i, i + RUN).filter((d) => d !== 0));
}

export interface SpecialCause {
  rule: SpecialCauseRule | null;
  /** +1 high (above the mean / rising), -1 low (below / falling), 0 common cause. */
  direction: Sign;
}

/**
 * The special-cause rules of one segment (ptd_special_cause_type), first match wins:
 * 1. outside the process limits (strictly beyond);
 * 2. part of RUN points each strictly higher (or lower) than the one before; a tie
 *    breaks the run;
 * 3. part of 2 of 3 consecutive points strictly beyond the two-thirds limit (and not
 *    outside the limits) where all three are on that side of the mean; only the points
 *    beyond two thirds are marked;
 * 4. part of RUN points strictly on one side of the mean; a point on the mean breaks it.
 */
export function specialCauses(values: readonly number[], limits: SegmentLimits): SpecialCause[] {
  const n = values.length;
  const { mean: m, lpl, upl, nearLpl, nearUpl } = limits;
  const side = values.map((y) => sign(y - m));
  const outside = values.map((y) => upl !== null && lpl !== null && (y > upl || y < lpl));
  const near = values.map((y, i) => nearUpl !== null && nearLpl !== null && !outside[i] && (y < nearLpl || y > nearUpl));

  // Shift: a run of RUN points on the same side ends at i.
  const shiftEnds: Sign[] = side.map((s, i) => {
    if (i < RUN - 1 || s === 0) return 0;
    for (let k = 1; k < RUN; k++) if (side[i - k] !== s) return 0;
    return s;
  });
  // Trend: RUN points with RUN - 1 strictly rising (or falling) steps end at i.
  const step = values.map((y, i) => (i === 0 ? 0 : sign(y - values[i - 1]!)));
  const trendEnds: Sign[] = values.map((_, i) => {
    if (i < RUN - 1) return 0;
    const s = step[i]!;
    if (s === 0) return 0;
    for (let k = 1; k < RUN - 1; k++) if (step[i - k] !== s) return 0;
    return s;
  });
  const inShift = runsContaining(shiftEnds);
  const inTrend = runsContaining(trendEnds);

  // 2 of 3: windows of three consecutive points wholly inside the segment.
  const twoOfThreeWindow = (w: number): boolean =>
    w >= 0 && w + 2 < n &&
    Number(near[w]) + Number(near[w + 1]) + Number(near[w + 2]) >= 2 &&
    Math.abs(side[w]! + side[w + 1]! + side[w + 2]!) === 3;

  return values.map((_, i): SpecialCause => {
    if (outside[i]) return { rule: 'outside_limits', direction: side[i]! };
    const trends = inTrend[i]!;
    if (trends.length > 0) {
      // A point in a rising and a falling run (the turning point) takes the run that
      // starts at it, i.e. the direction of its next step: the reference's "use right side".
      const mixed = trends.some((d) => d !== trends[0]);
      return { rule: 'trend', direction: mixed ? step[i + 1]! : trends[0]! };
    }
    if (near[i] && (twoOfThreeWindow(i - 2) || twoOfThreeWindow(i - 1) || twoOfThreeWindow(i))) {
      return { rule: 'two_in_three', direction: side[i]! };
    }
    if (inShift[i]!.length > 0) return { rule: 'shift', direction: side[i]! };
    return { rule: null, direction: 0 };
  });
}

/** Names a special cause's direction against the improvement direction (ptd_point_type). */
export function pointType(direction: Sign, improvement: Improvement): PointType {
  if (direction === 0) return 'common_cause';
  if (improvement === 'neutral') return direction > 0 ? 'special_cause_neutral_high' : 'special_cause_neutral_low';
  const better = improvement === 'increase' ? direction > 0 : direction < 0;
  return better ? 'special_cause_improvement' : 'special_cause_concern';
}

/**
 * Assurance against a target from the limits of the latest point (ptd_calculate_assurance_type):
 * a target beyond a process limit is always (or never) met. Null without a target or when
 * neither direction is better. Comparisons are strict, so a target on a limit is inconsistent,
 * as is a segment with no limits (the reference compares against NA).
 */
export function assurance(last: Pick<SpcPoint, 'lpl' | 'upl'> | undefined, target: number | null | undefined, improvement: Improvement): Assurance | null {
  if (target == null || improvement === 'neutral' || last === undefined) return null;
  const up = improvement === 'increase';
  if (last.upl !== null && target > last.upl) return up ? 'consistent_fail' : 'consistent_pass';
  if (last.lpl !== null && target < last.lpl) return up ? 'consistent_pass' : 'consistent_fail';
  return 'inconsistent';
}

export class SpcInputError extends Error {
  override readonly name = 'SpcInputError';
}

/** Validates options; throws SpcInputError naming the option. */
export function checkOptions(o: SpcOptions): void {
  if (o.improvement !== undefined && !IMPROVEMENTS.includes(o.improvement)) throw new SpcInputError(`improvement: must be one of ${IMPROVEMENTS.join(', ')}`);
  if (o.target != null && !Number.isFinite(o.target)) throw new SpcInputError('target: must be a finite number');
  if (o.fixAfter != null && !(Number.isInteger(o.fixAfter) && o.fixAfter >= 2)) throw new SpcInputError('fixAfter: must be a whole number >= 2 (limits need at least one moving range)');
  for (const d of o.rebase ?? []) if (!isIsoDate(d)) throw new SpcInputError(`rebase: "${d}" is not a date (YYYY-MM-DD)`);
}

/**
 * SPC of one series: sorts by date, splits at rebase dates, computes each segment's
 * limits and point types, and the assurance of the latest point against the target.
 */
export function spc(input: readonly SpcInput[], options: SpcOptions = {}): SpcResult {
  checkOptions(options);
  const improvement = options.improvement ?? 'increase';
  for (const p of input) {
    if (!isIsoDate(p.date)) throw new SpcInputError(`date: "${p.date}" is not a date (YYYY-MM-DD)`);
    if (!Number.isFinite(p.value)) throw new SpcInputError(`value: ${p.value} on ${p.date} is not a finite number`);
  }
  const sorted = [...input].sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : 0));
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i]!.date === sorted[i - 1]!.date) throw new SpcInputError(`date: ${sorted[i]!.date} appears twice in one series`);
  }

  // Segment starts: index of the first point on or after each rebase date.
  const starts = new Set<number>([0]);
  for (const d of options.rebase ?? []) {
    const i = sorted.findIndex((p) => p.date >= d);
    if (i > 0) starts.add(i);
  }
  const bounds = [...starts].sort((a, b) => a - b);

  const points: SpcPoint[] = [];
  bounds.forEach((from, segment) => {
    const to = bounds[segment + 1] ?? sorted.length;
    const seg = sorted.slice(from, to);
    if (seg.length === 0) return;
    const values = seg.map((p) => p.value);
    const limits = segmentLimits(values, { fixAfter: options.fixAfter ?? null, screenOutliers: options.screenOutliers ?? true });
    specialCauses(values, limits).forEach((sc, k) => {
      const p = seg[k]!;
      points.push({
        date: p.date,
        value: p.value,
        mean: limits.mean,
        lpl: limits.lpl,
        upl: limits.upl,
        pointType: pointType(sc.direction, improvement),
        rule: sc.rule,
        segment,
      });
    });
  });
  return { points, assurance: assurance(points[points.length - 1], options.target, improvement) };
}

export type VariationIcon =
  | 'common_cause'
  | 'improvement_high'
  | 'improvement_low'
  | 'concern_high'
  | 'concern_low'
  | 'neutral_high'
  | 'neutral_low';

/** The variation icon of a series: the latest point's type, oriented by the improvement direction. */
export function variationIcon(last: PointType | undefined, improvement: Improvement): VariationIcon {
  switch (last) {
    case 'special_cause_improvement': return improvement === 'decrease' ? 'improvement_low' : 'improvement_high';
    case 'special_cause_concern': return improvement === 'decrease' ? 'concern_high' : 'concern_low';
    case 'special_cause_neutral_high': return 'neutral_high';
    case 'special_cause_neutral_low': return 'neutral_low';
    default: return 'common_cause';
  }
}
