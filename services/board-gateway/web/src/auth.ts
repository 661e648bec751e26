// The board link carries ?token=...; the app keeps it in sessionStorage (this tab
// only, gone when the tab closes) and removes it from the address bar so it is not
// left in history, bookmarks or screenshots.

const KEY = 'pfm.board.token';

export function takeToken(loc: Location = window.location, store: Storage = window.sessionStorage, hist: History = window.history): string | null {
  const params = new URLSearchParams(loc.search);
  const fromUrl = params.get('token');
  if (fromUrl !== null) {
    params.delete('token');
    const qs = params.toString();
    hist.replaceState(hist.state, '', `${loc.pathname}${qs ? `?${qs}` : ''}${loc.hash}`);
    if (fromUrl.trim()) {
      store.setItem(KEY, fromUrl.trim());
      return fromUrl.trim();
    }
  }
  return store.getItem(KEY);
}

export function forgetToken(store: Storage = window.sessionStorage): void {
  store.removeItem(KEY);
}
