// One SPC (XmR) chart as SVG in the Making Data Count style: the values, each phase's
// mean and process limits (a rebase starts a new phase), the target, points coloured by
// type, improvement notes at their dates, and the variation and assurance icons. The
// axes may be shared with other panels (small multiples). The SVG is an image with a
// title and a description; the table beside it carries every number.
import type { ImprovementNote, MeasureInfo, SeriesSegment } from '../../insights/api';
import { charted, formatNumber, latestType, MDC, POINT_COLOURS, POINT_TEXT, ticks, VARIATION_TEXT, ASSURANCE_TEXT, variationIcon } from '../../insights/logic';
import { AssuranceIconSvg, VariationIconSvg } from './MdcIcons';

export interface SpcChartProps {
  id: string;
  title: string;
  measure: MeasureInfo;
  segment: SeriesSegment;
  dates: readonly string[];
  domain: [number, number];
  notes?: readonly ImprovementNote[];
  small?: boolean;
}

const f = (x: number) => Math.round(x * 100) / 100;

export function SpcChart({ id, title, measure, segment, dates, domain, notes = [], small = false }: SpcChartProps) {
  const W = small ? 420 : 900;
  const H = small ? 230 : 340;
  const M = { left: 56, right: small ? 76 : 130, top: small ? 30 : 34, bottom: 34 };
  const plotW = W - M.left - M.right;
  const plotH = H - M.top - M.bottom;
  const [lo, hi] = domain;
  const idx = new Map(dates.map((d, i) => [d, i]));
  const x = (d: string) => M.left + (dates.length <= 1 ? plotW / 2 : ((idx.get(d) ?? 0) / (dates.length - 1)) * plotW);
  const y = (v: number) => M.top + (1 - (v - lo) / (hi - lo || 1)) * plotH;
  const pts = charted(segment);
  const open = segment.points.filter((p) => !p.complete && p.value !== null);
  const icon = variationIcon(latestType(segment), measure.direction);
  const target = measure.target ?? null;
  const last = pts.at(-1);
  // Phases: runs of points with the same mean and limits.
  const phases: (typeof pts)[] = [];
  for (const p of pts) {
    const cur = phases.at(-1);
    if (cur && cur[0]!.mean === p.mean && cur[0]!.upl === p.upl && cur[0]!.lpl === p.lpl) cur.push(p);
    else phases.push([p]);
  }
  const desc = pts.length === 0 ? 'No complete periods to chart yet.'
    : `${pts.length} complete periods from ${pts[0]!.periodStart} to ${last!.periodStart}. Latest ${formatNumber(last!.value)}${measure.unit === '%' ? '%' : ` ${measure.unit}`}; mean ${formatNumber(last!.mean)}, process limits ${formatNumber(last!.lpl)} to ${formatNumber(last!.upl)}. ${VARIATION_TEXT[icon]}.${segment.assurance ? ` ${ASSURANCE_TEXT[segment.assurance]} (target ${formatNumber(target)}).` : ''}${phases.length > 1 ? ` ${phases.length} phases (rebased).` : ''}${notes.length ? ` ${notes.length} improvement note${notes.length > 1 ? 's' : ''} marked.` : ''}`;
  const dateTicks = [...new Set([0, Math.floor((dates.length - 1) / 2), dates.length - 1])].filter((i) => i >= 0).map((i) => dates[i]!);
  const r = small ? 16 : 24;
  const ix = W - M.right + 12 + r;
  return (
    <svg xmlns="http://www.w3.org/2000/svg" class="spc-chart" viewBox={`0 0 ${W} ${H}`} width={W} height={H} role="img" aria-labelledby={`${id}-title ${id}-desc`} data-testid="spc-chart" data-segment={segment.segment ?? ''}>
      <title id={`${id}-title`}>{title}</title>
      <desc id={`${id}-desc`}>{desc}</desc>
      <rect width={W} height={H} fill="#FFFFFF" />
      <text x={M.left} y={small ? 18 : 22} font-family="Arial, sans-serif" font-size={small ? 13 : 16} font-weight="700" fill="#212B32">{title}</text>
      <rect x={M.left} y={M.top} width={plotW} height={plotH} fill="none" stroke="#D8DDE0" />
      {ticks(lo, hi, small ? 4 : 5).map((t) => (
        <g key={t} class="y-tick">
          <line x1={M.left} y1={f(y(t))} x2={M.left + plotW} y2={f(y(t))} stroke="#F0F4F5" />
          <text x={M.left - 6} y={f(y(t) + 4)} text-anchor="end" font-family="Arial, sans-serif" font-size="11" fill="#425563">{formatNumber(t, 2)}</text>
        </g>
      ))}
      {dateTicks.map((d) => <text key={d} x={f(x(d))} y={M.top + plotH + 18} text-anchor="middle" font-family="Arial, sans-serif" font-size="11" fill="#425563">{d}</text>)}
      {phases.map((ph, i) => {
        const a = x(ph[0]!.periodStart);
        const b = Math.max(x(ph.at(-1)!.periodStart), a + 1);
        const line = (v: number | null, cls: string, colour: string, dash?: string) => v === null ? null
          : <line class={cls} x1={f(a)} y1={f(y(v))} x2={f(b)} y2={f(y(v))} stroke={colour} stroke-width="1.5" stroke-dasharray={dash} />;
        return <g key={i} data-testid="spc-phase">{line(ph[0]!.mean, 'mean', MDC.mean)}{line(ph[0]!.upl, 'upl', MDC.limits, '6 4')}{line(ph[0]!.lpl, 'lpl', MDC.limits, '6 4')}</g>;
      })}
      {target !== null && <line class="target" data-testid="target-line" x1={M.left} y1={f(y(target))} x2={M.left + plotW} y2={f(y(target))} stroke={MDC.target} stroke-width="1.5" stroke-dasharray="2 3" />}
      {notes.map((n, i) => {
        const d = dates.find((x2) => x2 >= n.effectiveDate) ?? dates.at(-1)!;
        const nx = f(x(d));
        return (
          <g key={n.noteId} class="note" data-testid="note-marker" data-note={n.noteId}>
            <title>{`Improvement note ${i + 1} (${n.effectiveDate}): ${n.title}`}</title>
            <line x1={nx} y1={M.top} x2={nx} y2={M.top + plotH} stroke={MDC.note} stroke-width="1.5" stroke-dasharray="4 3" />
            <rect x={nx - 8} y={M.top + 2} width="16" height="16" rx="3" fill={MDC.note} />
            <text x={nx} y={M.top + 14} text-anchor="middle" font-family="Arial, sans-serif" font-size="11" font-weight="700" fill="#FFFFFF">{i + 1}</text>
          </g>
        );
      })}
      {pts.length > 1 && <polyline class="values" points={pts.map((p) => `${f(x(p.periodStart))},${f(y(p.value!))}`).join(' ')} fill="none" stroke={MDC.value_line} stroke-width="1.5" />}
      {pts.map((p) => (
        <circle key={p.periodStart} class={`point ${p.pointType!}`} data-point-type={p.pointType!} cx={f(x(p.periodStart))} cy={f(y(p.value!))} r={small ? 3 : 4} fill={POINT_COLOURS[p.pointType!]}>
          <title>{`${p.periodStart}: ${formatNumber(p.value)} (${POINT_TEXT[p.pointType!]})`}</title>
        </circle>
      ))}
      {open.map((p) => (
        <circle key={p.periodStart} class="point incomplete" cx={f(x(p.periodStart))} cy={f(y(p.value!))} r={small ? 3 : 4} fill="#FFFFFF" stroke={MDC.common_cause}>
          <title>{`${p.periodStart}: ${formatNumber(p.value)} (period in progress, not charted)`}</title>
        </circle>
      ))}
      {pts.length > 0 && <VariationIconSvg kind={icon} cx={ix} cy={M.top + r} r={r} />}
      {segment.assurance && <AssuranceIconSvg kind={segment.assurance} cx={ix} cy={M.top + 3 * r + 8} r={r} />}
    </svg>
  );
}
