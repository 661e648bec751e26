// Faults only containers make possible, each on a stack of this suite's own (Kafka,
// registry, Redis on testcontainers; see docs/testing.md) with the real engine and ingest
// processes. Each test states its invariant and checks it against a clean run of the same
// events on the same stack, compared as tests/support/fault.ts does: the canonical Redis
// state (every key, prefix and topic namespace replaced) and the alert changes on the
// alerts topic (each alert and version with its content; repeats allowed, delivery being
// at least once).
import Redis from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import type { FlowEvent } from '@pfm/contracts';
import { startContainerStack, syntheticEvents, waitFor, type ContainerStack, type RunningService } from '@pfm/testkit';
import { FlowStore, Keys, WardRegistry } from '@pfm/flow-store';
import { createProducer, kafkaClientConfig, sendFlowEvents } from '@pfm/kafka-runtime';
import { DEFAULT_THRESHOLDS } from '@pfm/flow-domain';
import { alertChanges, alertDifferences, canonical, differences, logEnds, startEngineRun, type EngineRun } from './support/container-faults';
import { openScratch, type Scratch } from './support/scratch';
import { postAccepted } from './support/feed';
import { SENDER_HEADER, startProduct, type ProductUnderTest } from './support/stack';

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
  const ends = await logEnds(s.admin, s.topics.flowEvents);
  await waitFor(() => run.done(ends), { timeoutMs: 300_000, intervalMs: 200, what: `${what}: every event applied` });
  await run.engine.stop();
}

beforeAll(async () => {
  // The native stack's doors on containers: Kafka on SASL_SSL with SCRAM and ACLs, the
  // registry with logins, Redis with a login; this process and every service it starts
  // take the stack's logins from the environment, as from .stack/stack.env.
  stack = await startContainerStack({ secure: true });
  Object.assign(process.env, stack.env);
  log(`stack of this suite started in ${stack.startSeconds.toFixed(1)} s: ${stack.env.KAFKA_BROKERS} (SASL_SSL), ${stack.env.SCHEMA_REGISTRY_URL}, ${stack.redisUrl.replace(/\/\/[^@]*@/, '//')}`);
  redis = new Redis(stack.redisUrl, { maxRetriesPerRequest: null });
  redis.on('error', () => undefined); // the faults below break its connection on purpose; commands wait and retry
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

/** A fault injected once mid-stream: when half the events are sent and the engine has applied some. */
interface MidStreamFault {
  title: string;
  label: string;
  /** What the log line says is done, e.g. 'killing Redis'. */
  doing: string;
  inject(): Promise<void>;
  /** What the engine finishes after, for the wait's message. */
  after: string;
  /** Checked once every event is sent, before waiting for the engine. */
  whenSent?(s: Scratch): Promise<void>;
  /** Checked last, after the state and alerts; `logLinesBefore`: the engine's log lines before the fault. */
  atEnd?(run: EngineRun, logLinesBefore: number): void;
}

const MID_STREAM_FAULTS: MidStreamFault[] = [
  {
    title: 'Redis killed mid-stream and restarted empty: the engine rebuilds from the log and ends in the clean run\'s state and alerts',
    label: 'redis-kill',
    doing: 'killing Redis',
    inject: async () => {
      await stack.redis!.kill();
      await stack.redis!.start();
    },
    after: 'after the Redis restart',
    // Either of the engine's two rebuild paths: the check before a batch ('flow state
    // missing'), or positioning from Redis's record after a rejoin (the outage can outlast
    // the session timeout), which finds no record and starts the partition from the log.
    atEnd: (run, before) => {
      const lines = run.engine.logs.slice(before);
      expect(lines.some((l) => l.includes('rebuilding the partition from the log') || l.includes('building its state from the start of the log'))).toBe(true);
    },
  },
  {
    title: 'broker killed mid-stream and restarted from its volume: every event is in the log once and the engine ends in the clean run\'s state and alerts',
    label: 'kafka-kill',
    doing: 'killing the broker',
    inject: async () => {
      await stack.kafka!.kill();
      await stack.kafka!.start();
      log('broker started again from its volume');
    },
    // Nothing lost, nothing written twice: the log holds exactly the events sent.
    whenSent: async (s) => {
      const ends = await logEnds(s.admin, s.topics.flowEvents);
      expect([...ends.values()].reduce((n, e) => n + e + 1n, 0n)).toBe(BigInt(EVENTS.length));
    },
    after: 'after the broker restart',
  },
  {
    title: 'network between the engine and Redis cut for 10 s, then restored: the engine waits, resumes, and ends in the clean run\'s state and alerts',
    label: 'redis-cut',
    doing: 'cutting Redis off',
    inject: async () => {
      await stack.redis!.disconnect();
      await new Promise((r) => setTimeout(r, 10_000));
      await stack.redis!.reconnect();
      // The test's own client lost its connection too (it is not under test): dial again.
      redis.disconnect(true);
      log('Redis reachable again');
    },
    after: 'after Redis came back',
  },
];

it.each(MID_STREAM_FAULTS)('$title', async (f) => {
  const s = await scratch(f.label);
  const run = await engine(s, f.label);
  let injected = false;
  let logLinesBefore = 0;
  await sendAll(s, EVENTS, 100, async (sent) => {
    if (injected || sent < EVENTS.length / 2) return;
    injected = true;
    await waitFor(async () => (await run.applied()) > 0n, { timeoutMs: 120_000, what: 'the engine to apply some events' });
    log(`${f.doing} at ~${await run.applied()} applied of ${sent} sent`);
    logLinesBefore = run.engine.logs.length;
    await f.inject();
  });
  await f.whenSent?.(s);
  await finish(s, run, f.after);
  await expectSameAsClean(s, run);
  f.atEnd?.(run, logLinesBefore);
}, 600_000);

it('broker frozen with sends in flight, past the producer\'s request timeout: its retries are written once, every event is in the log exactly once', async () => {
  const s = await scratch('kafka-freeze-send');
  // The product's producer on a client that gives up on a request after 4 s (the services
  // wait 30 s), so that a 12 s freeze outlasts requests the broker has still to read: it
  // reads them when it resumes, after the producer has sent them again.
  const kafka = new Kafka(kafkaClientConfig({ brokers: stack.env.KAFKA_BROKERS!.split(','), clientId: `${s.ns}-retries`, logLevel: logLevel.NOTHING, requestTimeout: 4000, retry: { initialRetryTime: 200, retries: 8, maxRetryTime: 5000 } }));
  const producer = createProducer(kafka);
  let timeouts = 0;
  producer.on(producer.events.REQUEST_TIMEOUT, () => { timeouts += 1; });
  await producer.connect();
  try {
    const half = Math.floor(EVENTS.length / 2);
    for (let i = 0; i < half; i += 50) await sendFlowEvents(producer, s.codec, EVENTS.slice(i, Math.min(i + 50, half)), s.topics.flowEvents);
    // Frozen first, then the second half sent: every request of it is written to a broker
    // that cannot read it, so each one is certainly in flight during the freeze (a send
    // started before the pause could complete before the pause took hold).
    await stack.kafka!.pause();
    log('broker frozen for 12 s; the second half is sent into the freeze (request timeout 4 s)');
    let done = false;
    const sending = (async () => {
      for (let i = half; i < EVENTS.length; i += 50) await sendFlowEvents(producer, s.codec, EVENTS.slice(i, i + 50), s.topics.flowEvents);
      done = true;
    })();
    await new Promise((r) => setTimeout(r, 12_000));
    expect(done).toBe(false);
    await stack.kafka!.unpause();
    log('broker resumed');
    await sending;
    log(`every event sent; the producer saw ${timeouts} request timeouts`);
    // The freeze outlasted requests in flight: they were sent again.
    expect(timeouts).toBeGreaterThan(0);
    const ends = await logEnds(s.admin, s.topics.flowEvents);
    expect([...ends.values()].reduce((n, e) => n + e + 1n, 0n)).toBe(BigInt(EVENTS.length));
  } finally {
    await producer.disconnect();
  }
}, 300_000);

/** Admissions of `n` patients to OAK, the first `discharged` of them discharged later (canonical JSON, as a sender posts them). */
function admissions(run: string, n: number, discharged: number): unknown[] {
  const at = (h: number) => new Date(Date.parse('2026-03-01T00:00:00Z') + h * 3_600_000).toISOString();
  const out: unknown[] = [];
  for (let i = 0; i < n; i++) out.push({ eventId: `${run}-A${i}`, type: 'patient.admitted', occurredAt: at(i), site: 'RXT', patientId: `CF${run}${i}`, payload: { spellId: `CFS${run}${i}`, ward: 'OAK' } });
  for (let i = 0; i < discharged; i++) out.push({ eventId: `${run}-D${i}`, type: 'patient.discharged', occurredAt: at(n + i), site: 'RXT', patientId: `CF${run}${i}`, payload: { spellId: `CFS${run}${i}`, destination: 'home' } });
  return out;
}

async function occupancy(p: ProductUnderTest): Promise<number | undefined> {
  const token = await p.token();
  const wards = (await (await fetch(`${p.gatewayUrl}/api/v1/wards`, { headers: { authorization: `Bearer ${token}` } })).json()) as { ward: string; occupied: number }[];
  return wards.find((w) => w.ward === 'OAK')?.occupied;
}

it('broker paused past the session timeout while ingest and the engine run: senders told to retry, nothing lost, nothing applied twice', async () => {
  const p = await startProduct({ stack, extraEnv: { PFM_PUBLISH_TIMEOUT_MS: '1500', PFM_ENGINE_SESSION_TIMEOUT_MS: '6000', PFM_CLOCK: 'event', PFM_SCAN_INTERVAL_MS: '86400000', PFM_LOG_LEVEL: 'info' } });
  try {
    const run = Date.now().toString(36);
    const events = admissions(run, 240, 80);
    let refused = 0;
    let paused = false;
    const pausing = (async () => {
      await waitFor(() => paused, { timeoutMs: 300_000, what: 'a third of the events sent' });
      await stack.kafka!.pause();
      log('broker paused for 15 s (engine session timeout 6 s)');
      await new Promise((r) => setTimeout(r, 15_000));
      await stack.kafka!.unpause();
      log('broker resumed');
    })();
    for (let i = 0; i < events.length; i += 20) {
      if (i >= events.length / 3) paused = true;
      // Re-sent on 503 (the contract: Kafka unavailable, nothing accepted, retry later).
      for (let tries = 0; ; tries++) {
        const r = await fetch(`${p.ingestUrl}/v1/events`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: SENDER_HEADER }, body: JSON.stringify(events.slice(i, i + 20)) });
        await r.arrayBuffer();
        if (r.status === 202) break;
        expect(r.status).toBe(503);
        expect(r.headers.get('retry-after')).toBeTruthy();
        refused += 1;
        if (tries > 120) throw new Error('ingest refused the same batch for too long');
        await new Promise((res) => setTimeout(res, 500));
      }
    }
    await pausing;
    log(`all ${events.length} events accepted; ${refused} batches refused with 503 while the broker was frozen`);
    expect(refused).toBeGreaterThan(0);
    // Each admission counts once, however often it was sent or written.
    await waitFor(async () => (await occupancy(p)) === 160, { timeoutMs: 180_000, what: 'OAK occupancy 160' })
      .catch(async (e: Error) => { throw new Error(`${e.message}; occupancy now ${await occupancy(p)}`); });
    // The live engine (through the freeze and its rebalance) holds what a fresh engine makes of the same log.
    const admin = p.kafka.admin();
    await admin.connect();
    const ends = await logEnds(admin, p.topics.flowEvents).finally(() => admin.disconnect());
    const live = new FlowStore(redis, new Keys(p.prefix), new WardRegistry([]), DEFAULT_THRESHOLDS);
    await waitFor(async () => { const offs = await live.appliedOffsets(p.topics.flowEvents); return [...ends].every(([q, e]) => e < 0n || BigInt(offs.get(q) ?? -1) >= e); }, { timeoutMs: 180_000, what: 'the live engine at the end of the log' });
    const fresh = await startEngineRun(stack, { ns: p.ns, topics: p.topics }, redis, 'replay', { PFM_WARDS_FILE: p.env.PFM_WARDS_FILE! });
    engines.push(fresh.engine);
    await waitFor(() => fresh.done(ends), { timeoutMs: 180_000, what: 'the fresh engine at the end of the log' });
    await fresh.engine.stop();
    const outbox = /:(aout|outbox)$/;
    expect(differences(await canonical(fresh.store, p.ns, outbox), await canonical(live, p.ns, outbox))).toEqual([]);
    await fresh.store.clear();
  } finally {
    await p.stop();
  }
}, 600_000);

it('registry down while new producers start: they stop with a message naming the registry, and start and deliver once it is back', async () => {
  await stack.registry!.stop();
  let failure = '';
  try {
    await startProduct({ stack, engine: false });
  } catch (e) {
    failure = (e as Error).message;
  } finally {
    await stack.registry!.start();
  }
  log(`producer start with the registry down: ${failure.split('\n').find((l) => l.includes('schema registry')) ?? failure.slice(0, 200)}`);
  expect(failure).toMatch(/schema registry: could not register t-e2e-[\w-]+\.pfm\.flow-events\.v1-value/);
  const p = await startProduct({ stack, extraEnv: { PFM_CLOCK: 'event' } });
  try {
    const run = Date.now().toString(36);
    await postAccepted(p.ingestUrl, admissions(run, 30, 10));
    await waitFor(async () => (await occupancy(p)) === 20, { timeoutMs: 120_000, what: 'OAK occupancy 20 after the registry came back' });
  } finally {
    await p.stop();
  }
}, 600_000);
