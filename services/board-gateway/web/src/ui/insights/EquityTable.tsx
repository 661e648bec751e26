// The equity view's segments side by side: numerator, denominator, value, both limits
// and where the segment sits. Small numbers show only as "<5".
import type { EquityResponse } from '../../insights/api';
import { FLAG_TEXT, formatNumber, segmentName, smallNumber } from '../../insights/logic';

export function EquityTable({ e }: { e: EquityResponse }) {
  const range = (a: number | null, b: number | null) => (a === null || b === null ? '' : `${formatNumber(a, 2)} – ${formatNumber(b, 2)}`);
  return (
    <div class="table-scroll" tabIndex={0} role="region" aria-label="Table of the segments">
      <table class="data-table" data-testid="equity-table">
        <caption>{e.measure.name} by {segmentName(e.by).toLowerCase()} ({e.unit}); counts under {e.suppressBelow} shown as "&lt;{e.suppressBelow}"</caption>
        <thead>
          <tr>
            <th scope="col">{segmentName(e.by)}</th>
            <th scope="col" class="num">{e.kind === 'rate' ? 'Count' : 'Numerator'}</th>
            <th scope="col" class="num">{e.kind === 'rate' ? 'Population' : 'Denominator'}</th>
            <th scope="col" class="num">{e.kind === 'rate' ? 'Rate per 100,000' : 'Percentage'}</th>
            <th scope="col" class="num">95% limits</th>
            <th scope="col" class="num">99.8% limits</th>
            <th scope="col">Against the trust</th>
          </tr>
        </thead>
        <tbody>
          {e.segments.map((s) => (
            <tr key={s.segment} data-segment={s.segment} class={s.flag && s.flag !== 'within' ? `flag-${s.flag}` : undefined}>
              <th scope="row">{s.segment}</th>
              <td class="num" data-testid={`equity-numerator-${s.segment}`}>{smallNumber(s.numerator, s.suppressed, e.suppressBelow)}</td>
              <td class="num">{s.suppressed ? '' : formatNumber(s.denominator, 0)}</td>
              <td class="num">{s.suppressed ? '' : formatNumber(s.value, 2)}</td>
              <td class="num">{range(s.lower95, s.upper95)}</td>
              <td class="num">{range(s.lower998, s.upper998)}</td>
              <td>{s.suppressed ? 'small number: not shown' : s.flag ? FLAG_TEXT[s.flag] : ''}</td>
            </tr>
          ))}
          <tr class="trust-row">
            <th scope="row">Trust</th>
            <td class="num">{formatNumber(e.trust.numerator, 0)}</td>
            <td class="num">{formatNumber(e.trust.denominator, 0)}</td>
            <td class="num">{formatNumber(e.trust.value, 2)}</td>
            <td colSpan={3} />
          </tr>
        </tbody>
      </table>
    </div>
  );
}
