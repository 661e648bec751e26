// The insights service's ops surface as a real child process on the real Kafka and
// schema registry: /healthz, /readyz, and /metrics with the group's consumer lag per
// topic and partition (0 once the warehouse holds the log) and its dependency checks.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { topicSpecs, topicsFor } from '@pfm/contracts';
import { createProducer, ensureTopics, FlowEventCodec, kafkaClientConfig, sendFlowEvents } from '@pfm/kafka-runtime';
import { freePort, logReady, requireStack, startService, syntheticEvents, uniqueName, waitFor, type RunningService } from '@pfm/testkit';

const EVENTS = 200;

/** Value of the sample of `name` whose labels include every one given; undefined when none. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const body = line.slice(name.length + 1, line.lastIndexOf('}'));
    if (Object.entries(labels).every(([k, v]) => body.includes(`${k}="${v}"`))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

describe('insights ops server', () => {
  const ns = uniqueName('insights-ops');
  const topics = topicsFor(ns);
  const group = uniqueName('insights-ops-g');
  let dir: string;
  let kafka: Kafka;
  let svc: RunningService | undefined;
  let url: string;

  beforeAll(async () => {
    const stack = await requireStack();
    dir = mkdtempSync(join(tmpdir(), 'pfm-insights-ops-'));
    kafka = new Kafka(kafkaClientConfig({ brokers: stack.kafkaBrokers, clientId: ns, logLevel: logLevel.NOTHING }));
    const admin = kafka.admin();
    await admin.connect();
    await ensureTopics(admin, topicSpecs({ namespace: ns, partitions: 3 }));
    await admin.disconnect();
    const codec = new FlowEventCodec(stack.schemaRegistryUrl, `${topics.flowEvents}-value`);
    await codec.init();
    const producer = createProducer(kafka);
    await producer.connect();
    await sendFlowEvents(producer, codec, syntheticEvents({ total: EVENTS, seed: 21 }), topics.flowEvents);
    await producer.disconnect();
  });

  afterAll(async () => {
    await svc?.stop();
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteGroups([group]).catch(() => undefined);
    await admin.deleteTopics({ topics: Object.values(topics) }).catch(() => undefined);
    await admin.disconnect();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers health and readiness, and exports the group lag on both topics (0 once the warehouse holds the log) and its dependencies', async () => {
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    svc = await startService('insights', {
      PFM_TOPIC_NAMESPACE: ns, PFM_INSIGHTS_DB: join(dir, 'w.duckdb'), PFM_INSIGHTS_GROUP: group,
      PFM_INSIGHTS_SECRET: 'insights-ops-test-secret-0123456789abcdef', PFM_OPS_PORT: String(port),
      // The read API needs token keys to start (closed by default) and any free port.
      PFM_JWT_SECRET: 'insights-ops-test-jwt-secret-0123456789abcdef', PFM_INSIGHTS_PORT: '0',
    }, logReady('insights running'), 120_000);

    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${url}/readyz`);
    expect({ status: ready.status, body: (await ready.json()) as unknown }).toEqual({
      status: 200, body: { status: 'ready', checks: { kafka: expect.objectContaining({ ok: true }), warehouse: { ok: true } } },
    });

    // Once the warehouse has every event, the group has committed the end of every partition.
    const text = await waitFor(async () => {
      const t = await (await fetch(`${url}/metrics`)).text();
      const lags = [0, 1, 2].map((p) => sample(t, 'pfm_kafka_consumer_lag', { group, topic: topics.flowEvents, partition: String(p) }));
      return lags.every((l) => l === 0) ? t : undefined;
    }, { timeoutMs: 60_000, what: 'insights lag 0 on every flow-events partition' });
    // The alerts topic is watched too: nothing written there, nothing behind.
    expect(sample(text, 'pfm_kafka_consumer_lag', { group, topic: topics.alerts, partition: '0' })).toBe(0);
    for (const dependency of ['kafka', 'schema_registry', 'warehouse']) {
      expect({ dependency, up: sample(text, 'pfm_dependency_up', { dependency }) }).toEqual({ dependency, up: 1 });
    }
  });
});
