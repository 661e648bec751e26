// The monthly board report (#/report?month=YYYY-MM&site=S): one printable page set for
// a trust board or a GIRFT review, made of the Insights view's own components, so the
// screen, "Print / save as PDF" and `./pfm report` (headless Chromium, page.pdf) agree.
// Sections: key measures as SPC charts with icons, equity flagged segments, CRFD delays
// by reason, out-of-area placement bed days, the month's improvement notes and outcomes.
// Sets data-ready="true" on the report once every read has settled (the PDF waits for it).
import { useEffect, useState } from 'preact/hooks';
import type { Catalogue, EquityResponse, ImprovementNote, InsightsApi, SeriesResponse } from '../../../insights/api';
import { monthName, REPORT_EQUITY, REPORT_MEASURES, reportDates } from '../../../insights/report';
import { ReportCharts } from './ReportCharts';
import { ReportCrfd } from './ReportCrfd';
import { ReportEquity } from './ReportEquity';
import { ReportNotes } from './ReportNotes';

export interface ReportData {
  charts: SeriesResponse[];
  equity: { measure: string; by: string; result: EquityResponse | null; problem: string | null }[];
  crfd: SeriesResponse | null;
  oap: SeriesResponse | null;
  notes: ImprovementNote[];
  problems: string[];
}

const why = (e: unknown) => (e instanceof Error ? e.message : String(e));

async function load(api: InsightsApi, catalogue: Catalogue, month: string, site: string): Promise<ReportData> {
  const d = reportDates(month);
  const base = { site, ward: '', wardType: '', rebaseAt: '', by: '' };
  const have = new Set(catalogue.measures.map((m) => m.id));
  const measures = REPORT_MEASURES.filter((m) => have.has(m));
  const [charts, equity, crfd, oap, notes] = await Promise.all([
    Promise.allSettled(measures.map((measure) => api.series({ ...base, measure, period: 'week', from: d.chartsFrom, to: d.next }))),
    Promise.all(REPORT_EQUITY.filter(([m]) => have.has(m)).map(async ([measure, by]) => {
      try { return { measure, by, result: await api.equity({ ...base, measure, by, period: 'month', from: d.equityFrom, to: d.next }), problem: null }; }
      catch (e) { return { measure, by, result: null, problem: why(e) }; }
    })),
    api.series({ ...base, measure: 'crfd_bed_days', by: 'crfd_reason', period: 'month', from: d.start, to: d.next }).catch(() => null),
    api.series({ ...base, measure: 'oap_bed_days', by: 'ward', period: 'month', from: d.start, to: d.next }).catch(() => null),
    api.improvements(site, '').catch(() => [] as ImprovementNote[]),
  ]);
  return {
    charts: charts.flatMap((c) => (c.status === 'fulfilled' ? [c.value] : [])),
    problems: charts.flatMap((c, i) => (c.status === 'rejected' ? [`${measures[i]}: ${why(c.reason)}`] : [])),
    equity, crfd, oap,
    notes: notes.filter((n) => n.effectiveDate >= d.start && n.effectiveDate < d.next),
  };
}

export function ReportView({ api, catalogue, month, site }: { api: InsightsApi; catalogue: Catalogue; month: string; site: string }) {
  const [data, setData] = useState<ReportData | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  useEffect(() => {
    setData(null);
    load(api, catalogue, month, site).then(setData).catch((e: unknown) => setProblem(why(e)));
  }, [api, catalogue, month, site]);
  const d = reportDates(month);
  return (
    <article class="report" data-testid="report" data-ready={data || problem ? 'true' : 'false'}>
      <header class="report-head">
        <h1 class="view-title" tabIndex={-1}>Flow report: {site}, {monthName(month)}</h1>
        <p class="muted">Patient Flow Monitor monthly board report. Charts: weekly, {d.chartsFrom} to {d.next} (exclusive), Making Data Count SPC. Equity: the 12 months to {d.next}. Delays and out-of-area bed days: {monthName(month)}.</p>
        <p class="no-print"><button type="button" class="btn" onClick={() => window.print()}>Print or save as PDF</button></p>
      </header>
      {problem && <p class="banner banner-problem">{problem}</p>}
      {!data && !problem && <p class="loading" role="status">Reading the month's figures…</p>}
      {data && (
        <>
          <ReportCharts charts={data.charts} problems={data.problems} />
          <ReportEquity items={data.equity} />
          <ReportCrfd crfd={data.crfd} oap={data.oap} month={monthName(month)} />
          <ReportNotes notes={data.notes} month={monthName(month)} />
        </>
      )}
    </article>
  );
}
