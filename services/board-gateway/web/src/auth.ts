// The board link carries its token in the fragment (`/#/site?token=...`): browsers never
// send the fragment, so the token stays out of the gateway's, proxies' and load balancers'
// request logs. The app keeps it in sessionStorage (this tab only, gone when the tab
// closes) and removes it from the address bar so it is not left in history, bookmarks or
// screenshots. Links of the older form (`/?token=...#/site`) still open, the same way.

const KEY = 'pfm.board.token';

/** A fragment route split at its query: "#/alerts?team=X" -> ["/alerts", "team=X"]. */
function splitHash(hash: string): [string, string] {
  const raw = hash.replace(/^#/, '');
  const i = raw.indexOf('?');
  return i < 0 ? [raw, ''] : [raw.slice(0, i), raw.slice(i + 1)];
}

export function takeToken(loc: Location = window.location, store: Storage = window.sessionStorage, hist: History = window.history): string | null {
  const [route, hashQuery] = splitHash(loc.hash);
  const inHash = new URLSearchParams(hashQuery);
  const inSearch = new URLSearchParams(loc.search);
  const fromUrl = inHash.get('token') ?? inSearch.get('token');
  if (inHash.has('token') || inSearch.has('token')) {
    inHash.delete('token');
    inSearch.delete('token');
    const qs = inSearch.toString();
    const hq = inHash.toString();
    const hash = route || hq ? `#${route}${hq ? `?${hq}` : ''}` : '';
    hist.replaceState(hist.state, '', `${loc.pathname}${qs ? `?${qs}` : ''}${hash}`);
  }
  if (fromUrl !== null && fromUrl.trim()) {
    store.setItem(KEY, fromUrl.trim());
    return fromUrl.trim();
  }
  return store.getItem(KEY);
}

/** The board link for a token: the token in the fragment, after the route's own parameters. */
export function boardLink(origin: string, token: string, route = '#/site'): string {
  const [path, query] = splitHash(route);
  const q = new URLSearchParams(query);
  q.set('token', token);
  return `${origin}/#${path}?${q.toString()}`;
}

export function forgetToken(store: Storage = window.sessionStorage): void {
  store.removeItem(KEY);
}
