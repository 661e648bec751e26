/** @pfm-stack redis */
// A patient's history on real Redis: an event that extends it is appended, a late event
// rewrites it from where it lands, a state stored in the old single-key form is read as
// it is and rewritten in two keys at its next change, and reads and the canonical dump
// see one state whatever the form.
import Redis from 'ioredis';
import { DEFAULT_THRESHOLDS, emptyPatient, evolve, fold, type PatientState } from '@pfm/flow-domain';
import { days, ev, T0 } from '@pfm/flow-domain/src/testing';
import type { FlowEvent } from '@pfm/contracts';
import { requireReachable, stackEnv, uniqueName } from '@pfm/testkit';
import { FlowStore, Keys, WardRegistry, type KeyedOp } from './index';

describe('patient history on real Redis', () => {
  let redis: Redis;
  const keys = new Keys(uniqueName('history').replace(/-/g, '_'));
  let store: FlowStore;
  let offset = 0;
  beforeAll(async () => {
    await requireReachable('Redis', stackEnv().redisUrl);
    redis = new Redis(stackEnv().redisUrl);
    store = new FlowStore(redis, keys, new WardRegistry([{ site: 'RXT', code: 'W12', name: 'Oak Ward', type: 'adult_acute', beds: 10 }]), DEFAULT_THRESHOLDS);
    await store.noteSite('RXT');
  });
  afterAll(async () => {
    await store.clear();
    redis.disconnect();
  });

  /** The ops of events applied one after another to `prior` (as the engine plans a run), and the state they lead to. */
  function plan(prior: PatientState, events: FlowEvent[]): { ops: KeyedOp[]; state: PatientState } {
    const ops: KeyedOp[] = [];
    let state = prior;
    for (const e of events) {
      const r = evolve(state, e);
      expect(r.outcome.kind).toBe('applied');
      ops.push(...store.planApply({ site: 'RXT', patientId: e.patientId, before: fold(state.events).view, after: r.view, state: r.state, prior: state, offsetField: '', offset: '0' }).changes);
      state = r.state;
    }
    return { ops, state };
  }
  const commit = (ops: KeyedOp[]) => store.commitRun({ site: 'RXT', field: 'history-test:0', first: String(offset), last: String(offset++), epoch: 1, ops });
  const historyOps = (ops: KeyedOp[]) => ops.filter((o) => o.op === 'hist');

  it('appends an event that extends the history and rewrites from where a late event lands; reads and the dump see one state', async () => {
    const a = plan(emptyPatient('RXT', 'H1'), [ev('patient.admitted', { spellId: 'S1', ward: 'W12', bed: 'B1' }, T0, { patientId: 'H1' })]);
    expect(await commit(a.ops)).toMatchObject({ status: 'applied' });
    const loaded = (await store.patient('RXT', 'H1'))!;
    expect(loaded).toEqual(a.state);
    // Two later events in one run: one op keeping the stored event and appending both.
    const b = plan(loaded, [
      ev('leave.started', { spellId: 'S1' }, T0 + days(2), { patientId: 'H1' }),
      ev('leave.ended', { spellId: 'S1' }, T0 + days(3), { patientId: 'H1' }),
    ]);
    expect(historyOps(b.ops).map((o) => o.a)).toEqual(['1', '2']);
    expect(await commit(b.ops)).toMatchObject({ status: 'applied' });
    expect(await redis.llen(keys.history('RXT', 'H1'))).toBe(3);
    // The state key holds the rest only.
    expect((JSON.parse((await redis.get(keys.patient('RXT', 'H1')))!) as PatientState).events).toEqual([]);
    // A late event (between the first two): the list is rewritten from its place.
    const c = plan((await store.patient('RXT', 'H1'))!, [ev('crfd.started', { spellId: 'S1', reasonCode: '14' }, T0 + days(1), { patientId: 'H1' })]);
    expect(historyOps(c.ops).map((o) => o.a)).toEqual(['1']);
    expect(await commit(c.ops)).toMatchObject({ status: 'applied' });
    const after = (await store.patient('RXT', 'H1'))!;
    expect(after).toEqual(c.state);
    expect(after.events.map((e) => e.type)).toEqual(['patient.admitted', 'crfd.started', 'leave.started', 'leave.ended']);
    // The canonical dump shows the state as one JSON, as written before the list existed.
    const dump = await store.dump();
    expect(dump[keys.patient('RXT', 'H1')]).toBe(JSON.stringify(c.state));
    expect(Object.keys(dump).filter((k) => k.includes(':h:'))).toEqual([]);
  });

  it('reads a state stored in the old single-key form, and rewrites its whole history at its next change', async () => {
    const old = plan(emptyPatient('RXT', 'H2'), [
      ev('patient.admitted', { spellId: 'S2', ward: 'W12', bed: 'B2' }, T0, { patientId: 'H2' }),
      ev('leave.started', { spellId: 'S2' }, T0 + days(1), { patientId: 'H2' }),
    ]).state;
    // As the previous version wrote it: every event in the state's JSON, no list.
    await redis.set(keys.patient('RXT', 'H2'), JSON.stringify(old));
    const dumpBefore = (await store.dump())[keys.patient('RXT', 'H2')];
    expect(dumpBefore).toBe(JSON.stringify(old));
    const loaded = (await store.patient('RXT', 'H2'))!;
    expect(loaded).toEqual(old);
    // The next change writes the whole history (keep 0), not an append to a list that does not hold it.
    const next = plan(loaded, [ev('leave.ended', { spellId: 'S2' }, T0 + days(2), { patientId: 'H2' })]);
    expect(historyOps(next.ops).map((o) => o.a)).toEqual(['0']);
    expect(await commit(next.ops)).toMatchObject({ status: 'applied' });
    expect(await redis.llen(keys.history('RXT', 'H2'))).toBe(3);
    expect(await store.patient('RXT', 'H2')).toEqual(next.state);
    expect((await store.dump())[keys.patient('RXT', 'H2')]).toBe(JSON.stringify(next.state));
  });

  it('writes the state key only when more than the history changed', async () => {
    const sets = (ops: KeyedOp[]) => ops.filter((o) => o.op === 'set');
    // A new patient: no state stored yet, so it is written.
    const a = plan(emptyPatient('RXT', 'H5'), [ev('patient.admitted', { spellId: 'S5', ward: 'W12', bed: 'B5' }, T0, { patientId: 'H5' })]);
    expect(sets(a.ops)).toHaveLength(1);
    expect(await commit(a.ops)).toMatchObject({ status: 'applied' });
    // Only the history grows: one append, the stored state left as it is, and read back the same.
    const b = plan((await store.patient('RXT', 'H5'))!, [ev('leave.started', { spellId: 'S5' }, T0 + days(1), { patientId: 'H5' })]);
    expect(sets(b.ops)).toEqual([]);
    expect(await commit(b.ops)).toMatchObject({ status: 'applied' });
    expect(await store.patient('RXT', 'H5')).toEqual(b.state);
    // The event brings an NHS number the state did not have: the state is written again.
    const c = plan(b.state, [ev('leave.ended', { spellId: 'S5' }, T0 + days(2), { patientId: 'H5', nhsNumber: '9434765919' })]);
    expect(sets(c.ops)).toHaveLength(1);
    expect(await commit(c.ops)).toMatchObject({ status: 'applied' });
    expect(await store.patient('RXT', 'H5')).toEqual(c.state);
    expect((await store.dump())[keys.patient('RXT', 'H5')]).toBe(JSON.stringify(c.state));
  });

  it('applies nothing of a run whose history op keeps more than the list holds', async () => {
    const a = plan(emptyPatient('RXT', 'H3'), [ev('patient.admitted', { spellId: 'S3', ward: 'W12', bed: 'B3' }, T0, { patientId: 'H3' })]);
    expect(await commit(a.ops)).toMatchObject({ status: 'applied' });
    const dump = await store.dump();
    // Planned against a history the store does not hold (two events where it has one).
    const bad = plan(plan(a.state, [ev('leave.started', { spellId: 'S3' }, T0 + days(1), { patientId: 'H3' })]).state, [ev('leave.ended', { spellId: 'S3' }, T0 + days(2), { patientId: 'H3' })]);
    await expect(commit([...plan(emptyPatient('RXT', 'H4'), [ev('patient.admitted', { spellId: 'S4', ward: 'W12', bed: 'B4' }, T0, { patientId: 'H4' })]).ops, ...bad.ops])).rejects.toThrow(/hist keeps more events than the history holds/);
    expect(await store.dump()).toEqual(dump);
  });
});
