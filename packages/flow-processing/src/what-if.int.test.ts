/** @pfm-stack redis */
// What-if on real Redis: the alert comparison counts every alert raised in the range,
// also those resolved before the end of the run (a clock that fired and then stopped).
import Redis from 'ioredis';
import type { Alert } from '@pfm/contracts';
import { DEFAULT_THRESHOLDS } from '@pfm/flow-domain';
import { FlowStore, Keys, WardRegistry } from '@pfm/flow-store';
import { requireReachable, stackEnv, uniqueName } from '@pfm/testkit';
import { diffAlerts } from './analysis';

const DAY = 86_400_000;
const T0 = Date.parse('2026-03-01T00:00:00Z');

describe('what-if alert comparison on real Redis', () => {
  let redis: Redis;
  const registry = new WardRegistry([{ site: 'RXT', code: 'W12', name: 'Oak Ward', type: 'adult_acute', beds: 10 }]);
  const stores: FlowStore[] = [];
  beforeAll(async () => {
    await requireReachable('Redis', stackEnv().redisUrl);
    redis = new Redis(stackEnv().redisUrl);
  });
  afterAll(async () => {
    for (const s of stores) await s.clear();
    redis.disconnect();
  });
  const store = () => {
    const keys = new Keys(uniqueName('whatif').replace(/-/g, '_'));
    const s = new FlowStore(redis, keys, registry, DEFAULT_THRESHOLDS);
    stores.push(s);
    return { s, keys };
  };
  const stranded = (patientId: string, at: number): Alert => ({
    alertId: `stranded:RXT:${patientId}:S-${patientId}:5d`, rule: 'stranded', severity: 'info', threshold: { value: 5, unit: 'days' }, source: 't', message: 'stranded',
    site: 'RXT', ward: 'W12', patientId, spellId: `S-${patientId}`, becameTrueAt: at, raisedAt: at,
  });

  it('counts an alert raised and resolved inside the range, not only alerts still open', async () => {
    const { s: baseline } = store();
    const { s: candidate, keys } = store();
    await baseline.noteSite('RXT');
    await candidate.noteSite('RXT');
    // The candidate thresholds raise two alerts; one was resolved (the patient went home) before the run ended.
    const open = stranded('P1', T0 + 5 * DAY);
    const gone = stranded('P2', T0 + 6 * DAY);
    for (const a of [open, gone]) expect(await candidate.raiseAlert(a, `${a.patientId}\u001f${a.alertId}`)).toBe(true);
    const resolve = { op: 'resolve' as const, key: keys.alert('RXT', gone.alertId), a: String(T0 + 7 * DAY), b: '', refs: [keys.alerts('RXT'), keys.alertOutbox('RXT')] };
    expect(await candidate.commitRun({ site: 'RXT', field: 'whatif:0', first: '1', last: '1', epoch: 1, ops: [resolve] })).toMatchObject({ status: 'applied' });
    expect((await candidate.alerts('RXT')).map((a) => a.alertId)).toEqual([open.alertId]);

    const d = await diffAlerts(baseline, candidate, { from: T0, to: T0 + 10 * DAY });
    expect(d.byRule.stranded).toEqual({ baseline: 0, candidate: 2, delta: 2 });
    expect(d.byRuleAndWard.stranded).toEqual({ W12: 2 });
  });
});
