// The replay API's door, in-process on a loopback port over the real Redis and Kafka
// clients: a client over its rate is answered 429 before its token is even read, and
// every answered request of a verified ops reader is one audit line.
import Redis from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import { Auth } from '@pfm/access';
import { DEFAULT_THRESHOLDS } from '@pfm/flow-domain';
import { FlowStore, Keys, WardRegistry } from '@pfm/flow-store';
import { SnapshotStore } from '@pfm/flow-processing';
import { createProducer, FlowEventCodec, kafkaClientConfig } from '@pfm/kafka-runtime';
import { createLogger } from '@pfm/observability';
import { requireStack, uniqueName } from '@pfm/testkit';
import type { FastifyInstance } from 'fastify';
import { buildApi, type ReplayAuditEntry } from './api';

const SECRET = 'replay-door-secret-replay-door-secret-01';

describe('replay API door', () => {
  const auth = new Auth(SECRET);
  const entries: ReplayAuditEntry[] = [];
  let redis: Redis;
  let app: FastifyInstance;
  let base: string;

  beforeAll(async () => {
    const stack = await requireStack();
    const ns = uniqueName('opssec-replay');
    redis = new Redis(stack.redisUrl);
    const kafka = new Kafka(kafkaClientConfig({ brokers: stack.kafkaBrokers, clientId: ns, logLevel: logLevel.NOTHING }));
    const registry = new WardRegistry([{ site: 'RXT', code: 'OAK', name: 'Oak Ward', type: 'adult_acute', beds: 10 }]);
    const logger = createLogger('replay-door-test');
    logger.level = 'silent';
    const live = new FlowStore(redis, new Keys(ns.replace(/-/g, '_')), registry, DEFAULT_THRESHOLDS);
    const snapshots = new SnapshotStore(redis, SnapshotStore.prefixFor(ns.replace(/-/g, '_')), `${ns}.flow-events`, DEFAULT_THRESHOLDS, registry);
    app = buildApi(
      { kafka, redis, producer: createProducer(kafka), codec: new FlowEventCodec(stack.schemaRegistryUrl, `${ns}-value`), registry, logger, live, topic: `${ns}.flow-events`, snapshots, close: async () => undefined },
      { auth, rateLimitPerMinute: 6, audit: (e) => entries.push(e) },
    );
    await app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    await app?.close();
    redis?.disconnect();
  });

  it('audits each answered request of an ops reader, then answers 429 with Retry-After over the rate, tokens or not', async () => {
    const ops = await auth.issue({ sub: 'ops.smith', role: 'ops', sites: ['RXT'] });
    const bm = await auth.issue({ sub: 'bm.khan', role: 'bed_manager', sites: ['RXT'] });
    const call = async (path: string, token?: string) => {
      const r = await fetch(`${base}${path}`, token ? { headers: { authorization: `Bearer ${token}` } } : {});
      return { status: r.status, retryAfter: r.headers.get('retry-after'), error: ((await r.json()) as { error?: string }).error };
    };
    expect((await call('/v1/replays/nightly', ops)).status).toBe(404);
    expect((await call('/v1/replays/nightly/board?at=not-a-time', ops)).status).toBe(400);
    expect((await call('/v1/replays/nightly', bm)).status).toBe(403);
    expect((await call('/v1/replays/nightly')).status).toBe(401);
    expect((await call('/healthz')).status).toBe(200);
    expect(entries).toEqual([
      { at: expect.stringMatching(/^\d{4}-/), who: 'ops.smith', role: 'ops', action: 'GET /v1/replays/:name', sandbox: 'nightly', status: 404 },
      { at: expect.stringMatching(/^\d{4}-/), who: 'ops.smith', role: 'ops', action: 'GET /v1/replays/:name/board', sandbox: 'nightly', status: 400 },
    ]);
    // Four counted so far (the probe is not): two more, then 429 for anyone from here, no token read.
    const rest = [await call('/v1/replays/a', ops), await call('/v1/replays/b', ops), await call('/v1/replays/c', ops), await call('/v1/replays/d')];
    expect(rest.map((r) => r.status)).toEqual([404, 404, 429, 429]);
    expect(rest.slice(2).every((r) => r.error === 'rate_limited' && Number(r.retryAfter) > 0)).toBe(true);
    expect((await call('/healthz')).status).toBe(200);
  });
});
