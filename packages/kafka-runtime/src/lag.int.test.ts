// Consumer lag read from the real broker: committed offsets of a real group against the
// partitions' high watermarks, and the Prometheus text a scrape of it produces.
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { kafkaClientConfig } from './client';
import { Metrics } from '@pfm/observability';
import { requireStack, uniqueName } from '@pfm/testkit';
import { consumerLag, exportConsumerLag } from './lag';

describe('consumer lag on the real broker', () => {
  let kafka: Kafka;
  let admin: Admin;
  const topic = uniqueName('lag');
  const group = `${topic}-group`;

  beforeAll(async () => {
    const env = await requireStack();
    kafka = new Kafka(kafkaClientConfig({ brokers: env.kafkaBrokers, clientId: topic, logLevel: logLevel.NOTHING }));
    admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 2, replicationFactor: 1 }], waitForLeaders: true });
    const producer = kafka.producer();
    await producer.connect();
    // 7 messages on partition 0, 3 on partition 1.
    await producer.send({ topic, messages: [...Array(7).keys()].map((i) => ({ partition: 0, value: `a${i}` })) });
    await producer.send({ topic, messages: [...Array(3).keys()].map((i) => ({ partition: 1, value: `b${i}` })) });
    await producer.disconnect();
  });

  afterAll(async () => {
    await admin?.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin?.deleteGroups([group, `${group}-tail`]).catch(() => undefined);
    await admin?.disconnect();
  });

  it('counts every retained message as lag before the group commits anything', async () => {
    const rows = await consumerLag(admin, { groupId: group, topics: [topic], fromBeginning: true });
    expect(rows.map((r) => [r.partition, r.committed, r.high, r.lag])).toEqual([[0, null, '7', 7], [1, null, '3', 3]]);
    // A group that starts at the end (the gateway) has no lag to report until it commits.
    expect(await consumerLag(admin, { groupId: group, topics: [topic], fromBeginning: false })).toEqual([]);
  });

  it('is the high watermark minus the committed offset once the group commits', async () => {
    await admin.setOffsets({ groupId: group, topic, partitions: [{ partition: 0, offset: '5' }, { partition: 1, offset: '3' }] });
    await admin.setOffsets({ groupId: `${group}-tail`, topic, partitions: [{ partition: 1, offset: '1' }] });
    const rows = await consumerLag(admin, { groupId: group, topics: [topic], fromBeginning: true });
    expect(rows.map((r) => [r.partition, r.committed, r.lag])).toEqual([[0, '5', 2], [1, '3', 0]]);
    const tail = await consumerLag(admin, { groupId: `${group}-tail`, topics: [topic], fromBeginning: false });
    expect(tail.map((r) => [r.partition, r.committed, r.lag])).toEqual([[1, '1', 2]]);
  });

  it('exports pfm_kafka_consumer_lag per group, topic and partition at scrape time', async () => {
    const metrics = new Metrics('lag-test');
    exportConsumerLag(metrics, admin, () => [{ groupId: group, topics: [topic], fromBeginning: true }, { groupId: `${group}-nobody`, topics: [`${topic}-missing`], fromBeginning: true }]);
    const text = await metrics.registry.metrics();
    expect(text).toContain(`pfm_kafka_consumer_lag{group="${group}",topic="${topic}",partition="0",service="lag-test"} 2`);
    expect(text).toContain(`pfm_kafka_consumer_lag{group="${group}",topic="${topic}",partition="1",service="lag-test"} 0`);
    // A group on a topic that does not exist cannot be read: an error is counted, no lag invented.
    expect(text).toContain(`pfm_kafka_consumer_lag_errors_total{group="${group}-nobody",service="lag-test"} 1`);
    expect(text).not.toContain(`group="${group}-nobody",topic=`);

    // Produce more: the next scrape sees it without anything else running.
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic, messages: [{ partition: 1, value: 'late' }] });
    await producer.disconnect();
    expect(await metrics.registry.metrics()).toContain(`pfm_kafka_consumer_lag{group="${group}",topic="${topic}",partition="1",service="lag-test"} 1`);
  });
});
