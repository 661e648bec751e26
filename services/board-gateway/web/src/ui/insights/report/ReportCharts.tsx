// The report's key measures: one SPC chart each, with the icons and their words.
import type { SeriesResponse } from '../../../insights/api';
import { ASSURANCE_TEXT, latestType, sharedDates, sharedDomain, VARIATION_TEXT, variationIcon } from '../../../insights/logic';
import { SpcChart } from '../SpcChart';

export function ReportCharts({ charts, problems }: { charts: readonly SeriesResponse[]; problems: readonly string[] }) {
  return (
    <section class="report-section" aria-labelledby="report-measures">
      <h2 id="report-measures">Key measures</h2>
      <ul class="report-charts">
        {charts.map((s, i) => {
          const seg = s.segments[0];
          if (!seg) return <li key={s.measure.id} class="report-chart"><p><strong>{s.measure.name}</strong>: no data in this period.</p></li>;
          const icon = variationIcon(latestType(seg), s.measure.direction);
          return (
            <li key={s.measure.id} class="report-chart" data-testid="report-chart">
              <SpcChart id={`report-${i}`} title={s.measure.name} measure={s.measure} segment={seg} dates={sharedDates(s.segments)} domain={sharedDomain(s.segments, s.measure.target)} small />
              <p class="report-caption">{VARIATION_TEXT[icon]}{seg.assurance ? `. ${ASSURANCE_TEXT[seg.assurance]}` : ''}.</p>
            </li>
          );
        })}
      </ul>
      {problems.length > 0 && <p class="muted">Not available: {problems.join('; ')}</p>}
    </section>
  );
}
