// The shell of the insights pages (#/insights, #/equity): no live board connection, so
// an analyst's token (which no board door accepts) works here. Reads the catalogue and
// the reader's scope once; the views share it.
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { AuthError } from '../../api';
import { InsightsApi, type Catalogue, type InsightsParams } from '../../insights/api';
import { routeHref, type Route } from '../../route';
import { AuthErrorPage } from '../AuthError';
import { Icon } from '../icons';
import { lastMonth } from '../../insights/report';
import { EquityView } from './EquityView';
import { ReportView } from './report/ReportView';
import { InsightsView, problemText } from './InsightsView';
import { tokenRole } from '../../insights/logic';
import { LearningLog } from '../LearningLog';

export type InsightsRoute = Extract<Route, { view: 'insights' | 'equity' | 'report' | 'learning' }>;

export function InsightsApp({ token, route, navigate, boards }: { token: string; route: InsightsRoute; navigate: (r: Route, replace?: boolean) => void; boards: boolean }) {
  const api = useMemo(() => new InsightsApi(token), [token]);
  const [catalogue, setCatalogue] = useState<Catalogue | null>(null);
  const [problem, setProblem] = useState<unknown>(null);
  const mainRef = useRef<HTMLElement>(null);
  const first = useRef(true);

  useEffect(() => {
    const ac = new AbortController();
    api.catalogue(ac.signal).then(setCatalogue).catch((e: unknown) => { if (!ac.signal.aborted) setProblem(e); });
    return () => ac.abort();
  }, [api]);

  useEffect(() => {
    document.title = `${route.view === 'equity' ? 'Equity' : route.view === 'report' ? 'Board report' : route.view === 'learning' ? 'Learning log' : 'Insights'} — Patient Flow Monitor`;
    if (first.current) { first.current = false; return; }
    mainRef.current?.querySelector<HTMLElement>('.view-title')?.focus();
  }, [route.view]);

  if (problem instanceof AuthError) return <AuthErrorPage />;
  const setParams = (params: Partial<InsightsParams>) => navigate({ view: route.view === 'equity' ? 'equity' : 'insights', params }, true);
  const current = (v: string) => (route.view === v ? 'page' : undefined);
  return (
    <>
      <a class="skip-link" href="#main" onClick={(e) => { e.preventDefault(); mainRef.current?.querySelector<HTMLElement>('.view-title')?.focus(); }}>Skip to main content</a>
      <header class="topbar">
        <p class="brand">
          <span class="brand-name">Patient Flow Monitor</span>
          {catalogue && <span class="brand-site" data-testid="site-name">{catalogue.scope.sites.join(', ')}</span>}
        </p>
        <nav aria-label="Views" class="views">
          <ul>
            {boards && <li><a href={routeHref({ view: 'site' })}>Site board</a></li>}
            <li><a href={routeHref({ view: 'insights', params: {} })} aria-current={current('insights')}>Insights</a></li>
            <li><a href={routeHref({ view: 'equity', params: {} })} aria-current={current('equity')}>Equity</a></li>
            <li><a href={routeHref({ view: 'report', month: '', site: '' })} aria-current={current('report')}>Board report</a></li>
            <li><a href={routeHref({ view: 'learning' })} aria-current={current('learning')}>Learning log</a></li>
          </ul>
        </nav>
      </header>
      <main id="main" ref={mainRef} class="insights-main">
        {problem !== null ? (
          <p class="banner banner-problem" data-testid="insights-error"><Icon shape="triangle" /> {problemText(problem)}</p>
        ) : !catalogue ? (
          <p class="loading" role="status">Reading the measures catalogue…</p>
        ) : route.view === 'learning' ? (
          <LearningLog token={token} catalogue={catalogue} role={tokenRole(token)} />
        ) : route.view === 'report' ? (
          <>
            <form class="insights-controls no-print" aria-label="Report choices" onSubmit={(e) => e.preventDefault()}>
              <p class="control"><label for="report-month">Month</label>
                <input id="report-month" type="month" value={route.month || lastMonth(Date.now())} onChange={(e) => navigate({ view: 'report', month: e.currentTarget.value, site: route.site }, true)} /></p>
              {catalogue.scope.sites.length > 1 && (
                <p class="control"><label for="report-site">Site</label>
                  <select id="report-site" value={route.site || catalogue.scope.sites[0]} onChange={(e) => navigate({ view: 'report', month: route.month, site: e.currentTarget.value }, true)}>
                    {catalogue.scope.sites.map((x) => <option key={x} value={x}>{x}</option>)}
                  </select></p>
              )}
            </form>
            <ReportView api={api} catalogue={catalogue} month={route.month || lastMonth(Date.now())} site={route.site || catalogue.scope.sites[0]!} />
          </>
        ) : route.view === 'equity' ? (
          <EquityView api={api} catalogue={catalogue} params={route.params} setParams={setParams} />
        ) : (
          <InsightsView api={api} catalogue={catalogue} params={route.params} setParams={setParams} />
        )}
      </main>
    </>
  );
}
