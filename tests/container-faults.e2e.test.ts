// Faults only containers make possible, each on a stack of this suite's own (Kafka,
// registry, Redis on testcontainers; see docs/testing.md) with the real engine and ingest
// processes. Each test states its invariant and checks it against a clean run of the same
// events on the same stack, compared as tests/support/fault.ts does: the canonical Redis
// state (every key, prefix and topic namespace replaced) and the alert changes on the
// alerts topic (each alert and version with its content; repeats allowed, delivery being
// at least once).
import Redis from 'ioredis';
import type { FlowEvent } from '@pfm/contracts';
import { startContainerStack, startService, syntheticEvents, waitFor, type ContainerStack, type RunningService } from '@pfm/testkit';
import { alertChanges, alertDifferences, canonical, differences, logEnds, startEngineRun, type EngineRun } from './support/container-faults';
import { openScratch, type Scratch } from './support/scratch';
import { postAccepted } from './support/feed';
import { startProduct, type ProductUnderTest } from './support/stack';

const EVENTS = syntheticEvents({ total: Number(process.env.PFM_CONTAINER_FAULT_EVENTS ?? 1500), seed: 11 });
const log = (m: string) => process.stdout.write(`[container-faults] ${m}\n`);

let stack: ContainerStack;
let redis: Redis;
const scratches: Scratch[] = [];
const engines: RunningService[] = [];
let clean: { state: Record<string, unknown>; alerts: Map<string, string> };

/** Sends events in chunks; a chunk the broker refused is sent again (the producer is idempotent within a session). */
async function sendAll(s: Scratch, events: FlowEvent[], chunk = 100, onChunk?: (sent: number) => Promise<void>): Promise<void> {
  for (let i = 0; i < events.length; i += chunk) {
    await waitFor(async () => { await s.send(events.slice(i, i + chunk), chunk); return true; }, { timeoutMs: 180_000, intervalMs: 500, what: `chunk ${i / chunk} sent` });
    await onChunk?.(Math.min(i + chunk, events.length));
  }
}

async function scratch(label: string): Promise<Scratch> {
  const s = await openScratch(label, 3, stack);
  scratches.push(s);
  return s;
}

async function engine(s: Scratch, label: string, extraEnv?: Record<string, string>): Promise<EngineRun> {
  const run = await startEngineRun(stack, s, redis, label, extraEnv);
  engines.push(run.engine);
  return run;
}

async function finish(s: Scratch, run: EngineRun, what: string): Promise<void> {
  const ends = await logEnds(s);
  await waitFor(() => run.done(ends), { timeoutMs: 300_000, intervalMs: 200, what: `${what}: every event applied` });
  await run.engine.stop();
}

beforeAll(async () => {
  stack = await startContainerStack();
  log(`stack of this suite started in ${stack.startSeconds.toFixed(1)} s: ${stack.env.KAFKA_BROKERS}, ${stack.env.SCHEMA_REGISTRY_URL}, ${stack.env.REDIS_URL}`);
  redis = new Redis(stack.redisUrl, { maxRetriesPerRequest: null });
  // The clean run every fault is compared with: the same events, no fault.
  const s = await scratch('clean');
  await sendAll(s, EVENTS, 500);
  const run = await engine(s, 'clean');
  await finish(s, run, 'clean run');
  clean = { state: await canonical(run.store, s.ns), alerts: (await alertChanges(s.kafka, s.topics.alerts, s.ns)).changes };
  log(`clean run: ${EVENTS.length} events, ${Object.keys(clean.state).length} keys, ${clean.alerts.size} alert changes`);
}, 900_000);

afterAll(async () => {
  await Promise.all(engines.map((e) => e.kill()));
  for (const s of scratches) await s.close().catch(() => undefined);
  redis?.disconnect();
  await stack?.stop();
}, 120_000);

async function expectSameAsClean(s: Scratch, run: EngineRun, opts: { exclude?: RegExp } = {}): Promise<void> {
  const state = await canonical(run.store, s.ns, opts.exclude);
  const cleanState = opts.exclude ? Object.fromEntries(Object.entries(clean.state).filter(([k]) => !opts.exclude!.test(k))) : clean.state;
  expect(Object.keys(state).length).toBeGreaterThan(100);
  expect(differences(cleanState, state)).toEqual([]);
  const alerts = await alertChanges(s.kafka, s.topics.alerts, s.ns);
  expect(clean.alerts.size).toBeGreaterThan(10);
  expect(alertDifferences(clean.alerts, alerts.changes)).toEqual([]);
}

it('Redis killed mid-stream and restarted empty: the engine rebuilds from the log and ends in the clean run\'s state and alerts', async () => {
  const s = await scratch('redis-kill');
  const run = await engine(s, 'redis-kill');
  let killed = false;
  await sendAll(s, EVENTS, 100, async (sent) => {
    if (killed || sent < EVENTS.length / 2) return;
    killed = true;
    await waitFor(async () => (await run.applied()) > 0n, { timeoutMs: 120_000, what: 'the engine to apply some events' });
    log(`killing Redis at ~${await run.applied()} applied of ${sent} sent`);
    await stack.redis!.kill();
    await stack.redis!.start();
    expect(await redis.dbsize()).toBe(0);
  });
  await finish(s, run, 'after the Redis restart');
  expect(run.engine.logs.some((l) => l.includes('rebuilding the partition from the log'))).toBe(true);
  await expectSameAsClean(s, run);
}, 600_000);
