// The Making Data Count variation and assurance icons, drawn in SVG (inside a chart, so a
// downloaded chart keeps them). Each has a <title> and its words beside it in the view.
import type { Assurance } from '../../insights/api';
import { ASSURANCE_TEXT, assuranceColour, MDC, VARIATION_TEXT, variationColour, type VariationIcon } from '../../insights/logic';

const f = (x: number) => Math.round(x * 100) / 100;

export function VariationIconSvg({ kind, cx, cy, r }: { kind: VariationIcon; cx: number; cy: number; r: number }) {
  const colour = variationColour(kind);
  const special = kind !== 'common_cause';
  const high = kind.endsWith('high');
  const xs = [-0.55, -0.28, 0, 0.28, 0.55].map((k) => cx + k * r);
  const ys = (special ? [0.3, 0.45, 0.3, high ? 0.05 : 0.55, high ? -0.05 : 0.65] : [0.35, 0.5, 0.3, 0.5, 0.35]).map((k) => cy + k * r);
  return (
    <g class="mdc-icon" data-testid="variation-icon" data-icon={kind}>
      <title>{VARIATION_TEXT[kind]}</title>
      <circle cx={cx} cy={cy} r={r} fill="#FFFFFF" stroke={colour} stroke-width={f(r * 0.12)} />
      {special && <text x={cx} y={f(cy - r * 0.12)} text-anchor="middle" font-family="Arial, sans-serif" font-weight="700" font-size={f(r * 0.7)} fill={colour}>{high ? 'H' : 'L'}</text>}
      <polyline points={xs.map((x, i) => `${f(x)},${f(ys[i]!)}`).join(' ')} fill="none" stroke={MDC.common_cause} stroke-width={f(r * 0.05)} />
      {xs.map((x, i) => <circle key={i} cx={f(x)} cy={f(ys[i]!)} r={f(r * 0.09)} fill={special && i >= 3 ? colour : MDC.common_cause} />)}
    </g>
  );
}

export function AssuranceIconSvg({ kind, cx, cy, r }: { kind: Assurance; cx: number; cy: number; r: number }) {
  const colour = assuranceColour(kind);
  const letter = kind === 'consistent_pass' ? 'P' : kind === 'consistent_fail' ? 'F' : '?';
  return (
    <g class="mdc-icon" data-testid="assurance-icon" data-icon={kind}>
      <title>{`Assurance: ${ASSURANCE_TEXT[kind].toLowerCase()}`}</title>
      <circle cx={cx} cy={cy} r={r} fill="#FFFFFF" stroke={colour} stroke-width={f(r * 0.12)} />
      <text x={cx} y={f(cy + r * 0.15)} text-anchor="middle" font-family="Arial, sans-serif" font-weight="700" font-size={f(r * 0.75)} fill={colour}>{letter}</text>
      <line x1={f(cx - r * 0.7)} y1={f(cy + r * 0.4)} x2={f(cx + r * 0.7)} y2={f(cy + r * 0.4)} stroke={colour} stroke-width={f(r * 0.07)} stroke-dasharray={`${f(r * 0.15)} ${f(r * 0.07)}`} />
    </g>
  );
}
