// Reads a topic from the beginning into memory (a consumer group of its own), for tests:
// flow events decoded from Avro with FlowEventCodec, derived topics as JSON.
import type { Consumer, Kafka } from 'kafkajs';
import { rejectSchema, type FlowEvent, type Reject } from '@pfm/contracts';
import { createConsumer, FlowEventCodec } from '@pfm/kafka-runtime';
import { uniqueName } from '@pfm/testkit';

export class TopicReader<T> {
  readonly items: T[] = [];
  private constructor(private readonly consumer: Consumer) {}

  static async start<T>(kafka: Kafka, topic: string, decode: (value: Buffer) => Promise<T> | T): Promise<TopicReader<T>> {
    const consumer = createConsumer(kafka, { groupId: uniqueName('reader') });
    const reader = new TopicReader<T>(consumer);
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ autoCommit: false, eachMessage: async ({ message }) => { if (message.value) reader.items.push(await decode(message.value)); } });
    return reader;
  }

  static async flowEvents(kafka: Kafka, topic: string, registryUrl: string): Promise<TopicReader<FlowEvent>> {
    const codec = new FlowEventCodec(registryUrl, `${topic}-value`);
    return TopicReader.start(kafka, topic, (v) => codec.decode(v));
  }

  static async rejects(kafka: Kafka, topic: string): Promise<TopicReader<Reject>> {
    return TopicReader.start(kafka, topic, (v) => rejectSchema.parse(JSON.parse(v.toString('utf8'))));
  }

  async stop(): Promise<void> {
    await this.consumer.disconnect();
  }
}
