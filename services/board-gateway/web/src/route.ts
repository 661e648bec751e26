// Hash routes: #/site, #/ward/<code>, #/alerts[?team=..&rule=..], #/replay.

export type Route =
  | { view: 'site' }
  | { view: 'ward'; ward: string }
  | { view: 'alerts'; team: string | null; rule: string | null }
  | { view: 'replay' };

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
    default:
      return { view: 'site' };
  }
}

export function routeHref(r: Route): string {
  switch (r.view) {
    case 'site': return '#/site';
    case 'ward': return `#/ward/${encodeURIComponent(r.ward)}`;
    case 'replay': return '#/replay';
    case 'alerts': {
      const q = new URLSearchParams();
      if (r.team) q.set('team', r.team);
      if (r.rule) q.set('rule', r.rule);
      const qs = q.toString();
      return `#/alerts${qs ? `?${qs}` : ''}`;
    }
  }
}
