// The numbers behind the chart: one row per segment and period with numerator,
// denominator, value, mean, limits and point type (the accessible form of the chart).
import type { SeriesResponse } from '../../insights/api';
import { formatNumber, POINT_TEXT, segmentName } from '../../insights/logic';

export function SeriesTable({ series }: { series: SeriesResponse }) {
  const unit = series.measure.unit;
  return (
    <div class="table-scroll" tabIndex={0} role="region" aria-label="Table of the chart's figures">
      <table class="data-table" data-testid="series-table">
        <caption>{series.measure.name} by {series.period}{series.by ? ` and ${segmentName(series.by).toLowerCase()}` : ''}: numerators, denominators and SPC</caption>
        <thead>
          <tr>
            {series.by && <th scope="col">{segmentName(series.by)}</th>}
            <th scope="col">{series.period === 'week' ? 'Week from' : 'Month'}</th>
            <th scope="col" class="num">Numerator</th>
            <th scope="col" class="num">Denominator</th>
            <th scope="col" class="num">Value ({unit})</th>
            <th scope="col" class="num">Mean</th>
            <th scope="col" class="num">Lower limit</th>
            <th scope="col" class="num">Upper limit</th>
            <th scope="col">Variation</th>
          </tr>
        </thead>
        <tbody>
          {series.segments.flatMap((s) => s.points.map((p) => (
            <tr key={`${s.segment ?? ''}/${p.periodStart}`}>
              {series.by && <th scope="row">{s.segment ?? 'not known'}</th>}
              <td>{p.periodStart}</td>
              <td class="num">{formatNumber(p.numerator, 2)}</td>
              <td class="num">{formatNumber(p.denominator, 0)}</td>
              <td class="num">{formatNumber(p.value, 2)}</td>
              <td class="num">{formatNumber(p.mean, 2)}</td>
              <td class="num">{formatNumber(p.lpl, 2)}</td>
              <td class="num">{formatNumber(p.upl, 2)}</td>
              <td>{p.pointType ? POINT_TEXT[p.pointType] : p.complete ? '' : 'in progress'}</td>
            </tr>
          )))}
        </tbody>
      </table>
    </div>
  );
}
