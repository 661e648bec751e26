// The Insights view: one measure from the catalogue by period, in a scope, optionally
// segmented, as Making Data Count SPC charts (one, or small multiples on shared axes),
// the improvement notes on them, and the table of the same numbers. Charts download as
// SVG/PNG, the data as CSV.
import { useEffect, useState } from 'preact/hooks';
import { AuthError } from '../../api';
import type { Catalogue, ImprovementNote, InsightsApi, InsightsParams, SeriesResponse } from '../../insights/api';
import { ASSURANCE_TEXT, fileSafe, formatNumber, latestType, notesOnChart, segmentName, seriesCsv, sharedDates, sharedDomain, VARIATION_TEXT, variationIcon } from '../../insights/logic';
import { Icon } from '../icons';
import { ChartFigure } from './ChartFigure';
import { Controls } from './Controls';
import { saveCsv } from './download';
import { NotesList } from './NotesList';
import { SeriesTable } from './SeriesTable';
import { SpcChart } from './SpcChart';

export function insightsDefaults(c: Catalogue, p: Partial<InsightsParams>): InsightsParams {
  const measure = c.measures.find((m) => m.id === p.measure) ?? c.measures[0];
  return {
    measure: measure?.id ?? '', period: p.period ?? 'week', by: p.by && measure?.by.includes(p.by) ? p.by : '',
    site: p.site ?? '', ward: p.ward ?? '', wardType: p.wardType ?? '', from: p.from ?? '', to: p.to ?? '', rebaseAt: p.rebaseAt ?? '',
  };
}

export const problemText = (e: unknown): string =>
  e instanceof AuthError ? 'This link has expired or is not valid — ask for a new link.' : e instanceof Error ? e.message : String(e);

export function InsightsView({ api, catalogue, params: raw, setParams }: { api: InsightsApi; catalogue: Catalogue; params: Partial<InsightsParams>; setParams: (p: Partial<InsightsParams>) => void }) {
  const params = insightsDefaults(catalogue, raw);
  const [series, setSeries] = useState<SeriesResponse | null>(null);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [notes, setNotes] = useState<ImprovementNote[]>([]);
  const key = JSON.stringify(params);
  const noteSite = params.site || catalogue.scope.sites[0] || '';

  useEffect(() => {
    if (!params.measure) return undefined;
    const ac = new AbortController();
    setLoading(true);
    api.series(params, ac.signal).then((s) => { setSeries(s); setError(null); })
      .catch((e: unknown) => { if (!ac.signal.aborted) { setError(problemText(e)); setSeries(null); } })
      .finally(() => { if (!ac.signal.aborted) setLoading(false); });
    return () => ac.abort();
  }, [api, key]);

  useEffect(() => {
    const ac = new AbortController();
    api.improvements(noteSite, params.measure, ac.signal).then(setNotes).catch(() => { if (!ac.signal.aborted) setNotes([]); });
    return () => ac.abort();
  }, [api, noteSite, params.measure]);

  const update = (p: Partial<InsightsParams>) => setParams({ ...params, ...p });
  const measure = catalogue.measures.find((m) => m.id === params.measure);
  const shown = series && series.measure.id === params.measure ? series : null;
  const dates = shown ? sharedDates(shown.segments) : [];
  const domain = shown ? sharedDomain(shown.segments, shown.measure.target) : ([0, 1] as [number, number]);
  const onChart = shown ? notesOnChart(notes, shown.measure.id, dates) : [];
  const multiples = !!shown?.by;

  return (
    <>
      <h1 class="view-title" tabIndex={-1}>Insights</h1>
      <Controls catalogue={catalogue} measures={catalogue.measures} params={params} dimensions={measure?.by ?? []} allowNoSegment showPeriod onChange={update} idPrefix="ins" />
      {measure && (
        <section class="measure-about" aria-label="About this measure">
          <p><strong>{measure.name}</strong> <span class="muted">({measure.unit}; {measure.direction === 'neutral' ? 'neither direction is better' : `${measure.direction === 'increase' ? 'higher' : 'lower'} is better`}{measure.target !== undefined ? `; target ${formatNumber(measure.target)}` : ''})</span></p>
          <p class="muted">{measure.definition} Numerator: {measure.numerator}.{measure.denominator ? ` Denominator: ${measure.denominator}.` : ''}</p>
        </section>
      )}
      <p class="visually-hidden" role="status" aria-live="polite">{loading ? 'Loading the chart…' : shown ? `Chart of ${shown.measure.name} loaded: ${shown.segments.length} ${shown.segments.length === 1 ? 'series' : 'segments'}.` : ''}</p>
      {error && <p class="banner banner-problem" data-testid="insights-error"><Icon shape="triangle" /> {error}</p>}
      {params.rebaseAt && (
        <p class="banner banner-info" data-testid="rebased">
          Limits recalculated from {params.rebaseAt} (a new phase). <button type="button" class="btn btn-small" onClick={() => update({ rebaseAt: '' })}>Remove rebase</button>
        </p>
      )}
      {loading && !shown && <p class="loading">Loading…</p>}
      {shown && shown.segments.length === 0 && <p class="empty" data-testid="insights-empty">No data for this choice in your scope.</p>}
      {shown && shown.segments.length > 0 && (
        <>
          <div class="chart-tools">
            <button type="button" class="btn btn-small" data-testid="download-csv" onClick={() => saveCsv(seriesCsv(shown), fileSafe(`${shown.measure.id}-${shown.period}${shown.by ? `-by-${shown.by}` : ''}`))}>
              Download data (CSV)
            </button>
            {multiples && <span class="muted">{shown.segments.length} segments by {segmentName(shown.by!).toLowerCase()}, on the same axes</span>}
          </div>
          <ul class={multiples ? 'multiples' : 'single-chart'} data-testid="charts">
            {shown.segments.map((s, i) => {
              const icon = variationIcon(latestType(s), shown.measure.direction);
              const label = multiples ? `${s.segment ?? 'not known'}` : shown.measure.name;
              return (
                <li key={s.segment ?? '-'}>
                  <ChartFigure name={`${shown.measure.id}-${s.segment ?? 'all'}`} label={label} testid="chart-figure" caption={
                    <span class="chart-caption" data-testid="chart-caption">
                      {multiples && <strong>{label}: </strong>}
                      <span data-testid="variation-text">{VARIATION_TEXT[icon]}</span>
                      {s.assurance && <span data-testid="assurance-text">. {ASSURANCE_TEXT[s.assurance]}</span>}
                    </span>
                  }>
                    <SpcChart id={`spc-${i}`} title={multiples ? label : `${shown.measure.name}${params.ward ? `, ward ${params.ward}` : params.wardType ? `, ${params.wardType.replace(/_/g, ' ')}` : ''}`} measure={shown.measure} segment={s} dates={dates} domain={domain} notes={onChart} small={multiples} />
                  </ChartFigure>
                </li>
              );
            })}
          </ul>
          <NotesList notes={onChart} measure={shown.measure.id} rebaseAt={params.rebaseAt} onRebase={(d) => update({ rebaseAt: d })} />
          <SeriesTable series={shown} />
        </>
      )}
    </>
  );
}
