import { DEFAULT_THRESHOLDS } from '@pfm/flow-domain';
import { createLogger } from '@pfm/observability';
import { topicsFor } from '@pfm/contracts';
import Redis from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import { createProducer, FlowEventCodec } from '@pfm/kafka-runtime';
import { boardAt, replay, SnapshotStore } from './packages/flow-processing/src';
import { trustYear } from './scripts/bench-time-travel';
async function main() {
  const ns = 't-ttbench-mx5jtf7r-fc2e90'; const t = topicsFor(ns);
  const { registry, events } = trustYear(365);
  const redis = new Redis(process.env.REDIS_URL!);
  const kafka = new Kafka({ brokers: process.env.KAFKA_BROKERS!.split(','), clientId: 'prof', logLevel: logLevel.NOTHING });
  const codec = new FlowEventCodec(process.env.SCHEMA_REGISTRY_URL!, `${t.flowEvents}-value`); await codec.init();
  const producer = createProducer(kafka); await producer.connect();
  const logger = createLogger('p'); logger.level = 'warn';
  const snapshots = new SnapshotStore(redis, SnapshotStore.prefixFor(ns), t.flowEvents, DEFAULT_THRESHOLDS, registry);
  console.log('version', snapshots.version, (await snapshots.list()).length);
  const lo = Math.min(...events.map((e) => e.occurredAt)); const hi = Math.max(...events.map((e) => e.recordedAt));
  for (const f of [0.1, 0.5, 0.9, 0.97]) {
    const at = Math.floor(lo + f * (hi - lo));
    const t0 = Date.now();
    const r = await replay({ kafka, redis, producer, codec, registry, logger }, { name: `prof-${String(f).replace(".", "")}`, thresholds: DEFAULT_THRESHOLDS, sourceTopic: t.flowEvents, until: at, basis: 'known', snapshots });
    const t1 = Date.now();
    const b = await boardAt(r.store, at);
    const t2 = Date.now();
    await r.store.clear();
    console.log(f, 'total', t1 - t0, 'board', t2 - t1, JSON.stringify(r.phases), 'read', r.events, 'snap', JSON.stringify(r.fromSnapshot), 'alerts', b.sites.map((s) => s.alerts.length), 'flagged', b.sites.map((s) => s.flagged.length));
  }
  await producer.disconnect(); redis.disconnect();
}
void main();
