// Every alert change reaches the alerts topic, none twice: the engine's partitions and
// the scanner drain the outbox at the same time, as they do in production.
import Redis from 'ioredis';
import { Kafka, type Consumer } from 'kafkajs';
import { topicsFor, type Alert } from '@pfm/contracts';
import { DEFAULT_THRESHOLDS } from '@pfm/flow-domain';
import { FlowStore, Keys, WardRegistry } from '@pfm/flow-store';
import { createProducer, sendFlowEvents } from '@pfm/kafka-runtime';
import { createLogger } from '@pfm/observability';
import { syntheticEvents, uniqueName, waitFor } from '@pfm/testkit';
import { EventTimeClock } from './clock';
import { closeEngineStack, openEngineStack, readJsonTopics, type EngineStack } from './testing';
import { engineTopics, FlowEngine } from './engine';
import { Scanner } from './scanner';

describe('alert outbox under concurrent drains', () => {
  const ns = uniqueName('alerts-once');
  const t = topicsFor(ns);
  const topics = engineTopics(t);
  const logger = createLogger('alerts-once-test');
  logger.level = 'warn';
  const keys = new Keys(ns.replace(/-/g, '_'));
  let kafka: Kafka;
  let redis: Redis;
  let store: FlowStore;
  let producer: ReturnType<typeof createProducer>;
  let reader: Consumer;
  let engine: FlowEngine;
  let codec: EngineStack['codec'];
  const published: Alert[] = [];

  beforeAll(async () => {
    ({ kafka, redis, codec, producer } = await openEngineStack(ns, t.flowEvents, 3));
    store = new FlowStore(redis, keys, new WardRegistry([]), DEFAULT_THRESHOLDS);
    reader = await readJsonTopics(kafka, `${ns}-reader`, [t.alerts], (_, a) => published.push(a as Alert));

    const events = syntheticEvents({ total: 12_000, seed: 11 });
    for (let i = 0; i < events.length; i += 4000) await sendFlowEvents(producer, codec, events.slice(i, i + 4000), t.flowEvents);
    const clock = new EventTimeClock();
    engine = new FlowEngine({ kafka, producer, codec, store, clock, logger, groupId: `${ns}-engine`, topics, publish: true, partitionsConcurrently: 3, maxBatchBytes: 64 * 1024 });
    const scanner = new Scanner({ store, engine, clock, producer, codec, flowTopic: t.flowEvents, logger, parkWaitMs: 3600_000, expireParked: false });
    let consuming = true;
    // The scanner drains the same outbox while the three partitions do.
    const scanning = (async () => { while (consuming) { await scanner.scanOnce(); await new Promise((r) => setTimeout(r, 5)); } })();
    await engine.start();
    await waitFor(async () => {
      const applied = await store.appliedOffsets(t.flowEvents);
      let n = 0;
      for (const off of applied.values()) n += Number(off) + 1;
      return n === events.length;
    }, { timeoutMs: 120_000, what: 'every event applied' });
    consuming = false;
    await scanning;
    await scanner.scanOnce();
  }, 180_000);

  afterAll(() => closeEngineStack({ engine, reader, producer, store, redis }));

  /** Every alert Redis holds, active or resolved, by id. */
  async function alertsInRedis(): Promise<Map<string, Alert>> {
    const out = new Map<string, Alert>();
    let cursor = '0';
    do {
      const [next, batch] = await redis.scan(cursor, 'MATCH', keys.alert('RXT', '*'), 'COUNT', 1000);
      cursor = next;
      for (let i = 0; i < batch.length; i += 500) {
        const raw = await redis.mget(...batch.slice(i, i + 500));
        for (const r of raw) if (r) { const a = JSON.parse(r) as Alert; out.set(a.alertId, a); }
      }
    } while (cursor !== '0');
    return out;
  }

  it('publishes every change of every alert exactly once, the last one equal to Redis', async () => {
    const expected = await alertsInRedis();
    expect(expected.size).toBeGreaterThan(100);
    const changes = [...expected.values()].reduce((n, a) => n + (a.version ?? 0), 0);
    // Wait for the topic to hold every change (the reader may be behind), then compare.
    await waitFor(() => published.length >= changes, { timeoutMs: 60_000, what: `${changes} alert changes on the alerts topic (have ${published.length})` });
    const seen = new Map<string, number>();
    const last = new Map<string, Alert>();
    for (const a of published) {
      const key = `${a.alertId}@${a.version}`;
      seen.set(key, (seen.get(key) ?? 0) + 1);
      const prev = last.get(a.alertId);
      if (!prev || (a.version ?? 0) >= (prev.version ?? 0)) last.set(a.alertId, a);
    }
    const stale = [...expected.values()].filter((a) => JSON.stringify(last.get(a.alertId)) !== JSON.stringify(a)).map((a) => a.alertId);
    expect(stale).toEqual([]);
    expect(last.size).toBe(expected.size);
    const twice = [...seen].filter(([, n]) => n > 1).map(([k]) => k);
    expect(twice).toEqual([]);
    expect(published).toHaveLength(changes);
  });

  it('publishes each queued alert once when several callers drain one site at the same moment', async () => {
    const before = published.length;
    const raised = Array.from({ length: 2000 }, (_, i) => ({ alertId: `drain-${i}`, rule: 'stranded' as const, severity: 'info' as const, threshold: { value: 7, unit: 'days' as const }, source: 'test', message: 'm', site: 'DRN', patientId: `D${i}`, becameTrueAt: i, raisedAt: i }));
    let writing = true;
    const drainer = async () => { while (writing) await engine.drainOutbox('DRN'); await engine.drainOutbox('DRN'); };
    const drains = [drainer(), drainer(), drainer(), drainer()];
    for (let i = 0; i < raised.length; i += 50) await Promise.all(raised.slice(i, i + 50).map((a) => store.raiseAlert(a, `x-${a.alertId}`)));
    writing = false;
    await Promise.all(drains);
    await waitFor(() => published.filter((a) => a.site === 'DRN').length >= raised.length, { timeoutMs: 30_000, what: 'the drained alerts on the topic' });
    await new Promise((r) => setTimeout(r, 1000)); // any repeats would land by now
    const ids = published.slice(before).filter((a) => a.site === 'DRN').map((a) => a.alertId);
    expect(new Set(ids).size).toBe(raised.length);
    expect(ids).toHaveLength(raised.length);
  });
  it('publishes on the next pass the alert changes whose publish failed, without waiting for another process to claim them', async () => {
    // A second engine with its own producer and outbox reader name; the producer is
    // disconnected while the changes are read, as when the broker goes away mid-publish.
    const failing = createProducer(kafka);
    await failing.connect();
    const other = new FlowEngine({ kafka, producer: failing, codec, store, clock: new EventTimeClock(), logger, groupId: `${ns}-engine-b`, topics, publish: true });
    const raised = Array.from({ length: 40 }, (_, i) => ({ alertId: `fail-${i}`, rule: 'stranded' as const, severity: 'info' as const, threshold: { value: 7, unit: 'days' as const }, source: 'test', message: 'm', site: 'FLR', patientId: `F${i}`, becameTrueAt: i, raisedAt: i }));
    for (const a of raised) await store.raiseAlert(a, `x-${a.alertId}`);
    await failing.disconnect();
    await expect(other.drainOutbox('FLR')).rejects.toThrow();
    // Read under the second engine's name and not acknowledged: still in the outbox.
    expect(await store.outboxDepth('FLR')).toBe(raised.length);
    await failing.connect();
    try {
      expect(await other.drainOutbox('FLR')).toBe(raised.length);
      expect(await store.outboxDepth('FLR')).toBe(0);
      await waitFor(() => new Set(published.filter((a) => a.site === 'FLR').map((a) => a.alertId)).size === raised.length, { timeoutMs: 30_000, what: 'every change of the failed publish on the topic' });
    } finally {
      await failing.disconnect();
    }
  });
});
