// The services' real /metrics, scraped while they run on the real stack after an
// admission went through: every metric the Grafana dashboard and the alert rules read is
// exported, and the on-call metrics say what happened (lag, dependencies, delays).
import type { BoardUpdate } from '@pfm/contracts';
import { dashboardExpressions, exposedNames, loadDashboard, loadRules, metricNames, ruleExpressions } from '@pfm/ops-checks';
import { freePort, metricSample, waitFor } from '@pfm/testkit';
import { postEvents, startProduct, type ProductUnderTest } from './support/stack';

/** Series Prometheus makes itself, not the services. */
const PROMETHEUS_OWN = new Set(['up']);

async function scrape(url: string): Promise<string> {
  const r = await fetch(`${url}/metrics`);
  expect(r.status).toBe(200);
  return r.text();
}

describe('ops metrics of the running services', () => {
  let p: ProductUnderTest;
  let engineUrl: string;
  beforeAll(async () => {
    const opsPort = await freePort();
    engineUrl = `http://127.0.0.1:${opsPort}`;
    p = await startProduct({ extraEnv: { PFM_OPS_PORT: String(opsPort) } });
  });
  afterAll(async () => { await p?.stop(); });

  it('after an admission, every metric of the dashboard and the alert rules is exported, and lag, dependencies and delays read right', async () => {
    const socket = await p.connect(await p.token());
    const updates: BoardUpdate[] = [];
    socket.on('update', (u) => updates.push(u));
    expect(await new Promise<{ ok: boolean }>((resolve) => socket.emit('join', { kind: 'ward', site: 'RXT', ward: 'OAK' }, resolve))).toEqual({ ok: true });
    const admitted = await postEvents(p.ingestUrl, {
      eventId: 'ops-adm-1', type: 'patient.admitted', occurredAt: new Date(Date.now() - 60_000).toISOString(), site: 'RXT', patientId: 'OPS1', sourceSystem: 'PAS-TEST',
      payload: { spellId: 'S-OPS1', ward: 'OAK', bed: 'B1', initials: 'AB' },
    });
    expect(admitted.status).toBe(202);
    await waitFor(() => updates.find((u) => u.change?.eventId === 'ops-adm-1'), { timeoutMs: 30000, what: 'the admission on the board' });

    // The engine's group has applied everything and committed: lag 0 on every partition, in
    // a scrape that also holds the admission's apply (a lag read before the event reached
    // the topic is 0 as well, and a loaded machine can serve that one first).
    const engineGroup = p.env.PFM_ENGINE_GROUP!;
    const engine = await waitFor(async () => {
      const t = await scrape(engineUrl);
      const lags = [0, 1, 2].map((partition) => metricSample(t, 'pfm_kafka_consumer_lag', { group: engineGroup, topic: p.topics.flowEvents, partition: String(partition) }));
      return lags.every((l) => l === 0) && metricSample(t, 'pfm_engine_apply_delay_seconds_count', { from: 'received' }) !== undefined ? t : undefined;
    }, { timeoutMs: 30000, what: 'engine lag 0 on all 3 partitions, after the admission was applied' });
    const ingest = await scrape(p.ingestUrl);
    const gateway = await waitFor(async () => {
      const t = await scrape(p.gatewayUrl);
      return metricSample(t, 'pfm_kafka_consumer_lag', { topic: p.topics.boardUpdates }) === 0 ? t : undefined;
    }, { timeoutMs: 30000, what: 'the gateway group committed on the board-updates topic with lag 0' });

    // What on-call reads.
    for (const [t, deps] of [[engine, ['kafka', 'schema_registry', 'redis']], [ingest, ['kafka', 'schema_registry']], [gateway, ['kafka', 'redis']]] as const) {
      for (const dependency of deps) expect({ dependency, up: metricSample(t, 'pfm_dependency_up', { dependency }) }).toEqual({ dependency, up: 1 });
    }
    expect(metricSample(engine, 'pfm_engine_apply_delay_seconds_count', { from: 'received' })).toBe(1);
    expect(metricSample(engine, 'pfm_engine_apply_delay_seconds_count', { from: 'event_time' })).toBe(1);
    // Event time was a minute before receipt: the event-time delay is over 60 s, the receipt one under.
    expect(metricSample(engine, 'pfm_engine_apply_delay_seconds_bucket', { from: 'event_time', le: '30' })).toBe(0);
    expect(metricSample(engine, 'pfm_engine_apply_delay_seconds_bucket', { from: 'received', le: '30' })).toBe(1);
    expect(metricSample(engine, 'pfm_engine_batch_size_count', {})).toBeGreaterThanOrEqual(1);
    // Outcomes that never happened are exported at 0, so the first one is an increase.
    expect(metricSample(engine, 'pfm_engine_events_total', { outcome: 'dead_lettered' })).toBe(0);
    // The sender is the one its credential names (tests/support/stack.ts: E2E), not the body's sourceSystem.
    const lastSeen = metricSample(ingest, 'pfm_ingest_last_accepted_timestamp_seconds', { channel: 'json', source: 'E2E' });
    expect(lastSeen).toBeGreaterThan(Date.now() / 1000 - 120);
    expect(metricSample(gateway, 'pfm_gateway_connections', {})).toBe(1);

    // Every metric a panel or a rule reads is exported by a running service.
    const exported = new Set([...exposedNames(engine), ...exposedNames(ingest), ...exposedNames(gateway), ...PROMETHEUS_OWN]);
    const rules = loadRules();
    const recorded = new Set(rules.flatMap((r) => ('record' in r ? [r.record] : [])));
    const wanted = [...dashboardExpressions(loadDashboard()), ...ruleExpressions(rules)];
    expect(wanted.length).toBeGreaterThan(30);
    const missing = wanted.flatMap((e) => metricNames(e.expr).filter((n) => !exported.has(n) && !recorded.has(n)).map((n) => `${e.where}: ${n}`));
    expect(missing).toEqual([]);
  });
});
