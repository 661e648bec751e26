import Redis from 'ioredis';
import { DEFAULT_THRESHOLDS, emptyPatient, evolve, fold, type PatientState } from '@pfm/flow-domain';
import { days, ev, T0 } from '@pfm/flow-domain/src/testing';
import type { FlowEvent } from '@pfm/contracts';
import { requireReachable, stackEnv, uniqueName } from '@pfm/testkit';
import { APPLIED_BEFORE, FlowStore, Keys, WardRegistry } from './index';

const registry = new WardRegistry([
  { site: 'RXT', code: 'W12', name: 'Oak Ward', type: 'adult_acute', beds: 10 },
  { site: 'RXT', code: 'W14', name: 'Ash Ward', type: 'older_adult_acute', beds: 8 },
]);

describe('FlowStore on real Redis', () => {
  let redis: Redis;
  let store: FlowStore;
  beforeAll(async () => {
    await requireReachable('Redis', stackEnv().redisUrl);
    redis = new Redis(stackEnv().redisUrl);
    store = new FlowStore(redis, new Keys(uniqueName('store').replace(/-/g, '_')), registry, DEFAULT_THRESHOLDS);
  });
  afterAll(async () => {
    await store.clear();
    redis.disconnect();
  });

  let offset = 0;
  async function apply(events: FlowEvent[], explicitOffset?: number): Promise<number[]> {
    const results: number[] = [];
    for (const e of events) {
      const before = (await store.patient(e.site, e.patientId)) ?? emptyPatient(e.site, e.patientId);
      const r = evolve(before, e);
      const plan = store.planApply({
        site: e.site, patientId: e.patientId, before: fold(before.events).view, after: r.view, state: r.state as PatientState,
        offsetField: 'pfm.flow-events.v1:0', offset: String(explicitOffset ?? offset++),
      });
      results.push(await store.apply(plan));
    }
    return results;
  }

  it('keeps ward counters, LOS index and beds consistent through admit, leave, transfer, discharge', async () => {
    await apply([
      ev('patient.admitted', { spellId: 'S1', ward: 'W12', bed: 'B1' }, T0),
      ev('patient.admitted', { spellId: 'S2', ward: 'W12', bed: 'B2', outOfArea: false }, T0 + days(1), { patientId: 'P2' }),
      ev('leave.started', { spellId: 'S2' }, T0 + days(2), { patientId: 'P2' }),
      ev('crfd.started', { spellId: 'S1', reasonCode: '14' }, T0 + days(3)),
    ]);
    let [w12] = await store.wardSummaries('RXT', ['W12'], T0 + days(8));
    expect(w12).toMatchObject({ occupied: 2, onLeave: 1, present: 1, free: 8, crfd: 1, crfdReasons: { '14': 1 }, stranded: 2, superStranded: 0 });
    await apply([ev('patient.transferred', { spellId: 'S1', ward: 'W14', bed: 'B7' }, T0 + days(9))]);
    await apply([ev('patient.discharged', { spellId: 'S2', destination: 'home' }, T0 + days(10), { patientId: 'P2' })]);
    [w12] = await store.wardSummaries('RXT', ['W12'], T0 + days(10));
    const [w14] = await store.wardSummaries('RXT', ['W14'], T0 + days(10));
    expect(w12).toMatchObject({ occupied: 0, onLeave: 0, crfd: 0, crfdReasons: {}, stranded: 0, free: 10 });
    expect(w14).toMatchObject({ occupied: 1, crfd: 1, stranded: 1 });
    expect(await store.bedsOnWard('RXT', 'W14')).toEqual({ B7: ['P1|S1'] });
    expect(await store.bedsOnWard('RXT', 'W12')).toEqual({});
    const rows = await store.patientsOnWard('RXT', 'W14', T0 + days(10));
    expect(rows).toEqual([expect.objectContaining({ patientId: 'P1', losDays: 10, flags: expect.arrayContaining(['stranded', 'crfd']) })]);
  });

  it('applies a re-delivered offset as a no-op', async () => {
    const e = ev('patient.admitted', { spellId: 'S9', ward: 'W12' }, T0, { patientId: 'P9' });
    const before = emptyPatient('RXT', 'P9');
    const r = evolve(before, e);
    const plan = store.planApply({ site: 'RXT', patientId: 'P9', before: fold([]).view, after: r.view, state: r.state, offsetField: 'pfm.flow-events.v1:3', offset: '41' });
    expect(await store.apply(plan)).toBeGreaterThan(0);
    const [once] = await store.wardSummaries('RXT', ['W12'], T0);
    expect(await store.apply(plan)).toBe(APPLIED_BEFORE);
    const [twice] = await store.wardSummaries('RXT', ['W12'], T0);
    expect(twice).toEqual(once);
    expect((await store.appliedOffsets('pfm.flow-events.v1')).get(3)).toBe('41');
  });

  it('raises a crossing alert exactly once and queues it in the outbox', async () => {
    const due = await store.dueClocks('RXT', T0 + days(7) + 1);
    const clock = due.find((d) => d.patientId === 'P9' && d.alertId.startsWith('stranded'));
    expect(clock).toBeDefined();
    const alert = { alertId: clock!.alertId, rule: 'stranded' as const, severity: 'info' as const, threshold: { value: 7, unit: 'days' as const }, source: 's', message: 'm', site: 'RXT', ward: 'W12', patientId: 'P9', becameTrueAt: clock!.dueAt, raisedAt: clock!.dueAt };
    expect(await store.raiseAlert(alert, clock!.member)).toBe(true);
    expect(await store.raiseAlert(alert, clock!.member)).toBe(false);
    const { alerts, confirm } = await store.peekOutbox('RXT');
    expect(alerts.filter((a) => a.alertId === alert.alertId)).toHaveLength(1);
    await confirm();
    expect((await store.peekOutbox('RXT')).alerts).toEqual([]);
    expect((await store.dueClocks('RXT', T0 + days(7) + 1)).find((d) => d.member === clock!.member)).toBeUndefined();
  });

  it('keeps a raised-then-resolved alert readable with includeResolved (what-if counts alerts raised in a range, not only open ones)', async () => {
    const id = (await store.alerts('RXT')).find((a) => a.patientId === 'P9')!.alertId;
    const before = (await store.patient('RXT', 'P9'))!;
    const dis = ev('patient.discharged', { spellId: 'S9', destination: '19' }, T0 + days(8), { patientId: 'P9' });
    const r = evolve(before, dis);
    await store.apply(store.planApply({ site: 'RXT', patientId: 'P9', before: fold(before.events).view, after: r.view, state: r.state, offsetField: 'pfm.flow-events.v1:3', offset: '42', at: dis.occurredAt }));
    expect((await store.alerts('RXT')).map((a) => a.alertId)).not.toContain(id);
    expect(await store.alerts('RXT', { includeResolved: true })).toContainEqual(expect.objectContaining({ alertId: id, resolvedAt: T0 + days(8) }));
  });
});
