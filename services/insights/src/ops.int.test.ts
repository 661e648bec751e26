/** @pfm-stack kafka registry */
// The insights service's ops surface as a real child process on the real Kafka and
// schema registry: /healthz, /readyz, and /metrics with the group's consumer lag per
// topic and partition (0 once the warehouse holds the log) and its dependency checks.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TopicSet } from '@pfm/contracts';
import { freePort, logReady, metricSample, syntheticEvents, uniqueName, waitFor, type RunningService } from '@pfm/testkit';
import { openScratch, type Scratch } from '../../../tests/support/scratch';
import { startInsights } from './testing';

const EVENTS = 200;

describe('insights ops server', () => {
  const group = uniqueName('insights-ops-g');
  let dir: string;
  let log: Scratch | undefined;
  let topics: TopicSet;
  let svc: RunningService | undefined;
  let url: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pfm-insights-ops-'));
    log = await openScratch('insights-ops');
    ({ topics } = log);
    await log.send(syntheticEvents({ total: EVENTS, seed: 21 }));
  });

  afterAll(async () => {
    await svc?.stop();
    await log?.admin.deleteGroups([group]).catch(() => undefined);
    await log?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers health and readiness, and exports the group lag on both topics (0 once the warehouse holds the log) and its dependencies', async () => {
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    svc = await startInsights(log!.ns, join(dir, 'w.duckdb'), {
      PFM_INSIGHTS_GROUP: group, PFM_INSIGHTS_SECRET: 'insights-ops-test-secret-0123456789abcdef', PFM_OPS_PORT: String(port),
    }, logReady('insights running'));

    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${url}/readyz`);
    expect({ status: ready.status, body: (await ready.json()) as unknown }).toEqual({
      status: 200, body: { status: 'ready', checks: { kafka: expect.objectContaining({ ok: true }), warehouse: { ok: true } } },
    });

    // Once the warehouse has every event, the group has committed the end of every partition.
    const text = await waitFor(async () => {
      const t = await (await fetch(`${url}/metrics`)).text();
      const lags = [0, 1, 2].map((p) => metricSample(t, 'pfm_kafka_consumer_lag', { group, topic: topics.flowEvents, partition: String(p) }));
      return lags.every((l) => l === 0) ? t : undefined;
    }, { timeoutMs: 60_000, what: 'insights lag 0 on every flow-events partition' });
    // The alerts topic is watched too: nothing written there, nothing behind.
    expect(metricSample(text, 'pfm_kafka_consumer_lag', { group, topic: topics.alerts, partition: '0' })).toBe(0);
    for (const dependency of ['kafka', 'schema_registry', 'warehouse']) {
      expect({ dependency, up: metricSample(text, 'pfm_dependency_up', { dependency }) }).toEqual({ dependency, up: 1 });
    }
  });

  it('says "caught up" once: events that arrive later are folded without the line again (a live log would repeat it all day)', async () => {
    const caughtUpLines = () => svc!.logs.filter((l) => l.includes('insights caught up with the log')).length;
    await waitFor(() => caughtUpLines() === 1, { timeoutMs: 30_000, what: 'the first "caught up" line' });
    // Events on every partition: each partition's batch reaches its end while others are still behind.
    await log!.send(syntheticEvents({ total: EVENTS, seed: 22 }));
    // Lag is read from Kafka on each scrape: right after the send it counts the new events.
    await waitFor(async () => {
      const t = await (await fetch(`${url}/metrics`)).text();
      const lags = [0, 1, 2].map((p) => metricSample(t, 'pfm_kafka_consumer_lag', { group, topic: topics.flowEvents, partition: String(p) }));
      return lags.every((l) => l === 0) || undefined;
    }, { timeoutMs: 60_000, what: 'the new events folded (lag 0 again)' });
    expect(caughtUpLines()).toBe(1);
  });
});
