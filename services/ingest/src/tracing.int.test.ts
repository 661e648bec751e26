/** @pfm-stack kafka registry */
// Ingest in-process with an in-memory span exporter, against the real Kafka and registry:
// an HL7 message received over MLLP is one trace (receipt -> publish), and the message on
// the flow topic carries that trace's W3C traceparent in its headers.
import type { KafkaMessage } from 'kafkajs';
import { FETCH_MAX_WAIT_MS } from '@pfm/kafka-runtime';
import { InMemorySpanExporter, initTracing, type Tracing } from '@pfm/observability';
import { uniqueName, waitFor } from '@pfm/testkit';
import { startTestIngest, type IngestUnderTest } from './testing/ingest-under-test';
import { MllpClient } from './testing/mllp-client';
import { ackCode, hl7Fixture, withControlId } from './testing/fixtures';

describe('traces from an MLLP receipt', () => {
  const exporter = new InMemorySpanExporter();
  let tracing: Tracing;
  let t: IngestUnderTest;
  let mllp: MllpClient;
  const messages: KafkaMessage[] = [];
  const afterAllStops: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    tracing = initTracing('ingest', { exporter, exportDelayMs: 50 });
    t = await startTestIngest({}, 'ingest-trace');
    const consumer = t.kafka.consumer({ groupId: uniqueName('trace-reader'), maxWaitTimeInMs: FETCH_MAX_WAIT_MS });
    await consumer.connect();
    await consumer.subscribe({ topic: t.ingest.topics.flowEvents, fromBeginning: true });
    await consumer.run({ autoCommit: false, eachMessage: async ({ message }) => { messages.push(message); } });
    afterAllStops.push(() => consumer.disconnect());
    mllp = await MllpClient.connect(t.ingest.mllpPort);
  });
  afterAll(async () => {
    await mllp?.close();
    for (const s of afterAllStops) await s();
    await t?.stop();
    await tracing?.shutdown();
  });

  it('the flow-topic message carries the traceparent of the publish span, a child of the MLLP receipt span', async () => {
    const controlId = uniqueName('trace-a01');
    expect(ackCode(await mllp.send(withControlId(hl7Fixture('a01-admit'), controlId)))).toBe('AA');
    const msg = await waitFor(() => messages.find((m) => m.headers?.['pfm-event-id']?.toString().startsWith(controlId)), { what: 'the admission on the flow topic' });
    const traceparent = msg.headers?.traceparent?.toString() ?? '';
    const [, traceId, parentId] = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/.exec(traceparent) ?? [];
    expect(traceId).toBeDefined();

    const spans = await waitFor(() => {
      const s = exporter.getFinishedSpans().filter((x) => x.spanContext().traceId === traceId);
      return s.length >= 2 ? s : undefined;
    }, { what: 'the receipt and publish spans' });
    const receive = spans.find((s) => s.name === 'ingest mllp receive');
    const publish = spans.find((s) => s.name === 'ingest publish');
    expect(publish?.spanContext().spanId).toBe(parentId);
    expect(publish?.parentSpanContext?.spanId).toBe(receive?.spanContext().spanId);
    expect(receive?.parentSpanContext).toBeUndefined();
    expect(publish?.attributes['messaging.destination.name']).toBe(t.ingest.topics.flowEvents);
  });
});
