// Funnel plots (Spiegelhalter 2005) for comparing segments against one overall value:
// each segment's value is drawn against its denominator, with control limits around
// the overall value that narrow as the denominator grows. Pure: no I/O.
//
// - proportion: numerator events out of `denominator` cases; limits
//   p0 ± z·sqrt(p0(1-p0)/n) (normal approximation to the binomial), kept within [0, 1].
// - rate: numerator events in a population of `denominator`; limits
//   r0 ± z·sqrt(r0/n) (normal approximation to the Poisson), never below 0.
// Values and limits are returned multiplied by `scale` (100 for a percentage,
// 100,000 for a rate per 100,000). Segments with a denominator of 0 have no value.

/** Two-sided 95% and 99.8% points of the standard normal distribution. */
export const Z95 = 1.959963984540054;
export const Z998 = 3.090232306167813;

export type FunnelKind = 'proportion' | 'rate';
export type FunnelFlag = 'within' | 'high_95' | 'low_95' | 'high_998' | 'low_998';

export interface FunnelInput { segment: string; numerator: number; denominator: number }
export interface FunnelLimits { lower95: number; upper95: number; lower998: number; upper998: number }
export interface FunnelPoint extends FunnelLimits, FunnelInput {
  /** numerator / denominator x scale. */
  value: number;
  /** Where the point sits: outside the 99.8% limits, outside only the 95% limits, or within. */
  flag: FunnelFlag;
}
export interface FunnelResult {
  kind: FunnelKind;
  scale: number;
  /** The overall value (sum of numerators / sum of denominators, x scale), null when every denominator is 0. */
  target: number | null;
  points: FunnelPoint[];
}

export class FunnelInputError extends Error {
  override readonly name = 'FunnelInputError';
}

/** The limits at one denominator around an overall value `target` (unscaled: a proportion or a rate per 1). */
export function funnelLimits(target: number, denominator: number, kind: FunnelKind, scale = 1): FunnelLimits {
  if (!(denominator > 0)) throw new FunnelInputError(`denominator: must be > 0, got ${denominator}`);
  const sd = kind === 'proportion' ? Math.sqrt((target * (1 - target)) / denominator) : Math.sqrt(target / denominator);
  const clip = (x: number) => (kind === 'proportion' ? Math.min(1, Math.max(0, x)) : Math.max(0, x)) * scale;
  return { lower95: clip(target - Z95 * sd), upper95: clip(target + Z95 * sd), lower998: clip(target - Z998 * sd), upper998: clip(target + Z998 * sd) };
}

/** Outside 99.8% first, then 95%; a point on a limit is within it. */
export function funnelFlag(value: number, l: FunnelLimits): FunnelFlag {
  if (value > l.upper998) return 'high_998';
  if (value < l.lower998) return 'low_998';
  if (value > l.upper95) return 'high_95';
  if (value < l.lower95) return 'low_95';
  return 'within';
}

/** Every segment against the overall value of all of them. */
export function funnel(input: readonly FunnelInput[], opts: { kind: FunnelKind; scale?: number }): FunnelResult {
  const scale = opts.scale ?? 1;
  for (const p of input) {
    if (!Number.isFinite(p.numerator) || p.numerator < 0) throw new FunnelInputError(`numerator: ${p.segment} has ${p.numerator}, must be a number >= 0`);
    if (!Number.isFinite(p.denominator) || p.denominator < 0) throw new FunnelInputError(`denominator: ${p.segment} has ${p.denominator}, must be a number >= 0`);
    if (opts.kind === 'proportion' && p.numerator > p.denominator) throw new FunnelInputError(`numerator: ${p.segment} has more events (${p.numerator}) than cases (${p.denominator})`);
  }
  const num = input.reduce((a, p) => a + p.numerator, 0);
  const den = input.reduce((a, p) => a + p.denominator, 0);
  if (den === 0) return { kind: opts.kind, scale, target: null, points: [] };
  const t = num / den;
  const points = input.filter((p) => p.denominator > 0).map((p): FunnelPoint => {
    const limits = funnelLimits(t, p.denominator, opts.kind, scale);
    const value = (p.numerator / p.denominator) * scale;
    return { ...p, value, ...limits, flag: funnelFlag(value, limits) };
  });
  return { kind: opts.kind, scale, target: t * scale, points };
}

/** The funnel's limit lines for drawing: `steps` denominators spread evenly (in sqrt) from `from` to `to`. */
export function funnelCurve(target: number, kind: FunnelKind, from: number, to: number, opts: { scale?: number; steps?: number } = {}): (FunnelLimits & { denominator: number })[] {
  const steps = Math.max(2, opts.steps ?? 40);
  const [a, b] = [Math.sqrt(Math.max(from, 1e-9)), Math.sqrt(Math.max(to, from, 1e-9))];
  return Array.from({ length: steps }, (_, i) => {
    const denominator = (a + ((b - a) * i) / (steps - 1)) ** 2;
    return { denominator, ...funnelLimits(target, denominator, kind, opts.scale ?? 1) };
  });
}
