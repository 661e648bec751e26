// The equity view: for one measure, every segment of one dimension (local area,
// deprivation quintile, ethnic group, age band, sex, legal status) side by side, as a
// rate per 100,000 where the population file gives a denominator and a proportion
// otherwise, on a funnel plot against the trust value, naming the segments outside the
// 95% and 99.8% limits. Small numbers are suppressed by the server.
import { useEffect, useState } from 'preact/hooks';
import type { Catalogue, EquityResponse, InsightsApi, InsightsParams } from '../../insights/api';
import { FLAG_TEXT, fileSafe, segmentName } from '../../insights/logic';
import { Icon } from '../icons';
import { ChartFigure } from './ChartFigure';
import { Controls } from './Controls';
import { saveBlob } from './download';
import { EquityTable } from './EquityTable';
import { FunnelPlot } from './FunnelPlot';
import { problemText } from './InsightsView';

const POPULATION = ['local_area', 'age_band', 'sex', 'ethnic_group', 'deprivation_quintile'];

export function equityDefaults(c: Catalogue, p: Partial<InsightsParams>) {
  const measures = c.measures.filter((m) => m.kind !== 'value' && m.by.some((b) => c.equitySegments.includes(b)));
  const measure = measures.find((m) => m.id === p.measure) ?? measures.find((m) => m.id === 'detained_admission_share') ?? measures[0];
  const dims = (measure?.by ?? []).filter((b) => c.equitySegments.includes(b) && (measure?.kind === 'percent' || POPULATION.includes(b)));
  const params: InsightsParams = {
    measure: measure?.id ?? '', period: 'month', by: p.by && dims.includes(p.by) ? p.by : dims[0] ?? '',
    site: p.site ?? '', ward: p.ward ?? '', wardType: p.wardType ?? '', from: p.from ?? '', to: p.to ?? '', rebaseAt: '',
  };
  return { measures, dims, params };
}

export function EquityView({ api, catalogue, params: raw, setParams }: { api: InsightsApi; catalogue: Catalogue; params: Partial<InsightsParams>; setParams: (p: Partial<InsightsParams>) => void }) {
  const { measures, dims, params } = equityDefaults(catalogue, raw);
  const [data, setData] = useState<EquityResponse | null>(null);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const key = JSON.stringify(params);

  useEffect(() => {
    if (!params.measure || !params.by) return undefined;
    const ac = new AbortController();
    setLoading(true);
    api.equity(params, ac.signal).then((d) => { setData(d); setError(null); })
      .catch((e: unknown) => { if (!ac.signal.aborted) { setError(problemText(e)); setData(null); } })
      .finally(() => { if (!ac.signal.aborted) setLoading(false); });
    return () => ac.abort();
  }, [api, key]);

  const update = (p: Partial<InsightsParams>) => {
    const next = { ...params, ...p };
    // A new measure keeps the dimension only if it has it.
    setParams(equityDefaults(catalogue, next).params);
  };
  const shown = data && data.measure.id === params.measure && data.by === params.by ? data : null;
  const title = shown ? `${shown.measure.name} by ${segmentName(shown.by).toLowerCase()}` : '';
  const high = shown?.outside.filter((o) => o.flag.endsWith('998')) ?? [];
  const only95 = shown?.outside.filter((o) => o.flag.endsWith('_95')) ?? [];
  return (
    <>
      <h1 class="view-title" tabIndex={-1}>Equity</h1>
      <Controls catalogue={catalogue} measures={measures} params={params} dimensions={dims} allowNoSegment={false} showPeriod={false} onChange={update} idPrefix="eq" />
      <p class="visually-hidden" role="status" aria-live="polite">{loading ? 'Loading…' : shown ? `${title}: ${shown.outside.length} segments outside the limits.` : ''}</p>
      {error && <p class="banner banner-problem" data-testid="equity-error"><Icon shape="triangle" /> {error}</p>}
      {loading && !shown && <p class="loading">Loading…</p>}
      {shown && (
        <>
          <section class="equity-summary" aria-label="Segments outside the limits" data-testid="equity-outside">
            {shown.outside.length === 0 ? <p>Every segment shown is within the 95% limits of the trust value.</p> : (
              <ul>
                {high.length > 0 && <li><strong>Outside the 99.8% limits:</strong> {high.map((o) => `${o.segment} (${o.flag.startsWith('high') ? 'higher' : 'lower'})`).join(', ')}</li>}
                {only95.length > 0 && <li><strong>Outside the 95% limits only:</strong> {only95.map((o) => `${o.segment} (${FLAG_TEXT[o.flag]})`).join(', ')}</li>}
              </ul>
            )}
            <p class="muted">{shown.kind === 'rate' ? 'Rates per 100,000 population (config population file).' : 'Percentages of each segment\'s cases.'} Counts under {shown.suppressBelow} are shown as "&lt;{shown.suppressBelow}" and left out of the CSV, with the next smallest segment so the trust total does not give them away.</p>
          </section>
          <div class="chart-tools">
            <button type="button" class="btn btn-small" data-testid="equity-csv" onClick={() => { api.equityCsv(params).then((b) => saveBlob(b, `${fileSafe(`equity-${params.measure}-by-${params.by}`)}.csv`)).catch((e: unknown) => setError(problemText(e))); }}>
              Download data (CSV, small numbers left out)
            </button>
          </div>
          <ChartFigure name={`funnel-${shown.measure.id}-by-${shown.by}`} label="funnel plot" testid="funnel-figure">
            <FunnelPlot id="funnel" title={title} e={shown} />
          </ChartFigure>
          <EquityTable e={shown} />
        </>
      )}
    </>
  );
}
