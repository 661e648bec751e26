/** @pfm-stack redis */
import Redis from 'ioredis';
import { DEFAULT_THRESHOLDS, emptyPatient, evolve, fold, type PatientState } from '@pfm/flow-domain';
import { days, ev, T0 } from '@pfm/flow-domain/src/testing';
import type { FlowEvent } from '@pfm/contracts';
import { requireReachable, stackEnv, uniqueName } from '@pfm/testkit';
import { APPLIED_BEFORE, FlowStore, Keys, WardRegistry, type KeyedOp } from './index';

const registry = new WardRegistry([
  { site: 'RXT', code: 'W12', name: 'Oak Ward', type: 'adult_acute', beds: 10 },
  { site: 'RXT', code: 'W14', name: 'Ash Ward', type: 'older_adult_acute', beds: 8 },
]);

describe('FlowStore on real Redis', () => {
  let redis: Redis;
  const keys = new Keys(uniqueName('store').replace(/-/g, '_'));
  let store: FlowStore;
  beforeAll(async () => {
    await requireReachable('Redis', stackEnv().redisUrl);
    redis = new Redis(stackEnv().redisUrl);
    store = new FlowStore(redis, keys, registry, DEFAULT_THRESHOLDS);
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
    // The due set names the patient once, at its earliest clock (stranded, day 7).
    const due = await store.duePatients('RXT', T0 + days(7) + 1);
    const timers = store.derive('RXT', 'P9', fold((await store.patient('RXT', 'P9'))!.events).view).timers;
    const clock = timers.find((t) => t.rule === 'stranded')!;
    expect(due.find((d) => d.patientId === 'P9')).toEqual({ patientId: 'P9', dueAt: Math.min(...timers.map((t) => t.dueAt)), members: ['P9'] });
    expect(clock.dueAt).toBe(Math.min(...timers.map((t) => t.dueAt)));
    const member = store.dueMember('P9', clock.alertId);
    const alert = { alertId: clock.alertId, rule: 'stranded' as const, severity: 'info' as const, threshold: { value: 7, unit: 'days' as const }, source: 's', message: 'm', site: 'RXT', ward: 'W12', patientId: 'P9', becameTrueAt: clock.dueAt, raisedAt: clock.dueAt };
    expect(await store.raiseAlert(alert, member)).toBe(true);
    expect(await store.raiseAlert(alert, member)).toBe(false);
    const entries = await store.readOutbox('RXT', 'test-reader');
    expect(entries.filter((e) => e.alert?.alertId === alert.alertId).map((e) => e.alert?.version)).toEqual([1]);
    await store.ackOutbox('RXT', entries.map((e) => e.id));
    expect(await store.readOutbox('RXT', 'test-reader')).toEqual([]);
    expect(await store.outboxDepth('RXT')).toBe(0);
  });

  it('a raise guarded by the scan time does nothing once an event has stopped or moved the clock', async () => {
    const member = store.dueMember('P-race', 'leave_overdue:RXT:P-race:S1:1');
    const alert = { alertId: 'leave_overdue:RXT:P-race:S1:1', rule: 'leave_overdue' as const, severity: 'warning' as const, threshold: { value: 0, unit: 'hours' as const }, source: 's', message: 'm', site: 'RXT', ward: 'W12', patientId: 'P-race', becameTrueAt: T0, raisedAt: T0 };
    // The scanner read the clock; then the patient's return took it out of the due set.
    expect(await store.raiseAlert(alert, member, T0 + 1)).toBe(false);
    expect(await store.alert('RXT', alert.alertId)).toBeNull();
    // Moved later (an extension) than the scan time: not due, so not raised either.
    await redis.zadd(store.keys.due('RXT'), T0 + days(1), member);
    expect(await store.raiseAlert(alert, member, T0 + 1)).toBe(false);
    expect(await store.alert('RXT', alert.alertId)).toBeNull();
    // Still due: raised, and the clock leaves the due set.
    expect(await store.raiseAlert(alert, member, T0 + days(1))).toBe(true);
    expect(await redis.zscore(store.keys.due('RXT'), member)).toBeNull();
  });

  it('per-event script: a named owner goes on the alert as its next version, in the outbox', async () => {
    const id = (await store.alerts('RXT')).find((a) => a.patientId === 'P9')!.alertId;
    const view = fold((await store.patient('RXT', 'P9'))!.events).view;
    await store.apply(store.planApply({ site: 'RXT', patientId: 'P9', before: view, after: view, state: null, offsetField: '', offset: '0', own: { alertId: id, name: 'Dr A Patel', by: 'bm-1', at: T0 + days(7) + 5 } }));
    expect(await store.alert('RXT', id)).toMatchObject({ owner: { name: 'Dr A Patel', by: 'bm-1', at: T0 + days(7) + 5 }, version: 2 });
    const entries = await store.readOutbox('RXT', 'test-reader');
    expect(entries.filter((e) => e.alert?.alertId === id).map((e) => [e.alert?.version, e.alert?.owner?.name])).toEqual([[2, 'Dr A Patel']]);
    await store.ackOutbox('RXT', entries.map((e) => e.id));
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

  it('acknowledges and resolves an alert once, through the per-event script and a batch commit: each change the next version, in the outbox', async () => {
    const alert = (alertId: string) => ({ alertId, rule: 'stranded' as const, severity: 'info' as const, threshold: { value: 7, unit: 'days' as const }, source: 's', message: 'm', site: 'RXT', ward: 'W12', patientId: 'P2', becameTrueAt: T0, raisedAt: T0 });
    const outboxVersions = async (alertId: string) => {
      const entries = await store.readOutbox('RXT', 'ack-reader');
      await store.ackOutbox('RXT', entries.map((e) => e.id));
      return entries.filter((e) => e.alert?.alertId === alertId).map((e) => e.alert?.version);
    };
    // Per event (applyPatient-1.lua): an acknowledgement with no change to the patient.
    expect(await store.raiseAlert(alert('ack-1'), 'ack-1-clock')).toBe(true);
    const view = fold((await store.patient('RXT', 'P2'))!.events).view;
    const ack = (offset: string, at: number) => store.apply(store.planApply({ site: 'RXT', patientId: 'P2', before: view, after: view, state: null, offsetField: 'pfm.flow-events.v1:5', offset, acknowledge: { alertId: 'ack-1', by: 'u1', at } }));
    await ack('0', T0 + 1);
    await ack('1', T0 + 2);
    expect(await store.alert('RXT', 'ack-1')).toMatchObject({ version: 2, acknowledged: { by: 'u1', at: T0 + 1 } });
    expect(await outboxVersions('ack-1')).toEqual([1, 2]);

    // In a batch (applyBatch-1.lua): raised, acknowledged and resolved in one run, then acknowledged and resolved again.
    const field = 'pfm.flow-events.v1:6';
    const epoch = await store.claimPartition('pfm.flow-events.v1', 6);
    const alertKey = keys.alert('RXT', 'ack-2');
    const ackOp = (at: number): KeyedOp => ({ op: 'ack', key: alertKey, a: JSON.stringify({ by: 'u2', at }), b: '', refs: [keys.alertOutbox('RXT')] });
    const resolveOp = (at: number): KeyedOp => ({ op: 'resolve', key: alertKey, a: String(at), b: '', refs: [keys.alerts('RXT'), keys.alertOutbox('RXT')] });
    const ops = [...store.raiseOps(alert('ack-2')), ackOp(T0 + 3), resolveOp(T0 + 4)];
    expect(await store.commitRun({ site: 'RXT', field, first: '0', last: '0', epoch, ops })).toMatchObject({ status: 'applied' });
    expect(await store.commitRun({ site: 'RXT', field, first: '1', last: '1', epoch, ops: [ackOp(T0 + 5), resolveOp(T0 + 6)] })).toMatchObject({ status: 'applied' });
    expect(await store.alert('RXT', 'ack-2')).toMatchObject({ version: 3, acknowledged: { by: 'u2', at: T0 + 3 }, resolvedAt: T0 + 4 });
    expect((await store.alerts('RXT')).map((a) => a.alertId)).not.toContain('ack-2');
    expect(await outboxVersions('ack-2')).toEqual([1, 2, 3]);
  });

  it('an open alert follows the patient on a transfer (A02): same alert on the new ward, acknowledgement kept, next version in the outbox; per-event script and batch commit', async () => {
    const outbox = async (alertId: string) => {
      const entries = await store.readOutbox('RXT', 'move-reader');
      await store.ackOutbox('RXT', entries.map((e) => e.id));
      return entries.filter((e) => e.alert?.alertId === alertId).map((e) => [e.alert?.version, e.alert?.ward]);
    };
    // Per event (applyPatient-1.lua): stranded and EDD passed raised on W12, the EDD one acknowledged there.
    await apply([ev('patient.admitted', { spellId: 'SM', ward: 'W12', bed: 'B5', expectedDischargeAt: T0 + days(5) }, T0, { patientId: 'PM' })]);
    const due = store.derive('RXT', 'PM', fold((await store.patient('RXT', 'PM'))!.events).view).timers;
    const raised: string[] = [];
    for (const rule of ['stranded', 'edd_passed'] as const) {
      const clock = due.find((d) => d.alertId.startsWith(`${rule}:`))!;
      const alert = { alertId: clock.alertId, rule, severity: 'info' as const, threshold: { value: 7, unit: 'days' as const }, source: 's', message: 'm', site: 'RXT', ward: 'W12', patientId: 'PM', spellId: 'SM', becameTrueAt: clock.dueAt, raisedAt: T0 + days(8) };
      expect(await store.raiseAlert(alert, store.dueMember('PM', clock.alertId))).toBe(true);
      raised.push(clock.alertId);
    }
    const [strandedId, eddId] = raised as [string, string];
    const view0 = fold((await store.patient('RXT', 'PM'))!.events).view;
    await store.apply(store.planApply({ site: 'RXT', patientId: 'PM', before: view0, after: view0, state: null, offsetField: '', offset: '0', acknowledge: { alertId: eddId, by: 'ward-nurse', at: T0 + days(8) } }));
    await outbox(strandedId);
    await apply([ev('patient.transferred', { spellId: 'SM', ward: 'W14', bed: 'B6' }, T0 + days(9), { patientId: 'PM' })]);
    expect(await store.alert('RXT', strandedId)).toMatchObject({ ward: 'W14', version: 2 });
    expect(await store.alert('RXT', eddId)).toMatchObject({ ward: 'W14', version: 3, acknowledged: { by: 'ward-nurse' } });
    expect((await store.alerts('RXT')).filter((a) => a.patientId === 'PM').map((a) => a.ward)).toEqual(['W14', 'W14']);
    expect(await outbox(strandedId)).toEqual([[2, 'W14']]);
    // The same move again (a re-delivered plan) changes nothing: the alert is already there.
    const view1 = fold((await store.patient('RXT', 'PM'))!.events).view;
    await store.apply(store.planApply({ site: 'RXT', patientId: 'PM', before: view0, after: view1, state: null, offsetField: '', offset: '0' }));
    expect(await store.alert('RXT', strandedId)).toMatchObject({ ward: 'W14', version: 2 });

    // In a batch (applyBatch-1.lua): back to W12 in a run of one event.
    const before = (await store.patient('RXT', 'PM'))!;
    const back = ev('patient.transferred', { spellId: 'SM', ward: 'W12', bed: 'B5' }, T0 + days(10), { patientId: 'PM' });
    const r = evolve(before, back);
    const plan = store.planApply({ site: 'RXT', patientId: 'PM', before: fold(before.events).view, after: r.view, state: r.state as PatientState, offsetField: '', offset: '0', at: back.occurredAt });
    const epoch = await store.claimPartition('pfm.flow-events.v1', 7);
    expect(await store.commitRun({ site: 'RXT', field: 'pfm.flow-events.v1:7', first: '0', last: '0', epoch, ops: plan.changes })).toMatchObject({ status: 'applied' });
    expect(await store.alert('RXT', strandedId)).toMatchObject({ ward: 'W12', version: 3 });
    expect(await outbox(strandedId)).toEqual([[3, 'W12']]);
  });

  it('hands each outbox entry to one reader only, however many read at once', async () => {
    const raised = Array.from({ length: 300 }, (_, i) => ({ alertId: `conc-${i}`, rule: 'stranded' as const, severity: 'info' as const, threshold: { value: 7, unit: 'days' as const }, source: 's', message: 'm', site: 'RXT', ward: 'W12', patientId: `C${i}`, becameTrueAt: T0, raisedAt: T0 }));
    // Start from an empty outbox (earlier tests left changes in it).
    for (let e = await store.readOutbox('RXT', 'setup'); e.length; e = await store.readOutbox('RXT', 'setup')) await store.ackOutbox('RXT', e.map((x) => x.id));
    const writing = Promise.all(raised.map((a) => store.raiseAlert(a, `C-${a.alertId}`)));
    const got: string[] = [];
    const reader = async (name: string) => {
      for (let idle = 0; idle < 20;) {
        const entries = await store.readOutbox('RXT', name, { max: 7 });
        if (!entries.length) { idle++; await new Promise((r) => setTimeout(r, 5)); continue; }
        got.push(...entries.map((e) => e.alert!.alertId));
        await store.ackOutbox('RXT', entries.map((e) => e.id));
      }
    };
    await Promise.all([writing, reader('a'), reader('a'), reader('b'), reader('c')]);
    expect(got.sort()).toEqual(raised.map((a) => a.alertId).sort());
  });

  it('gives back what a reader read and did not acknowledge: to itself after a restart, to others once idle', async () => {
    const a = { alertId: 'pending-1', rule: 'stranded' as const, severity: 'info' as const, threshold: { value: 7, unit: 'days' as const }, source: 's', message: 'm', site: 'RXT', ward: 'W12', patientId: 'Q1', becameTrueAt: T0, raisedAt: T0 };
    await store.raiseAlert(a, 'Q1-x');
    await store.raiseAlert({ ...a, alertId: 'pending-2', patientId: 'Q2' }, 'Q2-x');
    const read = await store.readOutbox('RXT', 'crashed');
    expect(read.map((e) => e.alert?.alertId)).toEqual(['pending-1', 'pending-2']);
    // Not acknowledged: nobody reads them as new again.
    expect(await store.readOutbox('RXT', 'other')).toEqual([]);
    const again = await store.readOutbox('RXT', 'crashed', { pending: true });
    expect(again.map((e) => e.id)).toEqual(read.map((e) => e.id));
    expect(await store.claimOutbox('RXT', 'other', 60_000)).toEqual([]);
    const claimed = await store.claimOutbox('RXT', 'other', 0);
    expect(claimed.map((e) => e.alert?.alertId)).toEqual(['pending-1', 'pending-2']);
    await store.ackOutbox('RXT', claimed.map((e) => e.id));
    expect(await store.readOutbox('RXT', 'crashed', { pending: true })).toEqual([]);
    expect(await store.outboxDepth('RXT')).toBe(0);
  });

  it('moves alerts left in a legacy outbox list into the stream, once', async () => {
    const legacy = JSON.stringify({ alertId: 'legacy-1', rule: 'stranded', severity: 'info', threshold: { value: 7, unit: 'days' }, source: 's', message: 'm', site: 'LEG', becameTrueAt: T0, raisedAt: T0 });
    await redis.rpush(keys.legacyOutbox('LEG'), legacy);
    const entries = await store.readOutbox('LEG', 'r');
    expect(entries.map((e) => e.alert?.alertId)).toEqual(['legacy-1']);
    expect(await redis.exists(keys.legacyOutbox('LEG'))).toBe(0);
    await store.ackOutbox('LEG', entries.map((e) => e.id));
  });

  it('makes the group again when the outbox stream was deleted under it', async () => {
    await store.readOutbox('RXT', 'r');
    await redis.del(keys.alertOutbox('RXT'));
    const a = { alertId: 'after-del', rule: 'stranded' as const, severity: 'info' as const, threshold: { value: 7, unit: 'days' as const }, source: 's', message: 'm', site: 'RXT', becameTrueAt: T0, raisedAt: T0 };
    // Written before the group exists again: the new group starts at 0 and sees it.
    await store.raiseAlert(a, 'D-x');
    expect((await store.readOutbox('RXT', 'r')).map((e) => e.alert?.alertId)).toEqual(['after-del']);
  });
});
