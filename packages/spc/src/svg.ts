// Draws SPC charts as one standalone SVG document: one panel per series with the value
// line, the mean and process limits of each segment (broken at rebases), the target, the
// points coloured by type, and the variation and assurance icons, in the Making Data
// Count colours. Pure string building; no DOM.
import { variationIcon, type Assurance, type Improvement, type PointType, type SpcPoint, type VariationIcon } from './spc';

/** Making Data Count palette (see README, "Colours"). */
export const COLOURS = {
  common_cause: '#7B7D7D',
  improvement: '#289DE0',
  concern: '#FAB428',
  neutral: '#361475',
  mean: '#000000',
  limits: '#7B7D7D',
  target: '#DE1B1B',
  value_line: '#7B7D7D',
} as const;

export const POINT_COLOURS: Record<PointType, string> = {
  common_cause: COLOURS.common_cause,
  special_cause_improvement: COLOURS.improvement,
  special_cause_concern: COLOURS.concern,
  special_cause_neutral_high: COLOURS.neutral,
  special_cause_neutral_low: COLOURS.neutral,
};

export interface ChartSeries {
  group: string | null;
  points: readonly Pick<SpcPoint, 'date' | 'value' | 'mean' | 'lpl' | 'upl' | 'pointType' | 'segment'>[];
  assurance: Assurance | null;
}

export interface ChartOptions {
  improvement: Improvement;
  target?: number | null;
  title?: string;
}

const W = 900;
const H = 320;
const M = { left: 70, right: 150, top: 44, bottom: 46 };

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const f = (x: number): string => (Math.round(x * 100) / 100).toString();
const dayMs = (d: string): number => Date.parse(`${d}T00:00:00Z`);

/** Round tick spacing (1, 2 or 5 x 10^k) giving about `count` ticks. */
function ticks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((k) => k * mag).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) out.push(Math.abs(t) < step * 1e-9 ? 0 : t);
  return out;
}

const fmt = (t: number): string => (Number.isInteger(t) ? t.toString() : Number(t.toPrecision(6)).toString());

function variationIconSvg(kind: VariationIcon, cx: number, cy: number, r: number): string {
  const colour =
    kind === 'common_cause' ? COLOURS.common_cause
      : kind.startsWith('improvement') ? COLOURS.improvement
        : kind.startsWith('concern') ? COLOURS.concern : COLOURS.neutral;
  const label: Record<VariationIcon, string> = {
    common_cause: 'Common cause variation',
    improvement_high: 'Special cause variation: improvement (high)',
    improvement_low: 'Special cause variation: improvement (low)',
    concern_high: 'Special cause variation: concern (high)',
    concern_low: 'Special cause variation: concern (low)',
    neutral_high: 'Special cause variation: neither improvement nor concern (high)',
    neutral_low: 'Special cause variation: neither improvement nor concern (low)',
  };
  // Five small dots along a zig-zag; the last two coloured and raised (H) or lowered (L).
  const xs = [-0.55, -0.28, 0, 0.28, 0.55].map((k) => cx + k * r);
  const high = kind.endsWith('high');
  const special = kind !== 'common_cause';
  const ys = special
    ? [0.3, 0.45, 0.3, high ? 0.05 : 0.55, high ? -0.05 : 0.65].map((k) => cy + k * r)
    : [0.35, 0.5, 0.3, 0.5, 0.35].map((k) => cy + k * r);
  const dots = xs.map((x, i) => `<circle cx="${f(x)}" cy="${f(ys[i]!)}" r="${f(r * 0.09)}" fill="${special && i >= 3 ? colour : COLOURS.common_cause}"/>`).join('');
  const line = `<polyline points="${xs.map((x, i) => `${f(x)},${f(ys[i]!)}`).join(' ')}" fill="none" stroke="${COLOURS.common_cause}" stroke-width="${f(r * 0.05)}"/>`;
  const letter = special ? `<text x="${f(cx)}" y="${f(cy - r * 0.12)}" text-anchor="middle" font-family="Arial, sans-serif" font-weight="700" font-size="${f(r * 0.7)}" fill="${colour}">${high ? 'H' : 'L'}</text>` : '';
  return `<g class="icon variation" data-icon="${kind}"><title>${label[kind]}</title><circle cx="${f(cx)}" cy="${f(cy)}" r="${f(r)}" fill="#FFFFFF" stroke="${colour}" stroke-width="${f(r * 0.12)}"/>${letter}${line}${dots}</g>`;
}

function assuranceIconSvg(kind: Assurance, cx: number, cy: number, r: number): string {
  const colour = kind === 'consistent_pass' ? COLOURS.improvement : kind === 'consistent_fail' ? COLOURS.concern : COLOURS.common_cause;
  const letter = kind === 'consistent_pass' ? 'P' : kind === 'consistent_fail' ? 'F' : '?';
  const label = kind === 'consistent_pass' ? 'Assurance: the target will consistently be met' : kind === 'consistent_fail' ? 'Assurance: the target will consistently be missed' : 'Assurance: the target may or may not be met';
  const dash = `<line x1="${f(cx - r * 0.7)}" y1="${f(cy + r * 0.4)}" x2="${f(cx + r * 0.7)}" y2="${f(cy + r * 0.4)}" stroke="${colour}" stroke-width="${f(r * 0.07)}" stroke-dasharray="${f(r * 0.15)} ${f(r * 0.07)}"/>`;
  return `<g class="icon assurance" data-icon="${kind}"><title>${label}</title><circle cx="${f(cx)}" cy="${f(cy)}" r="${f(r)}" fill="#FFFFFF" stroke="${colour}" stroke-width="${f(r * 0.12)}"/><text x="${f(cx)}" y="${f(cy + r * 0.15)}" text-anchor="middle" font-family="Arial, sans-serif" font-weight="700" font-size="${f(r * 0.75)}" fill="${colour}">${letter}</text>${dash}</g>`;
}

function panel(s: ChartSeries, o: ChartOptions, top: number): string {
  const pts = s.points;
  const title = s.group ?? o.title ?? 'Series';
  const out: string[] = [`<g class="panel" transform="translate(0 ${top})">`, `<text x="${M.left}" y="24" font-family="Arial, sans-serif" font-size="16" font-weight="700" fill="#212B32">${esc(title)}</text>`];
  if (pts.length === 0) return `${out.join('')}</g>`;

  const target = o.target ?? null;
  const ys = pts.flatMap((p) => [p.value, p.mean, p.lpl, p.upl]).filter((v): v is number => v !== null);
  if (target !== null) ys.push(target);
  let lo = Math.min(...ys);
  let hi = Math.max(...ys);
  if (hi === lo) { lo -= 1; hi += 1; }
  const pad = (hi - lo) * 0.06;
  lo -= pad; hi += pad;
  const t0 = dayMs(pts[0]!.date);
  const t1 = dayMs(pts[pts.length - 1]!.date);
  const plotW = W - M.left - M.right;
  const plotH = H - M.top - M.bottom;
  const x = (d: string): number => M.left + (t1 === t0 ? plotW / 2 : ((dayMs(d) - t0) / (t1 - t0)) * plotW);
  const y = (v: number): number => M.top + (1 - (v - lo) / (hi - lo)) * plotH;

  // Axes and gridlines.
  out.push(`<rect x="${M.left}" y="${M.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#D8DDE0"/>`);
  for (const t of ticks(lo, hi)) {
    out.push(`<line x1="${M.left}" y1="${f(y(t))}" x2="${M.left + plotW}" y2="${f(y(t))}" stroke="#F0F4F5"/>`);
    out.push(`<text x="${M.left - 6}" y="${f(y(t) + 4)}" text-anchor="end" font-family="Arial, sans-serif" font-size="11" fill="#425563">${esc(fmt(t))}</text>`);
  }
  const dateTicks = [...new Set([0, Math.floor((pts.length - 1) / 2), pts.length - 1])].map((i) => pts[i]!.date);
  for (const d of dateTicks) {
    out.push(`<text x="${f(x(d))}" y="${M.top + plotH + 18}" text-anchor="middle" font-family="Arial, sans-serif" font-size="11" fill="#425563">${d}</text>`);
  }

  // Mean and limits, one run per segment so that a rebase breaks them.
  const segments = [...new Set(pts.map((p) => p.segment))];
  for (const seg of segments) {
    const sp = pts.filter((p) => p.segment === seg);
    const a = x(sp[0]!.date);
    const b = x(sp[sp.length - 1]!.date);
    const first = sp[0]!;
    const hline = (v: number, cls: string, colour: string, dash: string) =>
      out.push(`<line class="${cls}" x1="${f(a)}" y1="${f(y(v))}" x2="${f(b === a ? a + 1 : b)}" y2="${f(y(v))}" stroke="${colour}" stroke-width="1.5"${dash ? ` stroke-dasharray="${dash}"` : ''}/>`);
    hline(first.mean, 'mean', COLOURS.mean, '');
    if (first.upl !== null) hline(first.upl, 'upl', COLOURS.limits, '6 4');
    if (first.lpl !== null) hline(first.lpl, 'lpl', COLOURS.limits, '6 4');
  }
  if (target !== null) {
    out.push(`<line class="target" x1="${M.left}" y1="${f(y(target))}" x2="${M.left + plotW}" y2="${f(y(target))}" stroke="${COLOURS.target}" stroke-width="1.5" stroke-dasharray="2 3"/>`);
  }

  // The values and their points.
  out.push(`<polyline class="values" points="${pts.map((p) => `${f(x(p.date))},${f(y(p.value))}`).join(' ')}" fill="none" stroke="${COLOURS.value_line}" stroke-width="1.5"/>`);
  for (const p of pts) {
    out.push(`<circle class="point ${p.pointType}" cx="${f(x(p.date))}" cy="${f(y(p.value))}" r="4" fill="${POINT_COLOURS[p.pointType]}"><title>${p.date}: ${esc(fmt(p.value))} (${p.pointType.replace(/_/g, ' ')})</title></circle>`);
  }

  // Icons: variation (the latest point's type) and, with a target, assurance.
  const r = 26;
  const ix = W - M.right + 20 + r;
  out.push(variationIconSvg(variationIcon(pts[pts.length - 1]!.pointType, o.improvement), ix, M.top + r, r));
  if (s.assurance !== null) out.push(assuranceIconSvg(s.assurance, ix + 2 * r + 12, M.top + r, r));
  out.push('</g>');
  return out.join('');
}

/** One SVG document holding a panel per series, stacked. */
export function renderSvg(series: readonly ChartSeries[], options: ChartOptions): string {
  const height = Math.max(1, series.length) * H;
  const body = series.map((s, i) => panel(s, options, i * H)).join('\n');
  const desc = `Statistical process control chart (XmR, Making Data Count): ${series.length} series, improvement ${options.improvement}${options.target != null ? `, target ${fmt(options.target)}` : ''}.`;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${height}" viewBox="0 0 ${W} ${height}" role="img">`,
    `<title>${esc(options.title ?? 'SPC chart')}</title>`,
    `<desc>${esc(desc)}</desc>`,
    `<rect width="${W}" height="${height}" fill="#FFFFFF"/>`,
    body,
    '</svg>',
    '',
  ].join('\n');
}
