/** @pfm-stack kafka */
// Consumer lag read from the real broker: committed offsets of a real group against the
// partitions' high watermarks, and the Prometheus text a scrape of it produces.
import type { Admin, Kafka } from 'kafkajs';
import { Metrics } from '@pfm/observability';
import { numbered, openScratchTopic, uniqueName, type ScratchTopic } from '@pfm/testkit';
import { consumerLag, exportConsumerLag } from './lag';
import { kafkaClientConfig } from './client';

describe('consumer lag on the real broker', () => {
  let kafka: Kafka;
  let admin: Admin;
  let scratch: ScratchTopic | undefined;
  const topic = uniqueName('lag');
  const group = `${topic}-group`;

  beforeAll(async () => {
    scratch = await openScratchTopic(topic, 2, [
      // 7 messages on partition 0, 3 on partition 1.
      { partition: 0, values: numbered('a', 7) }, { partition: 1, values: numbered('b', 3) },
    ], kafkaClientConfig);
    ({ kafka, admin } = scratch);
  });

  afterAll(async () => {
    await scratch?.close([group, `${group}-tail`]);
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
