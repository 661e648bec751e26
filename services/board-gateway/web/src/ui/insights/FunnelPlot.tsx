// A funnel plot: each segment's value against its denominator, the trust value, and the
// 95% (dashed) and 99.8% (solid) limits that narrow as the denominator grows. Points
// outside a limit are coloured and named; suppressed segments are not drawn.
import type { EquityResponse } from '../../insights/api';
import { FLAG_TEXT, formatNumber, MDC, ticks } from '../../insights/logic';

const f = (x: number) => Math.round(x * 100) / 100;
const FLAG_COLOUR = { within: MDC.common_cause, high_95: MDC.concern, low_95: MDC.concern, high_998: MDC.neutral, low_998: MDC.neutral } as const;

export function FunnelPlot({ id, title, e }: { id: string; title: string; e: EquityResponse }) {
  const W = 900;
  const H = 420;
  const M = { left: 64, right: 150, top: 36, bottom: 48 };
  const plotW = W - M.left - M.right;
  const plotH = H - M.top - M.bottom;
  const shown = e.segments.filter((s) => !s.suppressed && s.value !== null && s.denominator);
  const xMax = Math.max(1, ...shown.map((s) => s.denominator!), ...e.curve.map((c) => c.denominator)) * 1.02;
  const ys = [...shown.map((s) => s.value!), ...e.curve.flatMap((c) => [c.lower998, c.upper998]), ...(e.trust.value !== null ? [e.trust.value] : [])];
  let lo = Math.min(0, ...ys);
  let hi = Math.max(1, ...ys);
  if (e.kind === 'proportion') hi = Math.min(100, hi * 1.05);
  else hi *= 1.05;
  if (hi <= lo) hi = lo + 1;
  lo = Math.max(0, lo);
  const x = (d: number) => M.left + (d / xMax) * plotW;
  const y = (v: number) => M.top + (1 - (Math.min(hi, Math.max(lo, v)) - lo) / (hi - lo)) * plotH;
  const path = (k: 'lower95' | 'upper95' | 'lower998' | 'upper998') => e.curve.map((c, i) => `${i ? 'L' : 'M'}${f(x(c.denominator))},${f(y(c[k]))}`).join(' ');
  const named = e.outside.map((o) => `${o.segment} (${FLAG_TEXT[o.flag]})`).join('; ');
  const desc = `Funnel plot of ${shown.length} segments against the trust value ${formatNumber(e.trust.value, 2)} ${e.unit}. ${named ? `Outside the limits: ${named}.` : 'Every segment shown is within the limits.'}`;
  return (
    <svg xmlns="http://www.w3.org/2000/svg" class="funnel-plot" viewBox={`0 0 ${W} ${H}`} width={W} height={H} role="img" aria-labelledby={`${id}-title ${id}-desc`} data-testid="funnel-plot">
      <title id={`${id}-title`}>{title}</title>
      <desc id={`${id}-desc`}>{desc}</desc>
      <rect width={W} height={H} fill="#FFFFFF" />
      <text x={M.left} y="22" font-family="Arial, sans-serif" font-size="16" font-weight="700" fill="#212B32">{title}</text>
      <rect x={M.left} y={M.top} width={plotW} height={plotH} fill="none" stroke="#D8DDE0" />
      {ticks(lo, hi, 5).map((t) => (
        <g key={`y${t}`}>
          <line x1={M.left} y1={f(y(t))} x2={M.left + plotW} y2={f(y(t))} stroke="#F0F4F5" />
          <text x={M.left - 6} y={f(y(t) + 4)} text-anchor="end" font-family="Arial, sans-serif" font-size="11" fill="#425563">{formatNumber(t, 2)}</text>
        </g>
      ))}
      {ticks(0, xMax, 5).map((t) => <text key={`x${t}`} x={f(x(t))} y={M.top + plotH + 18} text-anchor="middle" font-family="Arial, sans-serif" font-size="11" fill="#425563">{formatNumber(t, 0)}</text>)}
      <text x={M.left + plotW / 2} y={H - 8} text-anchor="middle" font-family="Arial, sans-serif" font-size="12" fill="#425563">{e.kind === 'rate' ? 'Population' : 'Cases (denominator)'}</text>
      <text x={14} y={M.top + plotH / 2} transform={`rotate(-90 14 ${M.top + plotH / 2})`} text-anchor="middle" font-family="Arial, sans-serif" font-size="12" fill="#425563">{e.unit}</text>
      {e.curve.length > 1 && (
        <g fill="none" stroke-width="1.5">
          <path d={path('upper998')} stroke={MDC.limits} data-testid="limit-998" />
          <path d={path('lower998')} stroke={MDC.limits} />
          <path d={path('upper95')} stroke={MDC.limits} stroke-dasharray="6 4" data-testid="limit-95" />
          <path d={path('lower95')} stroke={MDC.limits} stroke-dasharray="6 4" />
        </g>
      )}
      {e.trust.value !== null && <line x1={M.left} y1={f(y(e.trust.value))} x2={M.left + plotW} y2={f(y(e.trust.value))} stroke={MDC.mean} stroke-width="1.5" data-testid="trust-line" />}
      {e.trust.value !== null && <text x={M.left + plotW + 6} y={f(y(e.trust.value) + 4)} font-family="Arial, sans-serif" font-size="11" fill="#212B32">Trust {formatNumber(e.trust.value, 1)}</text>}
      {shown.map((s) => {
        const colour = FLAG_COLOUR[s.flag ?? 'within'];
        const out = s.flag !== null && s.flag !== 'within';
        return (
          <g key={s.segment} data-testid="funnel-point" data-segment={s.segment} data-flag={s.flag ?? ''}>
            <title>{`${s.segment}: ${formatNumber(s.value, 2)} ${e.unit} (${formatNumber(s.numerator, 0)} of ${formatNumber(s.denominator, 0)}), ${FLAG_TEXT[s.flag ?? 'within']}`}</title>
            <circle cx={f(x(s.denominator!))} cy={f(y(s.value!))} r={out ? 6 : 4.5} fill={colour} stroke="#FFFFFF" />
            {/* The marker carries the flag's colour; the name is dark text (amber on white fails contrast). */}
            <text x={f(x(s.denominator!) + 8)} y={f(y(s.value!) + 4)} font-family="Arial, sans-serif" font-size="11" font-weight={out ? 700 : 400} fill={out ? '#212B32' : '#425563'}>{s.segment}</text>
          </g>
        );
      })}
    </svg>
  );
}
