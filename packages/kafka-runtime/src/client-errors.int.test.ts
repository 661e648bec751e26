/** @pfm-stack kafka */
// Kafka client errors by class, met on the real broker: a send the broker refuses for
// good, and a consumer whose handler keeps failing with an infrastructure error.
import { KafkaJSConnectionError, KafkaJSNumberOfRetriesExceeded } from 'kafkajs';
import { Metrics } from '@pfm/observability';
import { requireStack, uniqueName, waitFor } from '@pfm/testkit';
import { classifyKafkaError } from './client-errors';
import { createKafka, createProducer, serialSend } from './client';
import { InfrastructureError } from './errors';

const count = async (m: Metrics, labels: Record<string, string>): Promise<number> => {
  const metric = (await m.registry.getMetricsAsJSON()).find((x) => x.name === 'pfm_kafka_client_errors_total');
  const values = (metric?.values ?? []) as { labels: Record<string, string | number>; value: number }[];
  return values.filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x)).reduce((a, v) => a + v.value, 0);
};

describe('pfm_kafka_client_errors_total', () => {
  let brokers: string[];
  beforeAll(async () => { brokers = (await requireStack()).kafkaBrokers; });

  it('classes errors by name and by whether retrying can help', () => {
    expect(classifyKafkaError(new KafkaJSConnectionError('refused'))).toEqual({ class: 'KafkaJSConnectionError', retriable: 'true' });
    // Given up after retries: the class of what it kept meeting.
    expect(classifyKafkaError(new KafkaJSNumberOfRetriesExceeded(new KafkaJSConnectionError('refused'), { retryCount: 5, retryTime: 100 }))).toEqual({ class: 'KafkaJSConnectionError', retriable: 'true' });
    expect(classifyKafkaError(new InfrastructureError('redis down'))).toEqual({ class: 'InfrastructureError', retriable: 'true' });
    expect(classifyKafkaError(new Error('plain'))).toEqual({ class: 'Error', retriable: 'unknown' });
    // Names are bounded: free text never becomes a label value.
    expect(classifyKafkaError({ name: 'NHS 943 476 5919 not found' })).toEqual({ class: 'other', retriable: 'unknown' });
    expect(classifyKafkaError('text')).toEqual({ class: 'unknown', retriable: 'unknown' });
  });

  it('counts a send the broker refuses (message too large) as a non-retriable producer error; a good send counts nothing', async () => {
    const metrics = new Metrics('client-errors-test');
    const kafka = createKafka({ brokers, clientId: uniqueName('opssec-errors'), metrics });
    const admin = kafka.admin();
    await admin.connect();
    const topic = uniqueName('opssec-small');
    await admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 1, configEntries: [{ name: 'max.message.bytes', value: '1024' }] }], waitForLeaders: true });
    const producer = createProducer(kafka);
    await producer.connect();
    try {
      await expect(serialSend(producer, { topic, acks: -1, messages: [{ key: 'k', value: 'x'.repeat(8 * 1024) }] })).rejects.toThrow();
      expect(await count(metrics, { client: 'producer', retriable: 'false' })).toBe(1);
      expect(await count(metrics, { client: 'producer', class: 'KafkaJSProtocolError:MESSAGE_TOO_LARGE' })).toBe(1);
      // A good send counts nothing.
      await serialSend(producer, { topic, acks: -1, messages: [{ key: 'k', value: 'small' }] });
      expect(await count(metrics, {})).toBe(1);
    } finally {
      await producer.disconnect();
      await admin.deleteTopics({ topics: [topic] });
      await admin.disconnect();
    }
  });

  it('counts a consumer crash with the class its handler threw', async () => {
    const metrics = new Metrics('client-errors-test');
    const kafka = createKafka({ brokers, clientId: uniqueName('opssec-errors'), metrics });
    const admin = kafka.admin();
    await admin.connect();
    const topic = uniqueName('opssec-crash');
    await admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 1 }], waitForLeaders: true });
    const producer = createProducer(kafka);
    await producer.connect();
    await serialSend(producer, { topic, acks: -1, messages: [{ key: 'k', value: 'v' }] });
    const consumer = kafka.consumer({ groupId: uniqueName('opssec-crash'), retry: { retries: 0, restartOnFailure: async () => false } });
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      await consumer.run({ eachMessage: async () => { throw new InfrastructureError('the store refused the write'); } });
      await waitFor(async () => (await count(metrics, { client: 'consumer' })) > 0 || undefined, { timeoutMs: 20000, what: 'the consumer crash counted' });
      const classes = ((await metrics.registry.getMetricsAsJSON()).find((x) => x.name === 'pfm_kafka_client_errors_total')?.values ?? []).map((v) => v.labels);
      expect(classes).toContainEqual({ client: 'consumer', class: 'InfrastructureError', retriable: 'true', service: 'client-errors-test' });
    } finally {
      await consumer.disconnect();
      await producer.disconnect();
      await admin.deleteTopics({ topics: [topic] });
      await admin.disconnect();
    }
  });
});
