// A topic of a test's own on the real broker, with its messages in it before the test
// starts: the setup the kafka-runtime integration tests share.
import { Kafka, logLevel, type Admin, type KafkaConfig } from 'kafkajs';
import { requireStack, waitFor } from './index';

export interface ScratchTopic {
  topic: string;
  kafka: Kafka;
  /** Connected until close(). */
  admin: Admin;
  /** Deletes the topic and the groups named, then disconnects the admin. */
  close(groups?: string[]): Promise<void>;
}

/** `count` values `<prefix><from>`, `<prefix><from + 1>`, ... */
export const numbered = (prefix: string, count: number, from = 0): string[] => [...Array(count).keys()].map((i) => `${prefix}${from + i}`);

/**
 * Creates `topic` with `partitions` partitions (replication 1) and produces `sends` in
 * order, one producer call each (so one record batch each, as a fetch sees it).
 * `withCredentials` adds the broker login of the environment (kafka-runtime's
 * kafkaClientConfig; the testkit does not depend on the runtime it tests).
 */
export async function openScratchTopic(topic: string, partitions: number, sends: { partition: number; values: string[] }[], withCredentials: (base: KafkaConfig) => KafkaConfig): Promise<ScratchTopic> {
  const env = await requireStack();
  const kafka = new Kafka(withCredentials({ brokers: env.kafkaBrokers, clientId: topic, logLevel: logLevel.NOTHING }));
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: partitions, replicationFactor: 1 }], waitForLeaders: false });
  // A loaded broker can say it does not host the new topic for a moment after the create
  // (kafkajs's waitForLeaders gives up on that): wait until every partition has a leader.
  await waitFor(async () => { const ps = (await admin.fetchTopicMetadata({ topics: [topic] })).topics[0]?.partitions ?? []; return ps.length === partitions && ps.every((p) => p.leader >= 0); }, { timeoutMs: 30_000, intervalMs: 100, what: `topic ${topic} to be served` });
  const producer = kafka.producer();
  await producer.connect();
  for (const s of sends) await producer.send({ topic, messages: s.values.map((value) => ({ partition: s.partition, value })) });
  await producer.disconnect();
  return {
    topic, kafka, admin,
    async close(groups = []) {
      await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
      if (groups.length) await admin.deleteGroups(groups).catch(() => undefined);
      await admin.disconnect();
    },
  };
}
