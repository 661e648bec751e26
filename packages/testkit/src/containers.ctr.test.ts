// The testkit's own container stack: three parts start in parallel and answer on their
// published ports, a frozen Redis answers again once thawed, and a secure stack is emptied
// back to its start between suite files (reset.ts).
import { readFileSync } from 'node:fs';
import Redis from 'ioredis';
import { AclOperationTypes, AclPermissionTypes, AclResourceTypes, Kafka, logLevel, ResourcePatternTypes } from 'kafkajs';
import { resetStack, stackBaseline, startContainerStack, type ContainerStack } from './index';

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

  it('is emptied back to its start: topics, groups, extra ACLs, subjects, Redis keys, users and scripts gone; a group with a member left is refused', async () => {
    const baseline = await stackBaseline(secure);
    expect(baseline.kafkaAcls.size).toBeGreaterThan(10); // acls.txt
    expect([...baseline.redisUsers].sort()).toEqual(['default', 'pfm']);
    const adminClient = new Kafka({
      brokers: secure.kafkaBrokers, logLevel: logLevel.NOTHING, ssl: { ca: [readFileSync(secure.security!.caFile)] },
      sasl: { mechanism: 'plain', username: 'admin', password: secure.security!.kafkaPasswords.get('admin')! },
    });
    const admin = adminClient.admin();
    const testKafka = client(kafkaLogin('test'));
    const registry = (path: string, init: RequestInit = {}) => fetch(`${secure.schemaRegistryUrl}${path}`, {
      ...init, headers: { authorization: `Basic ${Buffer.from(`test:${secure.security!.registryPasswords.get('test')}`).toString('base64')}`, 'content-type': 'application/vnd.schemaregistry.v1+json' },
    });
    const redis = new Redis(secure.redisUrl);
    await admin.connect();
    try {
      // What a suite file leaves behind.
      await admin.createTopics({ topics: [{ topic: 'reset-a', numPartitions: 3 }] });
      const producer = testKafka.producer();
      await producer.connect();
      await producer.send({ topic: 'reset-a', messages: [{ key: 'k', value: 'v' }] });
      await producer.disconnect();
      const consumed = async (group: string) => {
        const consumer = testKafka.consumer({ groupId: group });
        await consumer.connect();
        await consumer.subscribe({ topic: 'reset-a', fromBeginning: true });
        let seen = 0;
        await consumer.run({ eachMessage: async () => { seen += 1; } });
        const deadline = Date.now() + 60_000;
        while (!seen && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
        expect(seen).toBe(1);
        return consumer;
      };
      await (await consumed('reset-g')).disconnect();
      await admin.createAcls({ acl: [{ resourceType: AclResourceTypes.TOPIC, resourceName: 'reset-a', resourcePatternType: ResourcePatternTypes.LITERAL, principal: 'User:engine', host: '*', operation: AclOperationTypes.READ, permissionType: AclPermissionTypes.ALLOW }] });
      expect((await registry('/subjects/reset-a-value/versions', { method: 'POST', body: JSON.stringify({ schema: '{"type":"string"}' }) })).status).toBe(200);
      await redis.set('pfm:x', '1');
      await redis.call('ACL', 'SETUSER', 'leftover', 'on', '>pw', '~*', '+get');
      const sha = (await redis.call('SCRIPT', 'LOAD', 'return 1')) as string;

      const report = await resetStack(secure, baseline, ['kafka', 'registry', 'redis']);
      expect(report).toMatchObject({ groups: 1, acls: 1, subjects: 1, redisUsers: 1 });
      expect(report.topics).toBeGreaterThanOrEqual(2); // reset-a and the earlier test's pfm.alerts.v1
      expect(report.redisKeys).toBeGreaterThanOrEqual(2); // pfm:x and the earlier test's k

      expect((await admin.listTopics()).filter((t) => !t.startsWith('__'))).toEqual([]);
      expect((await admin.listGroups()).groups).toEqual([]);
      expect((await stackBaseline(secure)).kafkaAcls).toEqual(baseline.kafkaAcls);
      expect(await (await registry('/subjects?deleted=true')).json()).toEqual([]);
      expect(await redis.dbsize()).toBe(0);
      expect(((await redis.call('ACL', 'USERS')) as string[]).sort()).toEqual(['default', 'pfm']);
      expect(await redis.call('SCRIPT', 'EXISTS', sha)).toEqual([0]);
      // The same names are free again: the subject starts at version 1, the topic holds nothing.
      expect(await (await registry('/subjects/reset-a-value/versions', { method: 'POST', body: JSON.stringify({ schema: '{"type":"int"}' }) })).json()).toHaveProperty('id');
      expect(await (await registry('/subjects/reset-a-value/versions')).json()).toEqual([1]);
      await admin.createTopics({ topics: [{ topic: 'reset-a', numPartitions: 1 }] });
      expect((await admin.fetchTopicOffsets('reset-a')).map((o) => o.high)).toEqual(['0']);

      // A consumer still running in its group: not ours to remove; the reset says so.
      const live = await (async () => {
        const p2 = testKafka.producer();
        await p2.connect();
        await p2.send({ topic: 'reset-a', messages: [{ value: 'v' }] });
        await p2.disconnect();
        return consumed('reset-live');
      })();
      try {
        await expect(resetStack(secure, baseline, ['kafka'])).rejects.toThrow(/reset-live/);
      } finally {
        await live.disconnect();
      }
      await expect(resetStack(secure, baseline, ['kafka'])).resolves.toMatchObject({ groups: 1 });
    } finally {
      await admin.disconnect();
      redis.disconnect();
    }
  }, 180_000);
});
