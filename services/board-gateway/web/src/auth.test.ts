// Where the board link's token travels: in the fragment (never sent to a server, so never
// in a request log), taken into this tab's sessionStorage and off the address bar.
// Run with `pnpm --filter @pfm/board-web test`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { boardLink, takeToken } from './auth';
import { parseRoute } from './route';

/** The address bar and this tab's storage, as the browser keeps them. */
function tab(href: string) {
  const url = new URL(href);
  const data = new Map<string, string>();
  const store = { getItem: (k: string) => data.get(k) ?? null, setItem: (k: string, v: string) => { data.set(k, v); }, removeItem: (k: string) => { data.delete(k); } } as unknown as Storage;
  let shown = href;
  const hist = { state: null, replaceState: (_s: unknown, _t: string, to: string) => { shown = new URL(to, url).href; } } as unknown as History;
  return { loc: url as unknown as Location, store, hist, shown: () => shown, data };
}

test('the link puts the token in the fragment, after the route and its own parameters', () => {
  const link = boardLink('http://127.0.0.1:3000', 'a.b.c', '#/alerts?team=CRHT-N');
  const url = new URL(link);
  assert.equal(url.search, '');
  assert.equal(url.hash, '#/alerts?team=CRHT-N&token=a.b.c');
  // What a server or proxy would see of it: the path only.
  assert.equal(`${url.pathname}${url.search}`, '/');
  assert.deepEqual(parseRoute(url.hash), { view: 'alerts', team: 'CRHT-N', rule: null });
});

test('the app takes the token from the fragment into this tab and off the address bar, keeping the route', () => {
  const t = tab('http://127.0.0.1:3000/#/alerts?team=CRHT-N&token=a.b.c');
  assert.equal(takeToken(t.loc, t.store, t.hist), 'a.b.c');
  assert.equal(t.shown(), 'http://127.0.0.1:3000/#/alerts?team=CRHT-N');
  assert.equal(t.data.get('pfm.board.token'), 'a.b.c');
});

test('an older link (?token= in the query) still opens, and the token leaves the address bar', () => {
  const t = tab('http://127.0.0.1:3000/?token=x.y.z#/site');
  assert.equal(takeToken(t.loc, t.store, t.hist), 'x.y.z');
  assert.equal(t.shown(), 'http://127.0.0.1:3000/#/site');
});

test('without a token in the link, the tab\'s stored token is used; an empty one changes nothing', () => {
  const t = tab('http://127.0.0.1:3000/#/site');
  assert.equal(takeToken(t.loc, t.store, t.hist), null);
  t.data.set('pfm.board.token', 'kept');
  assert.equal(takeToken(t.loc, t.store, t.hist), 'kept');
  const e = tab('http://127.0.0.1:3000/#/site?token=');
  e.data.set('pfm.board.token', 'kept');
  assert.equal(takeToken(e.loc, e.store, e.hist), 'kept');
  assert.equal(e.shown(), 'http://127.0.0.1:3000/#/site');
});
