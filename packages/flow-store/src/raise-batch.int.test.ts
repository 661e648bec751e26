/** @pfm-stack redis */
// A page of fired clocks raised in one script call (raiseAlerts-1.lua) against the same
// clocks raised one by one (raiseAlert-1.lua), on the real Redis: the same state (every
// key), the same outbox entries in the same order and the same answers, with alerts
// raised before, clocks already removed, clocks moved past the scan time, every kind of
// scope and both escalating and non-escalating severities; scanners racing on one site
// raise each alert once; and a sandbox without outputs writes no outbox, nothing else
// changed, while no other prefix can leave its outbox out.
import Redis from 'ioredis';
import type { Alert } from '@pfm/contracts';
import { DEFAULT_THRESHOLDS } from '@pfm/flow-domain';
import { requireReachable, stackEnv, uniqueName } from '@pfm/testkit';
import { FlowStore, Keys, WardRegistry } from './index';

const T0 = Date.parse('2026-03-01T00:00:00Z');
const HOUR = 3_600_000;
const registry = new WardRegistry([{ site: 'RXT', code: 'W12', name: 'Oak Ward', type: 'adult_acute', beds: 10 }]);

/** Alert i of the fixture: wards, teams and the site as scope; info, warning and critical (which escalates). */
function alertOf(i: number): Alert {
  const severity = (['info', 'warning', 'critical'] as const)[i % 3]!;
  const place = i % 4 === 0 ? { team: 'CRISIS' } : i % 4 === 1 ? {} : { ward: i % 2 ? 'W12' : 'W14' };
  return {
    alertId: `stranded:RXT:P${i}:S${i}:7d`, rule: 'stranded', severity, threshold: { value: 7, unit: 'days' }, source: 't', message: `m${i}`,
    site: 'RXT', patientId: `P${i}`, spellId: `S${i}`, becameTrueAt: T0 + i * HOUR, raisedAt: T0 + i * HOUR, ...place,
  };
}

const SCAN = T0 + 100 * HOUR;
const N = 40;

describe('raising a page of fired clocks in one call', () => {
  let redis: Redis;
  const stores: FlowStore[] = [];
  beforeAll(async () => {
    await requireReachable('Redis', stackEnv().redisUrl);
    redis = new Redis(stackEnv().redisUrl);
  });
  afterAll(async () => {
    for (const s of stores) await s.clear();
    redis.disconnect();
  });
  const storeUnder = (prefix: string, opts: { alertOutbox?: boolean } = {}) => {
    const s = new FlowStore(redis, new Keys(prefix, opts), registry, DEFAULT_THRESHOLDS);
    stores.push(s);
    return s;
  };
  const newStore = (opts: { alertOutbox?: boolean; sandbox?: boolean } = {}) => storeUnder(`${opts.sandbox ? 'sbx.' : ''}${uniqueName('raisepage').replace(/-/g, '_')}`, { alertOutbox: opts.alertOutbox });

  /** Every key of a store, its prefix removed; the outbox stream's alerts in order. */
  const state = async (s: FlowStore) => {
    const dump = Object.fromEntries(Object.entries(await s.dump()).map(([k, v]) => [k.slice(s.keys.prefix.length), v]));
    const entries = await redis.xrange(s.keys.alertOutbox('RXT'), '-', '+');
    return { dump, outbox: entries.map(([, f]) => f[1]) };
  };

  /**
   * The fixture's starting state: N clocks due, of which some already raised (by an
   * earlier pass), some already removed (an event stopped them), some moved past the
   * scan time (an extension), one due exactly at the scan time.
   */
  async function seed(s: FlowStore): Promise<{ alert: Alert; dueMember: string }[]> {
    await s.noteSite('RXT');
    const items = Array.from({ length: N }, (_, i) => ({ alert: alertOf(i), dueMember: s.dueMember(`P${i}`, alertOf(i).alertId) }));
    for (const [i, { alert, dueMember }] of items.entries()) {
      const dueAt = i === 7 ? SCAN : i % 10 === 3 ? SCAN + HOUR : alert.becameTrueAt;
      if (i % 10 !== 5) await redis.zadd(s.keys.due('RXT'), dueAt, dueMember);
    }
    // Raised before, by an earlier pass (its clock re-added since, as a late event could).
    for (const i of [2, 11, 26]) {
      expect(await s.raiseAlert(items[i]!.alert, items[i]!.dueMember)).toBe(true);
      await redis.zadd(s.keys.due('RXT'), items[i]!.alert.becameTrueAt, items[i]!.dueMember);
    }
    // The same clock twice in a page (a second scanner's page overlapping): raised once.
    return [...items, items[4]!];
  }

  it('leaves exactly the state, outbox and answers of one-by-one raises', async () => {
    const one = newStore();
    const page = newStore();
    const items = await seed(one);
    expect(await seed(page)).toEqual(items);
    const before = await state(one);
    expect((await state(page)).dump).toEqual(before.dump);

    const oneByOne: boolean[] = [];
    for (const { alert, dueMember } of items) oneByOne.push(await one.raiseAlert(alert, dueMember, SCAN));
    // Pages of 9: the page boundaries fall anywhere.
    const paged: boolean[] = [];
    for (let i = 0; i < items.length; i += 9) paged.push(...(await page.raiseAlerts('RXT', items.slice(i, i + 9), SCAN)));

    expect(paged).toEqual(oneByOne);
    // Raised now: neither the ones raised before, nor the removed or moved clocks, nor the repeat.
    expect(oneByOne.filter(Boolean)).toHaveLength(N - 3 - 4 - 4);
    expect(oneByOne[7]).toBe(true);
    const after = await state(page);
    expect(after).toEqual(await state(one));
    expect(after.dump).not.toEqual(before.dump);
    // Critical alerts went on the escalation schedule, the others not.
    expect(after.dump[':{RXT}:esc']).toEqual(expect.arrayContaining([alertOf(8).alertId]));
    expect(after.dump[':{RXT}:esc']).not.toEqual(expect.arrayContaining([alertOf(0).alertId]));
    // Without the scan time: every item raised unless raised before, as one by one.
    const a = newStore();
    const b = newStore();
    const ia = await seed(a);
    const ib = await seed(b);
    const r1: boolean[] = [];
    for (const { alert, dueMember } of ia) r1.push(await a.raiseAlert(alert, dueMember));
    expect(await b.raiseAlerts('RXT', ib)).toEqual(r1);
    expect(await state(b)).toEqual(await state(a));
  });

  it('raises each alert once when scanners race on one site (pages and single raises at once)', async () => {
    const s = newStore();
    const items = (await seed(s)).slice(0, N);
    const shuffled = (k: number) => [...items].sort((x, y) => ((x.alert.becameTrueAt * k) % 7919) - ((y.alert.becameTrueAt * k) % 7919));
    const others = [1, 2, 3].map(() => new FlowStore(redis, s.keys, registry, DEFAULT_THRESHOLDS));
    const pages = async (st: FlowStore, list: typeof items, size: number) => {
      const out: boolean[] = [];
      for (let i = 0; i < list.length; i += size) out.push(...(await st.raiseAlerts('RXT', list.slice(i, i + size), SCAN)));
      return out;
    };
    const outs = await Promise.all([
      pages(s, items, 5), pages(others[0]!, shuffled(3), 4), pages(others[1]!, shuffled(11), 13),
      Promise.all(shuffled(5).map((it) => others[2]!.raiseAlert(it.alert, it.dueMember, SCAN))),
    ]);
    const raisedNow = outs.flat().filter(Boolean).length;
    expect(raisedNow).toBe(N - 3 - 4 - 4);
    // One outbox entry (version 1) per alert ever raised: the 3 raised before and those raised now.
    const outbox = (await redis.xrange(s.keys.alertOutbox('RXT'), '-', '+')).map(([, f]) => JSON.parse(f[1]!) as Alert);
    expect(outbox).toHaveLength(raisedNow + 3);
    expect(new Set(outbox.map((a) => a.alertId)).size).toBe(outbox.length);
    expect(outbox.every((a) => a.version === 1)).toBe(true);
    const seq = await Promise.all(['ward:W12', 'ward:W14', 'team:CRISIS', 'site'].map((sc) => redis.hget(s.keys.counts('RXT', sc), 'seq')));
    expect(seq.reduce((n, v) => n + Number(v ?? 0), 0)).toBe(raisedNow + 3);
    expect(await redis.zcard(s.keys.alerts('RXT'))).toBe(raisedNow + 3);
  });

  it('refuses a page with a key of another type before writing anything', async () => {
    const s = newStore();
    const items = (await seed(s)).slice(0, 10);
    await redis.set(s.keys.counts('RXT', 'team:CRISIS'), 'not a hash');
    const before = await state(s);
    await expect(s.raiseAlerts('RXT', items, SCAN)).rejects.toThrow(/counters key of another type/);
    expect(await state(s)).toEqual(before);
  });

  it('a sandbox without outputs writes no outbox and the same state; other prefixes cannot leave it out', async () => {
    expect(() => new Keys('pfm', { alertOutbox: false })).toThrow(/only be left out in a replay sandbox/);
    expect(() => new Keys(uniqueName('x').replace(/-/g, '_'), { alertOutbox: false })).toThrow(/only be left out in a replay sandbox/);
    const withOutbox = newStore({ sandbox: true });
    const without = newStore({ sandbox: true, alertOutbox: false });
    for (const s of [withOutbox, without]) {
      const items = await seed(s);
      await s.raiseAlerts('RXT', items, SCAN);
      // Every other alert change through the batch commit and the escalation script.
      const k = s.keys;
      const ops = [
        { op: 'ack' as const, key: k.alert('RXT', alertOf(0).alertId), a: JSON.stringify({ by: 'bm', at: SCAN }), b: '', refs: [k.alertOutbox('RXT')] },
        { op: 'own' as const, key: k.alert('RXT', alertOf(6).alertId), a: JSON.stringify({ name: 'Dr A', by: 'bm', at: SCAN }), b: '', refs: [k.alertOutbox('RXT')] },
        { op: 'move' as const, key: k.alert('RXT', alertOf(9).alertId), a: JSON.stringify({ ward: 'W14' }), b: '', refs: [k.alertOutbox('RXT')] },
        { op: 'resolve' as const, key: k.alert('RXT', alertOf(10).alertId), a: String(SCAN + 1), b: '', refs: [k.alerts('RXT'), k.alertOutbox('RXT')] },
      ];
      expect(await s.commitRun({ site: 'RXT', field: 't:0', first: '1', last: '1', epoch: 1, ops })).toMatchObject({ status: 'applied' });
      expect(await s.escalateAlert('RXT', alertOf(8).alertId, { level: 1, role: 'bed_manager', at: SCAN + 2 }, SCAN + 3)).toBe(true);
    }
    const on = await state(withOutbox);
    const off = await state(without);
    expect(on.outbox.length).toBeGreaterThan(30);
    expect(off.outbox).toEqual([]);
    expect(off.dump).toEqual(on.dump);
    // No stream at all under the sandbox without outputs, and nothing to read.
    const streams: string[] = [];
    for (const key of await redis.keys(`${without.keys.prefix}:*`)) if ((await redis.type(key)) === 'stream') streams.push(key);
    expect(streams).toEqual([]);
    expect(await without.readOutbox('RXT', 'r')).toEqual([]);
    expect(await without.outboxDepth('RXT')).toBe(0);
  });

  it('the scripts skip an outbox only under a sandbox prefix: a live key so named is written', async () => {
    // Keys refuses to make such a name outside a sandbox; the script checks again.
    const prefix = uniqueName('live').replace(/-/g, '_');
    const live = storeUnder(prefix);
    const offName = `${prefix}:{RXT}:aout.off`;
    const a = alertOf(5);
    const keys = [live.keys.alert('RXT', a.alertId), live.keys.alerts('RXT'), live.keys.due('RXT'), offName, live.keys.counts('RXT', 'site'), live.keys.escalations('RXT')];
    const n = await (redis as unknown as { pfmRaiseAlert1(k: number, ...args: string[]): Promise<number> }).pfmRaiseAlert1(keys.length, ...keys, JSON.stringify({ ...a, version: 1 }), a.alertId, String(a.becameTrueAt), 'm', '-', '');
    expect(n).toBe(1);
    expect(await redis.xlen(offName)).toBe(1);
    await redis.del(offName);
  });
});
