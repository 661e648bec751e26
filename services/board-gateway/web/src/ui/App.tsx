// The application shell: token check, the live board's lifecycle, hash routing, the
// always-visible header (views, connection state, last updated, display options) and
// the polite live region for new alerts.
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { Api } from '../api';
import { forgetToken, takeToken } from '../auth';
import { formatHms } from '../format';
import { LiveBoard, type BoardState, type ConnectionState } from '../live';
import { applyPrefs, loadPrefs, savePrefs, type Prefs } from '../prefs';
import { parseRoute, routeHref, type Route } from '../route';
import { AlertFeed } from './AlertFeed';
import { AuthErrorPage } from './AuthError';
import { EscalationNotices } from './Escalations';
import { CONNECTION_SHAPES, Icon } from './icons';
import { InsightsApp } from './insights/InsightsApp';
import { tokenRole } from '../insights/logic';
import { ReplayView } from './Replay';
import { SiteBoard } from './SiteBoard';
import { WardBoard } from './WardBoard';

/** Roles with a live board; an analyst's token opens only the insights pages. */
const BOARD_ROLES = ['bed_manager', 'ward', 'crisis_team', 'ops'];
const INSIGHTS_ROLES = ['analyst', 'bed_manager', 'ops', 'ward'];

export function App() {
  const [token] = useState(() => takeToken());
  if (!token) return <AuthErrorPage />;
  return <Shell token={token} />;
}

function Shell({ token }: { token: string }) {
  const role = tokenRole(token);
  const boards = role === null || BOARD_ROLES.includes(role);
  const [route, navigate] = useRoute(boards ? { view: 'site' } : { view: 'insights', params: {} });
  if (route.view === 'insights' || route.view === 'equity' || route.view === 'report' || route.view === 'learning' || !boards) {
    const r = route.view === 'insights' || route.view === 'equity' || route.view === 'report' || route.view === 'learning' ? route : { view: 'insights' as const, params: {} };
    return <InsightsApp token={token} route={r} navigate={navigate} boards={boards} />;
  }
  return <Board token={token} route={route} navigate={navigate} insights={role !== null && INSIGHTS_ROLES.includes(role)} />;
}

const CONNECTION_TEXT: Record<ConnectionState, string> = {
  connecting: 'Connecting',
  live: 'Live',
  reconnecting: 'Reconnecting',
  offline: 'Offline',
};

function useRoute(home: Route): [Route, (r: Route, replace?: boolean) => void] {
  const [route, setRoute] = useState<Route>(() => (window.location.hash.length > 2 ? parseRoute(window.location.hash) : home));
  useEffect(() => {
    if (!/^#\/(site|ward\/.+|alerts|replay|insights|equity|report|learning)/.test(window.location.hash)) {
      window.history.replaceState(window.history.state, '', routeHref(window.location.hash.length > 2 ? parseRoute(window.location.hash) : home));
    }
    const on = () => setRoute(parseRoute(window.location.hash));
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  const navigate = (r: Route, replace = false) => {
    const href = routeHref(r);
    if (replace) {
      window.history.replaceState(window.history.state, '', href);
      setRoute(parseRoute(href));
    } else window.location.hash = href;
  };
  return [route, navigate];
}

function Board({ token, route, navigate, insights }: { token: string; route: Route; navigate: (r: Route, replace?: boolean) => void; insights: boolean }) {
  const board = useMemo(() => new LiveBoard(new Api(token), token), [token]);
  const [state, setState] = useState<BoardState>(board.state);
  const [now, setNow] = useState(() => Date.now());
  const [prefs, setPrefs] = useState<Prefs>(() => loadPrefs());
  const mainRef = useRef<HTMLElement>(null);
  const firstView = useRef(true);

  useEffect(() => {
    const off = board.subscribe(() => setState(board.state));
    board.start();
    return () => { off(); board.stop(); };
  }, [board]);

  useEffect(() => { applyPrefs(prefs); savePrefs(prefs); }, [prefs]);

  useEffect(() => {
    const t = window.setInterval(() => setNow(Date.now()), 15_000);
    return () => window.clearInterval(t);
  }, []);

  const wardInView = route.view === 'ward' ? route.ward : null;
  useEffect(() => { board.setWardRoom(wardInView); }, [board, wardInView]);

  // Move focus to the new view's heading when the view changes (not on filter changes).
  const viewKey = route.view === 'ward' ? `ward:${route.ward}` : route.view;
  useEffect(() => {
    if (firstView.current) { firstView.current = false; return; }
    mainRef.current?.querySelector<HTMLElement>('.view-title')?.focus();
  }, [viewKey]);

  const title = route.view === 'ward' ? `Ward ${state.wards.get(route.ward)?.name ?? route.ward}` : route.view === 'alerts' ? 'Crisis alerts' : route.view === 'replay' ? 'Replay' : 'Site flow board';
  useEffect(() => { document.title = `${title} — Patient Flow Monitor`; }, [title]);

  if (state.authFailed) {
    forgetToken();
    document.title = 'Link not valid — Patient Flow Monitor';
    return <AuthErrorPage />;
  }

  const alerts = [...state.alerts.values()];
  const openAlerts = alerts.filter((a) => !a.acknowledged).length;
  const missed = alerts.filter((a) => a.rule === 'followup_missed' && !a.acknowledged).length;
  const current = (v: Route['view'][]) => (v.includes(route.view) ? 'page' : undefined);

  return (
    <>
      <a
        class="skip-link"
        href="#main"
        onClick={(e) => { e.preventDefault(); mainRef.current?.querySelector<HTMLElement>('.view-title')?.focus(); }}
      >
        Skip to main content
      </a>
      <header class="topbar">
        <p class="brand">
          <span class="brand-name">Patient Flow Monitor</span>
          {state.site && <span class="brand-site" data-testid="site-name">{state.site}</span>}
        </p>
        <nav aria-label="Views" class="views">
          <ul>
            <li><a href={routeHref({ view: 'site' })} aria-current={current(['site', 'ward'])}>Site board</a></li>
            <li>
              <a href={routeHref({ view: 'alerts', team: null, rule: null })} aria-current={current(['alerts'])}>
                Alerts <span class="count-pill" data-testid="alert-open-count">{openAlerts}</span>
                <span class="visually-hidden"> not acknowledged</span>
                {missed > 0 && (
                  <span class="count-pill pill-critical" data-testid="missed-count">
                    <Icon shape="octagon" /> {missed}<span class="visually-hidden"> missed 72-hour follow-ups</span>
                  </span>
                )}
              </a>
            </li>
            <li><a href={routeHref({ view: 'replay' })} aria-current={current(['replay'])}>Replay</a></li>
            {insights && <li><a href={routeHref({ view: 'insights', params: {} })}>Insights</a></li>}
            {insights && <li><a href={routeHref({ view: 'learning' })}>Learning log</a></li>}
          </ul>
        </nav>
        <div class="status">
          <p class={`connection conn-${state.connection}`} data-testid="connection" data-state={state.connection} role="status">
            <Icon shape={CONNECTION_SHAPES[state.connection]} />
            <span>{CONNECTION_TEXT[state.connection]}</span>
          </p>
          <p class="last-updated">
            <span class="muted">Last updated</span>{' '}
            {state.lastUpdated ? (
              <time data-testid="last-updated" dateTime={new Date(state.lastUpdated).toISOString()}>{formatHms(state.lastUpdated)}</time>
            ) : (
              <span data-testid="last-updated">not yet</span>
            )}
          </p>
          <div class="prefs" role="group" aria-label="Display">
            <button type="button" class="btn btn-small" aria-pressed={prefs.theme === 'dark'} onClick={() => setPrefs({ ...prefs, theme: prefs.theme === 'dark' ? 'light' : 'dark' })} data-testid="toggle-theme">
              Dark theme
            </button>
            <button type="button" class="btn btn-small" aria-pressed={prefs.size === 'large'} onClick={() => setPrefs({ ...prefs, size: prefs.size === 'large' ? 'normal' : 'large' })} data-testid="toggle-size">
              Large text
            </button>
          </div>
        </div>
      </header>
      {state.connection !== 'live' && state.lastUpdated !== null && (
        <div class="banner banner-stale" data-testid="stale-banner">
          <Icon shape="triangle" /> Not live: the figures below may be out of date (last updated {formatHms(state.lastUpdated)}).
        </div>
      )}
      {state.problem && (
        <div class="banner banner-problem" data-testid="problem">
          <Icon shape="triangle" /> {state.problem}
        </div>
      )}
      <EscalationNotices state={state} board={board} />
      <main id="main" ref={mainRef}>
        {route.view === 'site' && <SiteBoard state={state} now={now} />}
        {route.view === 'ward' && <WardBoard key={route.ward} state={state} ward={route.ward} board={board} now={now} />}
        {route.view === 'alerts' && <AlertFeed state={state} board={board} now={now} team={route.team} rule={route.rule} navigate={navigate} />}
        {route.view === 'replay' && <ReplayView token={token} />}
      </main>
      <div class="visually-hidden" role="status" aria-live="polite" aria-atomic="true" data-testid="alert-live-region">{state.announcement}</div>
    </>
  );
}
