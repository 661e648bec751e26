// Hash routes: #/site, #/ward/<code>, #/alerts[?team=..&rule=..], #/replay,
// #/insights[?measure=..&period=..&by=..&site=..&ward=..&wardType=..&from=..&to=..&rebaseAt=..],
// #/equity[?measure=..&by=..&site=..&ward=..&wardType=..&from=..&to=..], #/learning,
// #/report?month=YYYY-MM&site=S (the monthly board report, printable).
import { query, type InsightsParams } from './insights/api';

const INSIGHTS_KEYS: (keyof InsightsParams)[] = ['measure', 'period', 'by', 'site', 'ward', 'wardType', 'from', 'to', 'rebaseAt'];

export type Route =
  | { view: 'site' }
  | { view: 'ward'; ward: string }
  | { view: 'alerts'; team: string | null; rule: string | null }
  | { view: 'replay' }
  | { view: 'insights' | 'equity'; params: Partial<InsightsParams> }
  | { view: 'learning' }
  | { view: 'report'; month: string; site: string };

function insightsParams(q: URLSearchParams): Partial<InsightsParams> {
  const out: Record<string, string> = {};
  for (const k of INSIGHTS_KEYS) {
    const v = q.get(k);
    if (v) out[k] = v.slice(0, 80);
  }
  if (out.period && out.period !== 'week' && out.period !== 'month') delete out.period;
  return out as Partial<InsightsParams>;
}

export function parseRoute(hash: string): Route {
  const raw = hash.replace(/^#\/?/, '');
  const [path = '', query = ''] = raw.split('?', 2);
  const parts = path.split('/').filter(Boolean).map((p) => {
    try { return decodeURIComponent(p); } catch { return p; }
  });
  const q = new URLSearchParams(query);
  switch (parts[0]) {
    case 'ward':
      return parts[1] ? { view: 'ward', ward: parts[1] } : { view: 'site' };
    case 'alerts':
      return { view: 'alerts', team: q.get('team') || null, rule: q.get('rule') || null };
    case 'replay':
      return { view: 'replay' };
    case 'insights':
    case 'equity':
      return { view: parts[0], params: insightsParams(q) };
    case 'learning':
      return { view: 'learning' };
    case 'report': {
      const month = q.get('month') ?? '';
      return { view: 'report', month: /^\d{4}-(0[1-9]|1[0-2])$/.test(month) ? month : '', site: (q.get('site') ?? '').slice(0, 16) };
    }
    default:
      return { view: 'site' };
  }
}

export function routeHref(r: Route): string {
  switch (r.view) {
    case 'site': return '#/site';
    case 'ward': return `#/ward/${encodeURIComponent(r.ward)}`;
    case 'replay': return '#/replay';
    case 'learning': return '#/learning';
    case 'report': {
      const qs = query({ month: r.month, site: r.site });
      return `#/report${qs ? `?${qs}` : ''}`;
    }
    case 'insights':
    case 'equity': {
      const qs = query(r.params);
      return `#/${r.view}${qs ? `?${qs}` : ''}`;
    }
    case 'alerts': {
      const q = new URLSearchParams();
      if (r.team) q.set('team', r.team);
      if (r.rule) q.set('rule', r.rule);
      const qs = q.toString();
      return `#/alerts${qs ? `?${qs}` : ''}`;
    }
  }
}
