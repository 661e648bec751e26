// The report's equity section: for each comparison, the segments outside the funnel
// limits (suppressed segments are never named).
import type { EquityResponse } from '../../../insights/api';
import { FLAG_TEXT, formatNumber, segmentName } from '../../../insights/logic';

export function ReportEquity({ items }: { items: readonly { measure: string; by: string; result: EquityResponse | null; problem: string | null }[] }) {
  return (
    <section class="report-section" aria-labelledby="report-equity">
      <h2 id="report-equity">Equity: segments outside the limits</h2>
      <table class="data-table report-table" data-testid="report-equity">
        <thead><tr><th scope="col">Measure</th><th scope="col">Compared by</th><th scope="col">Trust</th><th scope="col">Outside the 95% / 99.8% limits</th></tr></thead>
        <tbody>
          {items.map((i) => (
            <tr key={`${i.measure}/${i.by}`}>
              <th scope="row">{i.result?.measure.name ?? i.measure}</th>
              <td>{segmentName(i.by)}</td>
              <td>{i.result ? `${formatNumber(i.result.trust.value, 1)} ${i.result.unit}` : ''}</td>
              <td>{i.problem ? `not available (${i.problem})` : i.result && i.result.outside.length
                ? i.result.outside.map((o) => `${o.segment}: ${FLAG_TEXT[o.flag]}`).join('; ') : 'none'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
