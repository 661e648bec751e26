// The testkit's own container stack: three parts start in parallel and answer on their
// published ports, and a frozen Redis answers again once thawed.
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
