// Support for this package's integration tests (not product code): the product's topics
// under a test namespace on the real stack, with the clients an engine needs.
import Redis from 'ioredis';
import { Kafka, logLevel, type Consumer, type Producer } from 'kafkajs';
import { topicSpecs } from '@pfm/contracts';
import type { FlowStore } from '@pfm/flow-store';
import { createProducer, ensureTopics, FETCH_MAX_WAIT_MS, FlowEventCodec, kafkaClientConfig } from '@pfm/kafka-runtime';
import { requireStack } from '@pfm/testkit';
import type { FlowEngine } from './engine';

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

/** A consumer group of its own reading `topics` from the beginning; each message's JSON value goes to `onMessage`. */
export async function readJsonTopics(kafka: Kafka, groupId: string, topics: string[], onMessage: (topic: string, value: unknown) => void): Promise<Consumer> {
  const reader = kafka.consumer({ groupId, maxWaitTimeInMs: FETCH_MAX_WAIT_MS });
  await reader.connect();
  await reader.subscribe({ topics, fromBeginning: true });
  await reader.run({ eachMessage: async ({ topic, message }) => { onMessage(topic, JSON.parse(message.value!.toString())); } });
  return reader;
}

/** Stops what a test of the engine opened, the engine first; parts a failed set-up never made are skipped. The store's keys are deleted. */
export async function closeEngineStack(p: { engine?: FlowEngine; reader?: Consumer; producer?: Producer; store?: FlowStore; redis?: Redis }): Promise<void> {
  await p.engine?.stop();
  await p.reader?.disconnect();
  await p.producer?.disconnect();
  await p.store?.clear();
  p.redis?.disconnect();
}
