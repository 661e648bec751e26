/** @pfm-stack kafka */
// The batch runner on the real broker: a partition starts at the store's record (not
// Kafka's), a failed batch is applied again, offsets are committed after the apply, and
// a partition stays paused while the service is overloaded.
import type { Admin, Consumer, Kafka } from 'kafkajs';
import { numbered, openScratchTopic, uniqueName, waitFor, type ScratchTopic } from '@pfm/testkit';
import { BatchRunner } from './runner';
import { kafkaClientConfig } from './client';

describe('BatchRunner on the real broker', () => {
  let kafka: Kafka;
  let admin: Admin;
  let scratch: ScratchTopic | undefined;
  const topic = uniqueName('runner');
  const consumers: Consumer[] = [];

  beforeAll(async () => {
    scratch = await openScratchTopic(topic, 2, [
      // Partition 0 in several record batches (a fetch returns at least one whole record batch).
      ...[0, 5, 10, 15, 20, 25].map((from) => ({ partition: 0, values: numbered('a', 5, from) })),
      { partition: 1, values: numbered('b', 10) },
    ], kafkaClientConfig);
    ({ kafka, admin } = scratch);
  });

  afterAll(async () => {
    for (const c of consumers) await c.disconnect();
    await scratch?.close();
  });

  const start = async (groupId: string, o: Omit<ConstructorParameters<typeof BatchRunner>[0], 'consumer'>) => {
    const consumer = kafka.consumer({ groupId, maxBytesPerPartition: 64 });
    consumers.push(consumer);
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await new BatchRunner({ consumer, ...o }).run();
  };

  it('resumes at the store record, applies a failed batch again, and commits after the apply', async () => {
    // The "store": applied values and the next offset per partition.
    const applied: string[] = [];
    const record = new Map([[0, '20'], [1, '0']]);
    let failOnce = true;
    const group = `${topic}-g1`;
    await start(group, {
      resumeAt: async (_t, p) => record.get(p)!,
      apply: async (batch) => {
        if (batch.partition === 1 && failOnce) { failOnce = false; throw new Error('store unavailable'); }
        applied.push(...batch.messages.map((m) => m.value!.toString()));
        record.set(batch.partition, (BigInt(batch.messages[batch.messages.length - 1]!.offset) + 1n).toString());
      },
    });
    await waitFor(() => record.get(0) === '30' && record.get(1) === '10', { what: 'both partitions applied to their end' });
    expect(applied.filter((v) => v.startsWith('a'))).toEqual(numbered('a', 10, 20));
    expect(applied.filter((v) => v.startsWith('b'))).toEqual(numbered('b', 10));
    expect(failOnce).toBe(false);
    await waitFor(async () => {
      const committed = (await admin.fetchOffsets({ groupId: group, topics: [topic] }))[0]!.partitions;
      return committed.find((p) => p.partition === 0)?.offset === '30' && committed.find((p) => p.partition === 1)?.offset === '10';
    }, { what: 'offsets committed after the apply' });
  });

  it('pauses a partition while overloaded and resumes it after', async () => {
    let overloaded = false;
    let tripped = false;
    let checksWhileOverloaded = 0;
    let appliedWhileOverloaded = 0;
    let count = 0;
    await start(`${topic}-g2`, {
      resumeAt: async () => '0',
      apply: async (batch) => {
        if (overloaded && batch.partition === 0) appliedWhileOverloaded += 1;
        count += batch.messages.length;
        // The first batch of partition 0 overloads the service.
        if (batch.partition === 0 && !tripped) { tripped = true; overloaded = true; }
      },
      overloaded: () => {
        if (!overloaded) return false;
        checksWhileOverloaded += 1;
        if (checksWhileOverloaded >= 4) overloaded = false;
        return overloaded;
      },
      pauseCheckMs: 50,
    });
    await waitFor(() => count === 40 && !overloaded, { what: 'every message applied after the pause' });
    expect(checksWhileOverloaded).toBe(4);
    // Partition 1 may have been applied meanwhile; partition 0 only after it resumed.
    expect(appliedWhileOverloaded).toBe(0);
  });
});
