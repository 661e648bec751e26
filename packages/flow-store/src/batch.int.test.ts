/** @pfm-stack redis */
// Batch commits on real Redis: one fenced script call per run; a redelivered or
// overlapping run and a zombie owner's run are refused; a run Redis refuses leaves nothing.
import Redis from 'ioredis';
import { DEFAULT_THRESHOLDS, emptyPatient, evolve, fold, type PatientState } from '@pfm/flow-domain';
import { days, ev, T0 } from '@pfm/flow-domain/src/testing';
import { requireReachable, stackEnv, uniqueName } from '@pfm/testkit';
import { dueOp } from './batch';
import { FlowStore, Keys, WardRegistry, type KeyedOp } from './index';

const FIELD = 'pfm.flow-events.v1:0';

describe('batch commit on real Redis', () => {
  let redis: Redis;
  const keys = new Keys(uniqueName('batch').replace(/-/g, '_'));
  let store: FlowStore;
  beforeAll(async () => {
    await requireReachable('Redis', stackEnv().redisUrl);
    redis = new Redis(stackEnv().redisUrl);
    store = new FlowStore(redis, keys, new WardRegistry([{ site: 'RXT', code: 'W12', name: 'Oak Ward', type: 'adult_acute', beds: 10 }]), DEFAULT_THRESHOLDS);
  });
  afterAll(async () => {
    await store.clear();
    redis.disconnect();
  });

  /** The keyed ops of admitting a patient (state, counters, indexes, clocks). */
  function admit(patientId: string, at: number): KeyedOp[] {
    const before: PatientState = emptyPatient('RXT', patientId);
    const r = evolve(before, ev('patient.admitted', { spellId: `S-${patientId}`, ward: 'W12', bed: patientId }, at, { patientId }));
    return store.planApply({ site: 'RXT', patientId, before: fold([]).view, after: r.view, state: r.state, offsetField: '', offset: '0' }).changes;
  }

  it('commits a run atomically, then refuses it redelivered, overlapping or from a zombie owner', async () => {
    await store.noteSite('RXT');
    const first = await store.claimPartition('pfm.flow-events.v1', 0);
    const run = { site: 'RXT', field: FIELD, epoch: first, ops: [...admit('P1', T0), ...admit('P2', T0 + days(1))] };
    expect(await store.commitRun({ ...run, first: '0', last: '1' })).toMatchObject({ status: 'applied', ops: expect.any(Number) });
    expect((await store.wardSummaries('RXT', ['W12'], T0 + days(2)))[0]).toMatchObject({ occupied: 2, seq: 2 });
    // The same run again (a redelivery), and one that overlaps it: refused, nothing changes.
    expect(await store.commitRun({ ...run, first: '0', last: '1' })).toEqual({ status: 'applied-before', applied: '1' });
    expect(await store.commitRun({ ...run, ops: admit('P3', T0), first: '1', last: '2' })).toEqual({ status: 'applied-before', applied: '1' });
    expect(await store.patient('RXT', 'P3')).toBeNull();
    // A new owner claims the partition: the old owner's next run is refused.
    const second = await store.claimPartition('pfm.flow-events.v1', 0);
    expect(second).toBeGreaterThan(first);
    expect(await store.commitRun({ ...run, ops: admit('P3', T0), first: '2', last: '2' })).toEqual({ status: 'fenced', owner: second });
    expect(await store.patient('RXT', 'P3')).toBeNull();
    expect(await store.commitRun({ ...run, epoch: second, ops: admit('P3', T0), first: '2', last: '2' })).toMatchObject({ status: 'applied' });
    expect((await store.wardSummaries('RXT', ['W12'], T0 + days(2)))[0]).toMatchObject({ occupied: 3, seq: 3 });
    expect((await store.appliedOffsets('pfm.flow-events.v1')).get(0)).toBe('2');
  });

  it('moves a patient\'s due time as the due steps say: once per commit, only when it changes', async () => {
    const epoch = await store.claimPartition('pfm.flow-events.v1', 7);
    let n = 100;
    const commit = async (...steps: [string, number | undefined, number[]][]) => {
      const ops = steps.map(([pid, low, kept]) => dueOp(keys.due('RXT'), pid, low, kept));
      const at = String(n++);
      expect(await store.commitRun({ site: 'RXT', field: 'pfm.flow-events.v1:7', epoch, first: at, last: at, ops })).toMatchObject({ status: 'applied' });
    };
    const score = async (pid: string) => redis.zscore(keys.due('RXT'), pid);
    // No member yet: the new clocks' earliest time; clocks that ran on unchanged are another member's (older form) to cover.
    await commit(['D1', 50, [10, 100]]);
    expect(await score('D1')).toBe('50');
    // The clock at 50 fired at an event: the next one kept at or after 50.
    await commit(['D1', undefined, [10, 100, 200]]);
    expect(await score('D1')).toBe('100');
    // A clock started earlier than the member's time.
    await commit(['D1', 30, [100, 200]]);
    expect(await score('D1')).toBe('30');
    // The scanner re-armed the patient at 100 meanwhile: a step counts from what Redis holds.
    await redis.zadd(keys.due('RXT'), 100, 'D1');
    await commit(['D1', undefined, [30, 200]]);
    expect(await score('D1')).toBe('200');
    // Two events of one commit, the second stopping the last clock: folded in order, no member left.
    await commit(['D1', undefined, [200, 300]], ['D1', undefined, []]);
    expect(await score('D1')).toBeNull();
    // Refused whole when a step is not well formed.
    await expect(store.commitRun({ site: 'RXT', field: 'pfm.flow-events.v1:7', epoch, first: String(n), last: String(n), ops: [{ op: 'due', key: keys.due('RXT'), a: 'D1', b: 'x;1' }] })).rejects.toThrow(/due with bad steps/);
  });

  it('refuses a run into a store that lost the site\'s state since the caller last committed (restarted empty, flushed)', async () => {
    const k2 = new Keys(uniqueName('batch-lost').replace(/-/g, '_'));
    const s2 = new FlowStore(redis, k2, new WardRegistry([{ site: 'RXT', code: 'W12', name: 'Oak Ward', type: 'adult_acute', beds: 10 }]), DEFAULT_THRESHOLDS);
    try {
      await s2.noteSite('RXT');
      const epoch = await s2.claimPartition('pfm.flow-events.v1', 0);
      const plan = (id: string, at: number): KeyedOp[] => s2.planApply({ site: 'RXT', patientId: id, before: fold([]).view, after: evolve(emptyPatient('RXT', id), ev('patient.admitted', { spellId: `S-${id}`, ward: 'W12', bed: id }, at, { patientId: id })).view, state: evolve(emptyPatient('RXT', id), ev('patient.admitted', { spellId: `S-${id}`, ward: 'W12', bed: id }, at, { patientId: id })).state, offsetField: '', offset: '0' }).changes;
      const run = { site: 'RXT', field: FIELD, epoch };
      // The first commit records the caller's proposed id; later ones hand it back.
      const a = await s2.commitRun({ ...run, stateId: { seen: undefined, proposal: 'sid-a' }, ops: plan('L1', T0), first: '0', last: '0' });
      expect(a).toMatchObject({ status: 'applied', stateId: 'sid-a' });
      expect(await s2.commitRun({ ...run, stateId: { seen: 'sid-a', proposal: 'sid-b' }, ops: plan('L2', T0), first: '1', last: '1' })).toMatchObject({ status: 'applied', stateId: 'sid-a' });
      // Redis loses everything (as a restart without persistence would): a run planned
      // before the loss and delivered after it is refused, and writes nothing.
      await s2.clear();
      expect(await s2.commitRun({ ...run, stateId: { seen: 'sid-a', proposal: 'sid-c' }, ops: plan('L3', T0), first: '2', last: '2' })).toEqual({ status: 'state-lost' });
      expect(await s2.patient('RXT', 'L3')).toBeNull();
      expect((await s2.appliedOffsets('pfm.flow-events.v1')).get(0)).toBeUndefined();
      expect(await redis.hgetall(k2.fence('RXT'))).toEqual({});
      // A caller that has seen no id yet (a rebuild from the log) starts the site afresh.
      expect(await s2.commitRun({ ...run, stateId: { seen: undefined, proposal: 'sid-d' }, ops: plan('L1', T0), first: '0', last: '0' })).toMatchObject({ status: 'applied', stateId: 'sid-d' });
      // Without a state id (the header of before), a run is not checked: as before.
      expect(await s2.commitRun({ ...run, ops: plan('L2', T0), first: '1', last: '1' })).toMatchObject({ status: 'applied' });
    } finally {
      await s2.clear();
    }
  });

  it('applies nothing of a run that Redis refuses (a key of the wrong type half way)', async () => {
    const epoch = await store.claimPartition('pfm.flow-events.v1', 1);
    await redis.set(keys.index('RXT', 'ward:W99', 'los'), 'not a sorted set');
    const ops: KeyedOp[] = [...admit('P7', T0), { op: 'zadd', key: keys.index('RXT', 'ward:W99', 'los'), a: 'P7|S', b: '1' }, ...admit('P8', T0)];
    await expect(store.commitRun({ site: 'RXT', field: 'pfm.flow-events.v1:1', first: '0', last: '1', epoch, ops })).rejects.toThrow(/zadd names no key of type zset/);
    expect(await store.patient('RXT', 'P7')).toBeNull();
    expect(await store.patient('RXT', 'P8')).toBeNull();
    expect((await store.appliedOffsets('pfm.flow-events.v1')).get(1)).toBeUndefined();
    expect((await store.wardSummaries('RXT', ['W12'], T0 + days(2)))[0]).toMatchObject({ occupied: 3 });
  });

  it('puts a named owner on an alert with its next version in the outbox; the same owner again or a resolved alert changes nothing', async () => {
    const alert = { alertId: 'own-1', rule: 'awol', severity: 'critical', threshold: { value: 0, unit: 'hours' }, source: 't', message: 'AWOL', site: 'RXT', ward: 'W12', patientId: 'P9', becameTrueAt: T0, raisedAt: T0 } as const;
    const own = (name: string, at: number): KeyedOp[] => store.planApply({ site: 'RXT', patientId: 'P9', before: fold([]).view, after: fold([]).view, state: null, offsetField: '', offset: '0', own: { alertId: alert.alertId, name, by: 'bm-1', at } }).changes;
    const run = (first: number, ops: KeyedOp[]) => store.commitRun({ site: 'RXT', field: 'own-test:0', first: String(first), last: String(first), epoch: 1, ops });
    const outboxLength = () => redis.xlen(keys.alertOutbox('RXT'));
    await run(1, store.raiseOps(alert));
    const raisedOut = await outboxLength();
    expect(await run(2, own('Dr A Patel', T0 + 1))).toMatchObject({ status: 'applied' });
    expect(await store.alert('RXT', alert.alertId)).toMatchObject({ owner: { name: 'Dr A Patel', by: 'bm-1', at: T0 + 1 }, version: 2 });
    expect(await outboxLength()).toBe(raisedOut + 1);
    await run(3, own('Dr A Patel', T0 + 2));
    expect(await store.alert('RXT', alert.alertId)).toMatchObject({ owner: { at: T0 + 1 }, version: 2 });
    await run(4, own('Nurse B Kim', T0 + 3));
    expect(await store.alert('RXT', alert.alertId)).toMatchObject({ owner: { name: 'Nurse B Kim' }, version: 3 });
    await run(5, [{ op: 'resolve', key: keys.alert('RXT', alert.alertId), a: String(T0 + 4), b: '', refs: [keys.alerts('RXT'), keys.alertOutbox('RXT')] }]);
    await run(6, own('Someone Else', T0 + 5));
    expect(await store.alert('RXT', alert.alertId)).toMatchObject({ owner: { name: 'Nurse B Kim' }, version: 4, resolvedAt: T0 + 4 });
    expect(await outboxLength()).toBe(raisedOut + 3);
  });

  it('a Critical alert raised in a batch goes on the escalation schedule; an escalation step is its next version once, and never after acknowledgement', async () => {
    const alert = { alertId: 'esc-1', rule: 'awol', severity: 'critical', threshold: { value: 0, unit: 'hours' }, source: 't', message: 'AWOL', site: 'RXT', ward: 'W12', patientId: 'P9', becameTrueAt: T0, raisedAt: T0 } as const;
    const run = (first: number, ops: KeyedOp[]) => store.commitRun({ site: 'RXT', field: 'esc-test:0', first: String(first), last: String(first), epoch: 1, ops });
    const outboxLength = () => redis.xlen(keys.alertOutbox('RXT'));
    await run(1, store.raiseOps(alert));
    await run(2, store.raiseOps({ ...alert, alertId: 'esc-info', severity: 'info' }));
    // Default policy: the ward's for 30 minutes, then the bed manager.
    expect(Number(await redis.zscore(keys.escalations('RXT'), 'esc-1'))).toBe(T0 + 30 * 60_000);
    expect(await redis.zscore(keys.escalations('RXT'), 'esc-info')).toBeNull();
    // (own-1 above is Critical too: on the schedule, left there after its resolution until the scanner looks.)
    expect(await store.dueEscalations('RXT', T0 + 30 * 60_000)).toContain('esc-1');
    const out = await outboxLength();
    const step = { level: 1, role: 'bed_manager', at: T0 + 30 * 60_000 };
    expect(await store.escalateAlert('RXT', 'esc-1', step, T0 + 60 * 60_000)).toBe(true);
    expect(await store.escalateAlert('RXT', 'esc-1', step, T0 + 60 * 60_000)).toBe(false);
    expect(await store.alert('RXT', 'esc-1')).toMatchObject({ escalated: step, version: 2 });
    expect(await outboxLength()).toBe(out + 1);
    expect(Number(await redis.zscore(keys.escalations('RXT'), 'esc-1'))).toBe(T0 + 60 * 60_000);
    await run(3, store.planApply({ site: 'RXT', patientId: 'P9', before: fold([]).view, after: fold([]).view, state: null, offsetField: '', offset: '0', acknowledge: { alertId: 'esc-1', by: 'n-1', at: T0 + 40 * 60_000 } }).changes);
    expect(await store.escalateAlert('RXT', 'esc-1', { level: 2, role: 'ops', at: T0 + 60 * 60_000 })).toBe(false);
    expect(await store.alert('RXT', 'esc-1')).toMatchObject({ escalated: step, version: 3, acknowledged: { by: 'n-1' } });
    expect(await outboxLength()).toBe(out + 2);
    expect(await redis.zscore(keys.escalations('RXT'), 'esc-1')).toBeNull();
  });

  it('leaves fence epochs out of the canonical dump', async () => {
    const dump = await store.dump();
    expect(Object.keys(dump).some((k) => k.includes('fence'))).toBe(false);
    expect(Object.keys(dump)).toContain(keys.offsets('RXT'));
  });
});
