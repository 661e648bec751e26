// The engine's part of a trace: each batch is one span linked to the context of every
// traced event in it, and each traced event gets an "engine apply" span that continues
// its trace from ingest (the W3C traceparent in the Kafka message headers). A board update
// published for an event carries that event's apply context on to the gateway.
// With tracing off (no provider registered) nothing here records anything.
import type { KafkaMessage } from 'kafkajs';
import { contextFromHeaders, endSpan, ROOT_CONTEXT, SpanKind, trace, traceHeaders, tracer, type Context, type Span } from '@pfm/observability';

/** Apply contexts of the events in batches in flight (partitions run concurrently), by event id. */
const inFlight = new Map<string, Context>();

export class BatchTrace {
  private readonly spans: Span[] = [];
  private readonly events: string[] = [];

  constructor(topic: string, partition: number, messages: KafkaMessage[]) {
    const traced = messages.map((m) => ({ m, ctx: contextFromHeaders(m.headers) })).filter((x) => trace.getSpanContext(x.ctx) !== undefined);
    if (traced.length === 0) return;
    const batch = tracer().startSpan('engine apply batch', {
      kind: SpanKind.CONSUMER,
      links: traced.map((x) => ({ context: trace.getSpanContext(x.ctx)! })),
      attributes: { 'messaging.system': 'kafka', 'messaging.destination.name': topic, 'messaging.destination.partition.id': String(partition), 'messaging.batch.message_count': messages.length },
    }, ROOT_CONTEXT);
    this.spans.push(batch);
    for (const { m, ctx } of traced) {
      const span = tracer().startSpan('engine apply', {
        kind: SpanKind.CONSUMER,
        links: [{ context: batch.spanContext() }],
        attributes: { 'messaging.system': 'kafka', 'messaging.destination.name': topic, 'messaging.destination.partition.id': String(partition), 'messaging.kafka.offset': Number(m.offset) },
      }, ctx);
      this.spans.push(span);
      const eventId = m.headers?.['pfm-event-id']?.toString();
      if (eventId) {
        inFlight.set(eventId, trace.setSpan(ctx, span));
        this.events.push(eventId);
      }
    }
  }

  /** Trace headers for a message published because of this event ({} when it is not traced). */
  static headersFor(eventId: string | undefined): Record<string, string> {
    const ctx = eventId === undefined ? undefined : inFlight.get(eventId);
    return ctx ? traceHeaders(ctx) : {};
  }

  /** Ends every span of the batch (failed when err is given). */
  end(err?: unknown): void {
    for (const id of this.events) inFlight.delete(id);
    // Event spans first, the batch span (first in the list) last.
    for (const s of [...this.spans].reverse()) endSpan(s, err);
  }
}
