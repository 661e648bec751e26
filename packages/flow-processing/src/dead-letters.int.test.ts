// Poison events never stall a partition: events that can never apply go to the
// dead-letter topic with the reason, partition and offset; every good event around them
// is applied. Real Kafka, registry and Redis.
import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { Kafka, type Consumer } from 'kafkajs';
import { flowEventSchema, improvementPatientId, partitionKey, rejectSchema, topicsFor, type FlowEvent, type Reject } from '@pfm/contracts';
import { RejectKeys } from '@pfm/access';
import { DEFAULT_THRESHOLDS } from '@pfm/flow-domain';
import { FlowStore, Keys, WardRegistry } from '@pfm/flow-store';
import { createProducer, sendFlowEvents } from '@pfm/kafka-runtime';
import { createLogger, Metrics } from '@pfm/observability';
import { syntheticEvents, uniqueName, waitFor } from '@pfm/testkit';
import { EventTimeClock } from './clock';
import { closeEngineStack, openEngineStack, readJsonTopics, type EngineStack } from './testing';
import { engineTopics, FlowEngine } from './engine';

describe('dead letters', () => {
  const ns = uniqueName('dlq');
  const t = topicsFor(ns);
  const topics = engineTopics(t);
  const logger = createLogger('dlq-test');
  logger.level = 'fatal';
  const keys = new Keys(ns.replace(/-/g, '_'));
  let kafka: Kafka;
  let redis: Redis;
  let store: FlowStore;
  let producer: ReturnType<typeof createProducer>;
  let reader: Consumer;
  let engine: FlowEngine;
  let codec: EngineStack['codec'];
  const metrics = new Metrics('dlq-test');
  const sealKeys = RejectKeys.parse(`k1:${randomBytes(32).toString('base64')}`)!;
  const dead: Reject[] = [];
  const good = syntheticEvents({ total: 10_000, seed: 5 });
  const note: FlowEvent = {
    eventId: 'improvement:N1', type: 'improvement.noted', occurredAt: good[5000]!.occurredAt, recordedAt: good[5000]!.recordedAt, site: 'RXT',
    patientId: improvementPatientId('N1'), sourceSystem: 'pfm-insights', channel: 'ui',
    payload: { noteId: 'N1', title: 'Discharge coordinator', effectiveDate: '2026-03-02', author: 'analyst-1', measures: ['crfd_bed_days'], expectedDirection: 'down' },
  };

  beforeAll(async () => {
    ({ kafka, redis, codec, producer } = await openEngineStack(ns, t.flowEvents, 3));
    store = new FlowStore(redis, keys, new WardRegistry([]), DEFAULT_THRESHOLDS);
    reader = await readJsonTopics(kafka, `${ns}-reader`, [t.flowEventsDlq], (_, r) => dead.push(rejectSchema.parse(r)));

    // Poison, in the middle of the good events, in the partition of a patient who has good events too.
    const victim = good[5000]!;
    const key = partitionKey(victim);
    const contractBreaker: FlowEvent = { ...victim, eventId: 'poison-contract', site: 'not a site!' };
    await sendFlowEvents(producer, codec, good.slice(0, 5000), t.flowEvents);
    await producer.send({ topic: t.flowEvents, messages: [
      { key, value: Buffer.from('plain text, no magic byte') },
      { key, value: Buffer.concat([Buffer.from([0, 0, 0x0f, 0x42, 0x3f]), Buffer.from('unknown schema id')]) },
      { key, value: await codec.encode(contractBreaker) },
    ] });
    // An improvement note on the same log: no live state, never a dead letter.
    await sendFlowEvents(producer, codec, [note], t.flowEvents);
    await sendFlowEvents(producer, codec, good.slice(5000), t.flowEvents);

    engine = new FlowEngine({ kafka, producer, codec, store, clock: new EventTimeClock(), logger, metrics, groupId: `${ns}-engine`, topics, publish: true, sealReject: (r) => sealKeys.seal(r) });
    await engine.start();
    // Redis's record of what is applied reaches the end of every partition (the good events, the poison and the note).
    const sent = good.length + 4;
    await waitFor(async () => dead.length >= 3 && [...(await store.appliedOffsets(t.flowEvents)).values()].reduce((n, o) => n + Number(o) + 1, 0) === sent, { timeoutMs: 120_000, what: 'every event applied or passed over, and the poison dead-lettered' });
  }, 180_000);

  afterAll(() => closeEngineStack({ engine, reader, producer, store, redis }));

  it('the synthetic events themselves keep the contract', () => {
    expect(good.filter((e) => !flowEventSchema.safeParse(e).success)).toEqual([]);
  });

  it('sets each poison event aside with its reason, partition and offset', () => {
    expect(dead.map((d) => d.reason).sort()).toEqual(['event breaks the flow-event contract', 'undecodable event on the flow topic', 'undecodable event on the flow topic']);
    for (const d of dead) {
      expect(d).toMatchObject({ stage: 'engine', source: { topic: t.flowEvents, partition: expect.any(Number), offset: expect.stringMatching(/^\d+$/) } });
      expect(d.rejectId).toBe(`dlq:${t.flowEvents}:${d.source!.partition}:${d.source!.offset}`);
    }
    const contract = dead.find((d) => d.reason === 'event breaks the flow-event contract')!;
    expect(contract.eventId).toBe('poison-contract');
    expect(contract.errors[0]!.message).toMatch(/^site:/);
    expect(dead.some((d) => d.errors[0]?.message.includes('not found'))).toBe(true);
    expect(engine.stats.dead_lettered).toBe(3);
  });

  it('keeps what it sets aside sealed: no identifier in the stored record, and the key opens it', () => {
    const contract = dead.find((d) => d.eventId === 'poison-contract')!;
    const victim = good[5000]!;
    expect(contract.sealed).toEqual({ alg: 'A256GCM', kid: 'k1' });
    for (const d of dead) expect(d.raw).not.toContain(victim.patientId);
    const opened = sealKeys.open(contract);
    expect(JSON.parse(opened.raw)).toMatchObject({ eventId: 'poison-contract', patientId: victim.patientId, site: 'not a site!' });
    const undecodable = dead.filter((d) => d.reason === 'undecodable event on the flow topic').map((d) => Buffer.from(sealKeys.open(d).raw, 'base64').toString('utf8')).sort();
    expect(undecodable[1]).toBe('plain text, no magic byte');
  });

  it('counts them by reason for the dashboard and the alert, every reason exported from 0', async () => {
    const text = await metrics.registry.metrics();
    const value = (name: string, label: string) => Number(new RegExp(`^${name}\\{[^}]*${label}[^}]*\\} (\\S+)$`, 'm').exec(text)?.[1]);
    expect(Object.fromEntries(['empty', 'undecodable', 'contract', 'rules', 'redis_refused'].map((r) => [r, value('pfm_engine_dead_letters_total', `reason="${r}"`)])))
      .toEqual({ empty: 0, undecodable: 2, contract: 1, rules: 0, redis_refused: 0 });
    expect(value('pfm_engine_events_total', 'outcome="dead_lettered"')).toBe(3);
  });

  it('passes over an improvement note: no patient record, no dead letter, no reject', async () => {
    expect(dead.some((d) => d.eventId === note.eventId)).toBe(false);
    expect(await store.patient('RXT', note.patientId)).toBeNull();
  });

  it('applies every good event, before and after the poison', async () => {
    const patients = [...new Set(good.map((e) => e.patientId))];
    const states = await store.loadPatients(patients.map((patientId) => ({ site: 'RXT', patientId })));
    expect(states.filter((st) => st !== null)).toHaveLength(patients.length);
    const last = good[good.length - 1]!;
    const state = await store.patient('RXT', last.patientId);
    expect(state!.events.some((e) => e.eventId === last.eventId)).toBe(true);
  });
  it('has what it sets aside on Kafka before it commits past it: a send that fails applies nothing, and the retry sends it', async () => {
    // A second engine whose producer is disconnected for the first try, as when the broker
    // goes away between the apply and the send. The messages are handed over as kafkajs
    // hands a batch over, on a topic name of their own (the dead letters name it).
    const topic = `${t.flowEvents}.direct`;
    const sender = createProducer(kafka);
    await sender.connect();
    const other = new FlowEngine({ kafka, producer: sender, codec, store, clock: new EventTimeClock(), logger, groupId: `${ns}-engine-b`, topics, publish: true });
    const event = syntheticEvents({ total: 1, seed: 77 })[0]!;
    const messages = [
      { offset: '0', key: null, value: Buffer.from('not an event'), timestamp: String(Date.now()), attributes: 0, headers: {} },
      { offset: '1', key: null, value: await codec.encode({ ...event, site: 'DLR' }), timestamp: String(Date.now()), attributes: 0, headers: {} },
    ];
    await sender.disconnect();
    await expect(other.processMessages(topic, 0, messages)).rejects.toThrow();
    expect((await store.appliedOffsets(topic)).has(0)).toBe(false);
    expect(await store.patient('DLR', event.patientId)).toBeNull();
    await sender.connect();
    try {
      await other.processMessages(topic, 0, messages);
      expect((await store.appliedOffsets(topic)).get(0)).toBe('1');
      await waitFor(() => dead.some((d) => d.rejectId === `dlq:${topic}:0:0`), { timeoutMs: 30_000, what: 'the dead letter of the retried batch' });
    } finally {
      await sender.disconnect();
    }
  });
});
