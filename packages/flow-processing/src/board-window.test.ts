// The board window's rule on its own: a send function that records what it was asked to
// send, a clock the test moves, real timers for the window's end.
import { createLogger } from '@pfm/observability';
import { BoardWindow, type WardChange, type WardSend } from './board-window';

const logger = createLogger('board-window-test');
logger.level = 'silent';

function harness(windowMs: number, opts: { fail?: () => boolean } = {}) {
  let now = 1_000_000;
  const sent: { site: string; wards: WardSend[] }[] = [];
  const counts = { at_once: 0, window_end: 0, merged: 0 };
  const w = new BoardWindow({
    windowMs, logger, now: () => now,
    headersFor: (id): Record<string, string> => (id ? { traceparent: `tp-${id}` } : {}),
    send: async (site, wards) => {
      if (opts.fail?.()) throw new Error('broker down');
      sent.push({ site, wards });
    },
    onCount: (how, n) => { counts[how] += n; },
  });
  const touch = (site: string, wards: string[], changes: Record<string, WardChange> = {}) =>
    w.offer(new Map([[site, new Set(wards)]]), new Map(Object.entries(changes).map(([ward, c]) => [`${site}/${ward}`, c])));
  const change = (eventId: string): WardChange => ({ eventId, type: 'patient.admitted' });
  return { w, sent, counts, touch, change, advance: (ms: number) => { now += ms; } };
}

const until = async (cond: () => boolean) => {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  if (!cond()) throw new Error('condition not met within 1 s');
};

describe('BoardWindow', () => {
  it('sends a quiet ward at once, with its change and that change\'s trace headers', async () => {
    const h = harness(100);
    await h.touch('RXT', ['OAK'], { OAK: h.change('e1') });
    expect(h.sent).toEqual([{ site: 'RXT', wards: [{ ward: 'OAK', change: h.change('e1'), headers: { traceparent: 'tp-e1' } }] }]);
    expect(h.w.heldCount).toBe(0);
  });

  it('holds a ward touched again inside the window and sends it once at the end with the newest change', async () => {
    const h = harness(40);
    await h.touch('RXT', ['OAK'], { OAK: h.change('e1') });
    h.advance(10);
    await h.touch('RXT', ['OAK'], { OAK: h.change('e2') });
    await h.touch('RXT', ['OAK'], { OAK: h.change('e3') });
    await h.touch('RXT', ['OAK']); // touched by an alert: no change of its own, e3 stays
    expect(h.sent).toHaveLength(1);
    expect(h.w.heldCount).toBe(1);
    h.advance(30);
    await until(() => h.sent.length === 2);
    expect(h.sent[1]).toEqual({ site: 'RXT', wards: [{ ward: 'OAK', change: h.change('e3'), headers: { traceparent: 'tp-e3' } }] });
    expect(h.counts).toEqual({ at_once: 1, window_end: 1, merged: 2 });
    expect(h.w.heldCount).toBe(0);
  });

  it('keeps wards apart: one ward held does not hold another', async () => {
    const h = harness(1000);
    await h.touch('RXT', ['OAK']);
    await h.touch('RXT', ['OAK', 'ELM']);
    await h.touch('RYY', ['OAK']);
    expect(h.sent.map((s) => [s.site, s.wards.map((w) => w.ward)])).toEqual([['RXT', ['OAK']], ['RXT', ['ELM']], ['RYY', ['OAK']]]);
    expect(h.w.heldCount).toBe(1);
    await h.w.flush();
    expect(h.sent.at(-1)).toEqual({ site: 'RXT', wards: [{ ward: 'OAK', change: undefined, headers: {} }] });
  });

  it('sends a ward at once again once the window has passed', async () => {
    const h = harness(100);
    await h.touch('RXT', ['OAK']);
    h.advance(100);
    await h.touch('RXT', ['OAK'], { OAK: h.change('e2') });
    expect(h.sent).toHaveLength(2);
    expect(h.counts.at_once).toBe(2);
  });

  it('with a window of 0 sends every ward with every batch', async () => {
    const h = harness(0);
    for (let i = 0; i < 3; i++) await h.touch('RXT', ['OAK'], { OAK: h.change(`e${i}`) });
    expect(h.sent.map((s) => s.wards[0]!.change!.eventId)).toEqual(['e0', 'e1', 'e2']);
  });

  it('flush sends everything held at once (stop loses nothing held)', async () => {
    const h = harness(60_000);
    await h.touch('RXT', ['OAK', 'ELM']);
    await h.touch('RXT', ['OAK', 'ELM'], { OAK: h.change('o2'), ELM: h.change('e2') });
    expect(h.sent).toHaveLength(1);
    await h.w.flush();
    expect(h.sent[1]!.wards.map((w) => [w.ward, w.change?.eventId])).toEqual([['ELM', 'e2'], ['OAK', 'o2']]);
    expect(h.w.heldCount).toBe(0);
  });

  it('a window-end send that fails is held again and sent at the next window', async () => {
    let failing = true;
    const h = harness(30, { fail: () => failing && h.sent.length === 1 });
    await h.touch('RXT', ['OAK']);
    await h.touch('RXT', ['OAK'], { OAK: h.change('e2') });
    h.advance(30);
    // The first try at the window's end fails; the ward is held again.
    await until(() => h.w.heldCount === 1 && h.counts.window_end === 0 && h.sent.length === 1);
    await new Promise((r) => setTimeout(r, 40));
    expect(h.sent).toHaveLength(1);
    failing = false;
    h.advance(30);
    await until(() => h.sent.length === 2);
    expect(h.sent[1]!.wards[0]!.change?.eventId).toBe('e2');
  });

  it('an at-once send that fails throws to the caller (its batch is retried)', async () => {
    const h = harness(100, { fail: () => true });
    await expect(h.touch('RXT', ['OAK'])).rejects.toThrow('broker down');
  });
});
