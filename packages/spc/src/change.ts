// Did a recorded change move its measure? The improvement loop's verdict, pure.
//
// The points before the change are the baseline: the limits are fixed on them (the
// "fix after N" of NHSRplotthedots, with N = the baseline's length), and the four
// special-cause rules then read the whole series against those limits. A sustained move
// after the change shows as special cause in the points since it (a shift of 7 beyond
// the baseline mean, a trend, 2 of 3 near a limit, or a point outside). The latest
// special-cause point since the change decides: in the expected direction it is an
// improvement, the other way a concern; none is no signal. Too few points since the
// change (or too few before it to set limits) is too early to say.
import { isIsoDate, RUN, spc, SpcInputError, type SpcInput, type SpecialCauseRule } from './spc';

export type ChangeVerdict = 'improvement' | 'concern' | 'no-signal' | 'too-early';
export const CHANGE_VERDICTS: readonly ChangeVerdict[] = ['improvement', 'concern', 'no-signal', 'too-early'];
export type ExpectedDirection = 'up' | 'down';

/** Points needed since the change before a verdict: a shift needs RUN (7) points to show. */
export const MIN_POINTS_SINCE = RUN;
/** Points needed before the change to set the baseline limits. */
export const MIN_BASELINE = 6;

export interface ChangeOptions {
  /** The change's effective date, YYYY-MM-DD: points dated on or after it are "since". */
  since: string;
  expected: ExpectedDirection;
  minPointsSince?: number;
  minBaseline?: number;
  screenOutliers?: boolean;
}

export interface ChangeOutcome {
  verdict: ChangeVerdict;
  /** Points dated on or after the change. */
  pointsSince: number;
  /** One sentence for people: what the verdict rests on. */
  detail: string;
  /** The baseline mean and limits the points since were read against (null when too early). */
  baseline: { points: number; mean: number; lpl: number | null; upl: number | null } | null;
}

const RULE_WORDS: Record<SpecialCauseRule, string> = {
  outside_limits: 'a point outside the baseline limits',
  trend: `a trend of ${RUN} points`,
  two_in_three: '2 of 3 points near a baseline limit',
  shift: `a shift of ${RUN} points on one side of the baseline mean`,
};

const round = (x: number): string => String(Math.round(x * 100) / 100);

/** The verdict on one measure's series (one point per period, dated by its start) around a change. */
export function changeOutcome(points: readonly SpcInput[], o: ChangeOptions): ChangeOutcome {
  if (!isIsoDate(o.since)) throw new SpcInputError(`since: "${o.since}" is not a date (YYYY-MM-DD)`);
  const minSince = o.minPointsSince ?? MIN_POINTS_SINCE;
  const minBase = Math.max(2, o.minBaseline ?? MIN_BASELINE);
  const sorted = [...points].sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : 0));
  const before = sorted.filter((p) => p.date < o.since).length;
  const pointsSince = sorted.length - before;
  if (pointsSince < minSince) {
    return { verdict: 'too-early', pointsSince, baseline: null, detail: `${pointsSince} of the ${minSince} points needed since the change` };
  }
  if (before < minBase) {
    return { verdict: 'too-early', pointsSince, baseline: null, detail: `${before} points before the change: ${minBase} are needed to set the baseline limits` };
  }
  const improvement = o.expected === 'up' ? 'increase' : 'decrease';
  const r = spc(sorted, { improvement, fixAfter: before, screenOutliers: o.screenOutliers ?? true });
  const first = r.points[0]!;
  const baseline = { points: before, mean: first.mean, lpl: first.lpl, upl: first.upl };
  const since = r.points.slice(before);
  const special = since.filter((p) => p.pointType !== 'common_cause');
  const latest = special[special.length - 1];
  const limits = `baseline of ${before} points: mean ${round(baseline.mean)}, limits ${baseline.lpl === null ? 'none' : `${round(baseline.lpl)} to ${round(baseline.upl!)}`}`;
  if (!latest) {
    return { verdict: 'no-signal', pointsSince, baseline, detail: `no special cause in ${pointsSince} points since the change (${limits})` };
  }
  const verdict: ChangeVerdict = latest.pointType === 'special_cause_improvement' ? 'improvement' : 'concern';
  const way = verdict === 'improvement' ? `in the expected direction (${o.expected})` : `against the expected direction (${o.expected})`;
  return {
    verdict, pointsSince, baseline,
    detail: `${special.length} of ${pointsSince} points since the change are special cause ${way}, latest ${latest.date}: ${RULE_WORDS[latest.rule!]} (${limits})`,
  };
}
