// Support for this package's integration tests (not product code): the product's topics
// under a test namespace on the real stack, with the clients an engine needs.
import Redis from 'ioredis';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { topicSpecs } from '@pfm/contracts';
import { createProducer, ensureTopics, FlowEventCodec, kafkaClientConfig } from '@pfm/kafka-runtime';
import { requireStack } from '@pfm/testkit';

export interface EngineStack { kafka: Kafka; redis: Redis; codec: FlowEventCodec; producer: Producer }

/** Creates the namespace's topics, registers the flow-event schema, connects a producer. */
export async function openEngineStack(ns: string, flowTopic: string, partitions: number): Promise<EngineStack> {
  const env = await requireStack();
  const kafka = new Kafka(kafkaClientConfig({ brokers: env.kafkaBrokers, clientId: ns, logLevel: logLevel.NOTHING }));
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, topicSpecs({ namespace: ns, partitions }));
  await admin.disconnect();
  const redis = new Redis(env.redisUrl);
  const codec = new FlowEventCodec(env.schemaRegistryUrl, `${flowTopic}-value`);
  await codec.init();
  const producer = createProducer(kafka);
  await producer.connect();
  return { kafka, redis, codec, producer };
}
