// The engine against the real stack: Kafka (namespaced topics), the schema registry and Redis.
import Redis from 'ioredis';
import { Kafka, type Consumer } from 'kafkajs';
import { topicsFor, type Alert, type BoardUpdate, type FlowEvent, type Reject } from '@pfm/contracts';
import { DEFAULT_THRESHOLDS, emptyPatient, evolve } from '@pfm/flow-domain';
import { days, ev, T0 } from '@pfm/flow-domain/src/testing';
import { FlowStore, Keys, WardRegistry } from '@pfm/flow-store';
import { createProducer, FlowEventCodec, sendFlowEvents } from '@pfm/kafka-runtime';
import { createLogger } from '@pfm/observability';
import { uniqueName, waitFor } from '@pfm/testkit';
import { EventTimeClock } from './clock';
import { closeEngineStack, openEngineStack, readJsonTopics } from './testing';
import { engineTopics, FlowEngine } from './engine';
import { Scanner } from './scanner';

const registry = new WardRegistry([
  { site: 'RXT', code: 'OAK', name: 'Oak Ward', type: 'adult_acute', beds: 10 },
  { site: 'RXT', code: 'ELM', name: 'Elm Ward', type: 'picu', beds: 6 },
]);

describe('flow-engine on the real stack', () => {
  const ns = uniqueName('engine');
  const t = topicsFor(ns);
  const topics = engineTopics(t);
  const logger = createLogger('engine-test');
  logger.level = 'warn';
  let kafka: Kafka;
  let redis: Redis;
  let store: FlowStore;
  let codec: FlowEventCodec;
  let producer: ReturnType<typeof createProducer>;
  let reader: Consumer;
  const out = { updates: [] as BoardUpdate[], alerts: [] as Alert[], rejects: [] as Reject[] };
  const clock = new EventTimeClock();
  let engine: FlowEngine;

  const startEngine = async () => {
    engine = new FlowEngine({ kafka, producer, codec, store, clock, logger, groupId: `${ns}-engine`, topics, publish: true });
    await engine.start();
    return engine;
  };

  beforeAll(async () => {
    ({ kafka, redis, codec, producer } = await openEngineStack(ns, t.flowEvents, 2));
    store = new FlowStore(redis, new Keys(ns.replace(/-/g, '_')), registry, DEFAULT_THRESHOLDS);
    reader = await readJsonTopics(kafka, `${ns}-reader`, [t.boardUpdates, t.alerts, t.ingestRejects], (topic, v) => {
      if (topic === t.boardUpdates) out.updates.push(v as BoardUpdate);
      else if (topic === t.alerts) out.alerts.push(v as Alert);
      else out.rejects.push(v as Reject);
    });
    await startEngine();
  });

  afterAll(() => closeEngineStack({ engine, reader, producer, store, redis }));

  const send = (events: FlowEvent[]) => sendFlowEvents(producer, codec, events, t.flowEvents);
  const oak = async () => (await store.wardSummaries('RXT', ['OAK'], clock.now()))[0]!;

  it('applies admissions, publishes ordered board updates, and applies a re-sent event once', async () => {
    const a1 = ev('patient.admitted', { spellId: 'S1', ward: 'OAK', bed: 'B1' }, T0, { patientId: 'P1' });
    const a2 = ev('patient.admitted', { spellId: 'S2', ward: 'OAK', bed: 'B2' }, T0 + 1000, { patientId: 'P2' });
    await send([a1, a2, a1]);
    await waitFor(async () => (await oak()).occupied === 2 && out.updates.some((u) => u.change?.eventId === a2.eventId), { what: 'two admissions applied' });
    expect(engine.stats.duplicate).toBeGreaterThanOrEqual(1);
    expect((await oak()).occupied).toBe(2);
  });

  it('applies an event to a patient stored in the old single-key form: its whole history goes to the list', async () => {
    // As a version before the history list wrote it: every event inside the state's JSON.
    const admitted = evolve(emptyPatient('RXT', 'OLD1'), ev('patient.admitted', { spellId: 'SO1', ward: 'OAK', bed: 'B9' }, T0, { patientId: 'OLD1' })).state;
    await redis.set(store.keys.patient('RXT', 'OLD1'), JSON.stringify(admitted));
    const leave = ev('leave.started', { spellId: 'SO1' }, T0 + days(1), { patientId: 'OLD1' });
    await send([leave]);
    await waitFor(async () => (await store.patient('RXT', 'OLD1'))?.events.length === 2, { what: 'the event applied after the stored history' });
    expect((await store.patient('RXT', 'OLD1'))!.events.map((e) => e.eventId)).toEqual([admitted.events[0]!.eventId, leave.eventId]);
    expect((await redis.lrange(store.keys.history('RXT', 'OLD1'), 0, -1)).map((x) => (JSON.parse(x) as FlowEvent).eventId)).toEqual([admitted.events[0]!.eventId, leave.eventId]);
  });

  it('parks a transfer for an unknown spell and applies it when the admission arrives', async () => {
    const tr = ev('patient.transferred', { spellId: 'S3', ward: 'ELM', bed: 'E1' }, T0 + days(1), { patientId: 'P3' });
    await send([tr]);
    await waitFor(async () => (await store.patient('RXT', 'P3'))?.parked.length === 1, { what: 'transfer parked' });
    await send([ev('patient.admitted', { spellId: 'S3', ward: 'OAK' }, T0, { patientId: 'P3' })]);
    await waitFor(async () => (await store.wardSummaries('RXT', ['ELM'], clock.now()))[0]!.occupied === 1, { what: 'parked transfer applied' });
    expect((await store.patient('RXT', 'P3'))!.parked).toEqual([]);
    expect((await oak()).occupied).toBe(2);
  });

  it('rejects an impossible transition with a reason on the rejects topic, and keeps consuming', async () => {
    const d1 = ev('patient.discharged', { spellId: 'S2', destination: 'home' }, T0 + days(2), { patientId: 'P2' });
    const d2 = ev('patient.discharged', { spellId: 'S2' }, T0 + days(3), { patientId: 'P2' });
    const next = ev('patient.admitted', { spellId: 'S4', ward: 'OAK' }, T0 + days(3), { patientId: 'P4' });
    await send([d1, d2, next]);
    const rej = await waitFor(() => out.rejects.find((r) => r.eventId === d2.eventId), { what: 'reject of the second discharge' });
    expect(rej).toMatchObject({ stage: 'engine', reason: 'discharge of already discharged spell S2' });
    await waitFor(async () => (await store.patient('RXT', 'P4')) !== null, { what: 'the event after the bad one' });
  });

  it('raises a stranded alert on event time once, also after a restart and a second scan', async () => {
    const scanner = () => new Scanner({ store, engine, clock, producer, codec, flowTopic: t.flowEvents, logger, parkWaitMs: 3600_000 });
    // Move event time past day 7 of P1's spell in every partition with unrelated events
    // (the scanner fires only up to the slowest partition's event time).
    await send(['P9', 'P10', 'P11', 'P12', 'P13', 'P14'].map((pid, i) => ev('referral.received', { referralId: `R${i}`, team: 'CRISIS', teamType: 'crisis', urgency: 'urgent' }, T0 + days(8), { patientId: pid })));
    await waitFor(() => clock.scanTime() >= T0 + days(8), { what: 'event clock of every partition to reach day 8' });
    await scanner().scanOnce();
    const strandedP1 = await waitFor(() => out.alerts.find((a) => a.rule === 'stranded' && a.patientId === 'P1'), { what: 'stranded alert for P1' });
    expect(strandedP1).toMatchObject({ becameTrueAt: T0 + days(7), threshold: { value: 7, unit: 'days' }, ward: 'OAK' });
    await engine.stop();
    await startEngine();
    await scanner().scanOnce();
    await send([ev('patient.admitted', { spellId: 'S5', ward: 'OAK' }, T0 + days(8), { patientId: 'P5' })]);
    await waitFor(async () => (await store.patient('RXT', 'P5')) !== null, { what: 'engine running again' });
    expect(out.alerts.filter((a) => a.alertId === strandedP1.alertId)).toHaveLength(1);
    expect((await oak()).stranded).toBeGreaterThanOrEqual(1);
  });

  it('resolves an alert when its condition stops holding (discharge ends stranded)', async () => {
    const stranded = out.alerts.find((a) => a.rule === 'stranded' && a.patientId === 'P1' && !a.resolvedAt)!;
    expect((await store.alerts('RXT')).some((a) => a.alertId === stranded.alertId)).toBe(true);
    await send([ev('patient.discharged', { spellId: 'S1', destination: 'home' }, T0 + days(9), { patientId: 'P1' })]);
    const resolved = await waitFor(() => out.alerts.find((a) => a.alertId === stranded.alertId && a.resolvedAt), { what: 'the resolved stranded alert' });
    expect(resolved.resolvedAt).toBe(T0 + days(9));
    expect((await store.alerts('RXT')).some((a) => a.alertId === stranded.alertId)).toBe(false);
    expect((await store.alert('RXT', stranded.alertId))?.resolvedAt).toBe(T0 + days(9));
  });

  it('an open alert follows the patient on a transfer (A02): its next version on the alerts topic names the new ward, and the store reads it there', async () => {
    await send([ev('patient.admitted', { spellId: 'S20', ward: 'OAK', bed: 'B9' }, T0, { patientId: 'P20' })]);
    await waitFor(async () => (await store.patient('RXT', 'P20')) !== null, { what: 'P20 admitted' });
    await new Scanner({ store, engine, clock, producer, codec, flowTopic: t.flowEvents, logger, parkWaitMs: 3600_000 }).scanOnce();
    const raised = await waitFor(() => out.alerts.find((a) => a.rule === 'stranded' && a.patientId === 'P20'), { what: 'stranded alert for P20 on OAK' });
    expect(raised).toMatchObject({ ward: 'OAK', version: 1 });
    await send([ev('patient.transferred', { spellId: 'S20', ward: 'ELM', bed: 'E2' }, T0 + days(8) + 1000, { patientId: 'P20' })]);
    const moved = await waitFor(() => out.alerts.find((a) => a.alertId === raised.alertId && a.ward === 'ELM'), { what: 'the stranded alert moved to ELM' });
    expect(moved).toMatchObject({ version: 2, becameTrueAt: raised.becameTrueAt });
    expect(moved.resolvedAt).toBeUndefined();
    expect((await store.alerts('RXT')).filter((a) => a.patientId === 'P20').map((a) => [a.alertId, a.ward])).toEqual([[raised.alertId, 'ELM']]);
  });

  it('resumes from the Redis record after a restart without double counting', async () => {
    const before = await oak();
    await engine.stop();
    // Kafka's committed offsets are rewound; Redis's record must win.
    const admin = kafka.admin();
    await admin.connect();
    await admin.resetOffsets({ groupId: `${ns}-engine`, topic: t.flowEvents, earliest: true });
    await admin.disconnect();
    await startEngine();
    const marker = ev('patient.admitted', { spellId: 'S6', ward: 'ELM' }, T0 + days(8), { patientId: 'P6' });
    await send([marker]);
    await waitFor(async () => (await store.patient('RXT', 'P6')) !== null, { what: 'marker applied' });
    expect((await oak()).occupied).toBe(before.occupied);
  });

  it('A40: moves the retired record\'s spell and bed to the survivor once, so its A03 frees the bed and the board shows one patient', async () => {
    const elm = async () => (await store.wardSummaries('RXT', ['ELM'], clock.now()))[0]!;
    const start = (await elm()).occupied;
    await send([ev('patient.admitted', { spellId: 'SM', ward: 'ELM', bed: 'B9' }, T0 + days(8), { patientId: 'M-OLD' })]);
    await waitFor(async () => (await elm()).occupied === start + 1, { what: 'retired record admitted' });
    const merge = ev('patient.merged', { mergedPatientId: 'M-OLD' }, T0 + days(8) + 3_600_000, { patientId: 'M-NEW' });
    await send([merge, merge]);
    await waitFor(async () => (await store.patient('RXT', 'M-OLD'))?.mergedInto === 'M-NEW', { what: 'the retired record to point at the survivor' });
    expect((await elm()).occupied).toBe(start + 1);
    expect(await store.bedsOnWard('RXT', 'ELM')).toMatchObject({ B9: ['M-NEW|SM'] });
    expect((await store.patientsOnWard('RXT', 'ELM', clock.now())).filter((r) => r.spellId === 'SM').map((r) => r.patientId)).toEqual(['M-NEW']);
    const a03 = ev('patient.discharged', { spellId: 'SM', destination: '19' }, T0 + days(9), { patientId: 'M-NEW' });
    await send([a03]);
    await waitFor(async () => (await elm()).occupied === start, { what: 'the survivor\'s A03 to free the bed' });
    expect(out.rejects.filter((r) => r.eventId === a03.eventId)).toEqual([]);
    expect((await store.patient('RXT', 'M-OLD'))!.events).toEqual([]);
  });
});
