// The testkit's own container stack: three parts start in parallel and answer on their
// published ports, and a frozen Redis answers again once thawed.
import { readFileSync } from 'node:fs';
import Redis from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import { startContainerStack, type ContainerStack } from './index';

let stack: ContainerStack;
beforeAll(async () => {
  stack = await startContainerStack();
  process.stdout.write(`[containers] stack started in ${stack.startSeconds.toFixed(1)} s\n`);
}, 300_000);
afterAll(async () => { await stack?.stop(); });

it('starts Kafka, the registry and Redis of its own, each answering', async () => {
  const admin = new Kafka({ brokers: stack.kafkaBrokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic: 'testkit-smoke', numPartitions: 2 }] });
    expect(await admin.listTopics()).toContain('testkit-smoke');
  } finally { await admin.disconnect(); }
  const subjects = await fetch(`${stack.schemaRegistryUrl}/subjects`);
  expect(await subjects.json()).toEqual([]);
  const redis = new Redis(stack.redisUrl);
  try {
    await redis.set('k', 'v');
    expect(await redis.get('k')).toBe('v');
  } finally { redis.disconnect(); }
  expect(stack.redisUrl).not.toBe('redis://127.0.0.1:6379');
});

it('a paused Redis holds a command until it is unpaused', async () => {
  const redis = new Redis(stack.redisUrl, { maxRetriesPerRequest: null });
  try {
    await stack.redis!.pause();
    let answered = false;
    const pending = redis.incr('n').then((n) => { answered = true; return n; });
    await new Promise((r) => setTimeout(r, 500));
    expect(answered).toBe(false);
    await stack.redis!.unpause();
    expect(await pending).toBe(1);
  } finally { redis.disconnect(); }
});

describe('a secure stack: the native stack\'s logins, TLS and ACLs on containers', () => {
  let secure: ContainerStack;
  beforeAll(async () => {
    secure = await startContainerStack({ secure: true });
    process.stdout.write(`[containers] secure stack started in ${secure.startSeconds.toFixed(1)} s\n`);
  }, 300_000);
  afterAll(async () => { await secure?.stop(); });

  const client = (login?: { username: string; password: string }) => new Kafka({
    brokers: secure.kafkaBrokers, logLevel: logLevel.NOTHING, connectionTimeout: 5000, retry: { retries: 1 },
    ssl: { ca: [readFileSync(secure.security!.caFile)] },
    ...(login ? { sasl: { mechanism: 'scram-sha-512' as const, ...login } } : {}),
  });
  const kafkaLogin = (name: string) => ({ username: name, password: secure.security!.kafkaPasswords.get(name)! });

  it('hands out the same variables as the native stack.env', () => {
    expect(secure.env).toMatchObject({ KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: 'test', SCHEMA_REGISTRY_USERNAME: 'test' });
    expect(secure.env.KAFKA_SSL_CA_FILE).toBe(secure.security!.caFile);
    expect(secure.redisUrl).toMatch(/^redis:\/\/pfm:[^@]+@/);
  });

  it('Kafka: a client without a login is refused; the test principal logs in over TLS; a service is held to its ACLs', async () => {
    const anon = client().admin();
    await expect(anon.connect().then(() => anon.listTopics())).rejects.toThrow();
    await anon.disconnect().catch(() => undefined);

    const admin = client(kafkaLogin('test')).admin();
    await admin.connect();
    try {
      await admin.createTopics({ topics: [{ topic: 'pfm.alerts.v1', numPartitions: 1 }] });
      expect(await admin.listTopics()).toContain('pfm.alerts.v1');
    } finally { await admin.disconnect(); }

    // acls.txt gives ingest no WRITE on the alerts topic.
    const producer = client(kafkaLogin('ingest')).producer();
    await producer.connect();
    try {
      await expect(producer.send({ topic: 'pfm.alerts.v1', messages: [{ value: 'x' }] })).rejects.toThrow(/authoriz/i);
    } finally { await producer.disconnect(); }
  });

  it('the registry: anonymous gets 401, the test login 200', async () => {
    expect((await fetch(`${secure.schemaRegistryUrl}/subjects`)).status).toBe(401);
    const auth = `Basic ${Buffer.from(`test:${secure.security!.registryPasswords.get('test')}`).toString('base64')}`;
    expect((await fetch(`${secure.schemaRegistryUrl}/subjects`, { headers: { authorization: auth } })).status).toBe(200);
  });

  it('Redis: no login is refused, the pfm login works', async () => {
    const anon = new Redis(secure.redisUrl.replace(/\/\/[^@]+@/, '//'), { maxRetriesPerRequest: 0, lazyConnect: true, enableReadyCheck: false, retryStrategy: () => null });
    await expect(anon.connect().then(() => anon.get('k'))).rejects.toThrow(/NOAUTH|WRONGPASS/);
    anon.disconnect();
    const redis = new Redis(secure.redisUrl);
    try { expect(await redis.set('k', 'v')).toBe('OK'); } finally { redis.disconnect(); }
  });
});
