// Traces with OpenTelemetry: off unless PFM_OTLP_TRACES_URL (read by each service's
// config and passed in as `url`) names an OTLP/HTTP endpoint
// (a collector's /v1/traces). The W3C `traceparent` travels in Kafka message headers, so
// one admission is one trace: ingest's publish, the engine's apply, the board-update
// publish and the gateway's socket emit. With tracing off every call here is a no-op.
import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Context, type Span, type Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';

/** For tests: keeps finished spans in memory (pass as `exporter` to initTracing). */
export { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';

export { context, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Context, type Span };

export interface Tracing {
  enabled: boolean;
  /** Flushes spans still buffered and stops exporting (call on shutdown). */
  shutdown(): Promise<void>;
}

/**
 * Registers the global tracer provider (W3C trace context propagation, async context)
 * exporting to `url` by OTLP/HTTP (JSON), or to `exporter` when given (tests).
 * Returns a disabled handle when neither is given.
 */
export function initTracing(service: string, opts: { url?: string; exporter?: SpanExporter; exportDelayMs?: number } = {}): Tracing {
  const url = opts.url;
  if (!url && !opts.exporter) return { enabled: false, shutdown: async () => undefined };
  const exporter = opts.exporter ?? new OTLPTraceExporter({ url });
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': service, 'service.namespace': 'patient-flow-monitor' }),
    spanProcessors: [new BatchSpanProcessor(exporter, { scheduledDelayMillis: opts.exportDelayMs ?? 1000 })],
  });
  provider.register();
  return { enabled: true, shutdown: () => provider.shutdown() };
}

export function tracer(): Tracer {
  return trace.getTracer('pfm');
}

/** The W3C trace context of `ctx` as Kafka message headers ({} when tracing is off). */
export function traceHeaders(ctx: Context = context.active()): Record<string, string> {
  const carrier: Record<string, string> = {};
  propagation.inject(ctx, carrier);
  return carrier;
}

/** The trace context carried by a Kafka message's headers (ROOT_CONTEXT when none). */
export function contextFromHeaders(headers: Record<string, Buffer | string | (Buffer | string)[] | undefined> | undefined): Context {
  if (!headers) return ROOT_CONTEXT;
  const carrier: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) {
    const one = Array.isArray(v) ? v[0] : v;
    if (one !== undefined) carrier[k] = one.toString();
  }
  return propagation.extract(ROOT_CONTEXT, carrier);
}

/** Ends a span, marking it failed when err is given. */
export function endSpan(span: Span, err?: unknown): void {
  if (err !== undefined) {
    span.recordException(err instanceof Error ? err : String(err));
    span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
  }
  span.end();
}

/**
 * A span continuing the trace a Kafka message carries, or undefined when it carries none
 * (untraced producers, tracing off): consumers never start traces of their own.
 */
export function startSpanFromHeaders(name: string, headers: Parameters<typeof contextFromHeaders>[0], attributes: Record<string, string | number> = {}): Span | undefined {
  const parent = contextFromHeaders(headers);
  if (!trace.getSpanContext(parent)) return undefined;
  return tracer().startSpan(name, { kind: SpanKind.CONSUMER, attributes }, parent);
}

/** Runs fn inside a new active span (a child of the active context), ended when fn settles. */
export async function withSpan<T>(name: string, kind: SpanKind, attributes: Record<string, string | number>, fn: () => Promise<T>): Promise<T> {
  const span = tracer().startSpan(name, { kind, attributes });
  try {
    const out = await context.with(trace.setSpan(context.active(), span), fn);
    endSpan(span);
    return out;
  } catch (e) {
    endSpan(span, e);
    throw e;
  }
}
