// The wait after creating topics, against a scripted admin (the broker's answers in order).
import { KafkaJSProtocolError } from 'kafkajs';
import { createTopicsReady, topicReplication } from './client';

type Answer = Error | { name: string; leaders: number[] }[];
const unknownTopic = () => new KafkaJSProtocolError({ message: 'This server does not host this topic-partition', type: 'UNKNOWN_TOPIC_OR_PARTITION', code: 3, retriable: true } as never);

function scriptedAdmin(answers: Answer[], createError?: Error) {
  const calls = { create: 0, metadata: 0 };
  const admin = {
    createTopics: async () => { calls.create += 1; if (createError) throw createError; return true; },
    fetchTopicMetadata: async () => {
      const a = answers[Math.min(calls.metadata, answers.length - 1)]!;
      calls.metadata += 1;
      if (a instanceof Error) throw a;
      return { topics: a.map((t) => ({ name: t.name, partitions: t.leaders.map((leader, partitionId) => ({ partitionId, leader, replicas: [1], isr: [1], partitionErrorCode: 0, offlineReplicas: [] })) })) };
    },
  };
  return { admin, calls };
}
const noSleep = async () => undefined;
const topics = [{ topic: 'a', numPartitions: 2, replicationFactor: 1 }];

describe('createTopicsReady', () => {
  it('waits out "does not host this topic-partition" just after the create, then returns', async () => {
    const { admin, calls } = scriptedAdmin([unknownTopic(), unknownTopic(), [{ name: 'a', leaders: [1, 1] }]]);
    await createTopicsReady(admin as never, topics, 30_000, noSleep);
    expect(calls).toEqual({ create: 1, metadata: 3 });
  });

  it('waits while a partition has no leader', async () => {
    const { admin, calls } = scriptedAdmin([[{ name: 'a', leaders: [1, -1] }], [{ name: 'a', leaders: [1, 1] }]]);
    await createTopicsReady(admin as never, topics, 30_000, noSleep);
    expect(calls.metadata).toBe(2);
  });

  it('rethrows an error that retrying cannot mend (not authorised), at once', async () => {
    const denied = new KafkaJSProtocolError({ message: 'Not authorized to access topics', type: 'TOPIC_AUTHORIZATION_FAILED', code: 29, retriable: false } as never);
    const { admin, calls } = scriptedAdmin([denied]);
    await expect(createTopicsReady(admin as never, topics, 30_000, noSleep)).rejects.toThrow('Not authorized');
    expect(calls.metadata).toBe(1);
  });

  it('takes topics another service created first, and names the topics when the broker never serves them', async () => {
    const { admin } = scriptedAdmin([unknownTopic()], new Error('Topic with this name already exists'));
    await expect(createTopicsReady(admin as never, topics, 0, noSleep)).rejects.toThrow(/topics a were created but the broker did not serve them within 0 ms \(last: This server does not host/);
  });

  it('rethrows a create that failed for another reason', async () => {
    const { admin, calls } = scriptedAdmin([[{ name: 'a', leaders: [1, 1] }]], new Error('Invalid replication factor'));
    await expect(createTopicsReady(admin as never, topics, 30_000, noSleep)).rejects.toThrow('Invalid replication factor');
    expect(calls.metadata).toBe(0);
  });
});

describe('topicReplication', () => {
  it('gives 3 copies with 2 in sync on a cluster of 3 or more brokers, one per broker below that', () => {
    expect(topicReplication(5)).toEqual({ replicationFactor: 3, minInsyncReplicas: 2 });
    expect(topicReplication(3)).toEqual({ replicationFactor: 3, minInsyncReplicas: 2 });
    expect(topicReplication(2)).toEqual({ replicationFactor: 2, minInsyncReplicas: 1 });
    expect(topicReplication(1)).toEqual({ replicationFactor: 1, minInsyncReplicas: 1 });
  });

  it('takes PFM_TOPIC_REPLICATION_FACTOR when set, and refuses one the cluster cannot hold or that is not a count', () => {
    expect(topicReplication(5, '5')).toEqual({ replicationFactor: 5, minInsyncReplicas: 2 });
    expect(topicReplication(1, '')).toEqual({ replicationFactor: 1, minInsyncReplicas: 1 });
    expect(() => topicReplication(1, '3')).toThrow(/is 3, but the cluster has 1 broker: a topic cannot have more copies than brokers/);
    expect(() => topicReplication(3, 'three')).toThrow(/whole number of 1 or more/);
    expect(() => topicReplication(3, '0')).toThrow(/whole number of 1 or more/);
  });
});
