// One admission, one trace: ingest, the engine and the gateway run as real processes on
// the real stack and export spans by OTLP/HTTP to a receiver this test runs; the W3C
// trace context travels in Kafka headers from ingest's publish to the engine's apply and
// on, with the board update, to the gateway's socket emit.
import { createServer, type Server } from 'node:http';
import type { BoardUpdate } from '@pfm/contracts';
import { freePort, waitFor } from '@pfm/testkit';
import { postEvents, startProduct, type ProductUnderTest } from './support/stack';

interface ExportedSpan { service: string; name: string; traceId: string; spanId: string; parentSpanId: string; links: { traceId: string; spanId: string }[]; attributes: Record<string, unknown> }
interface OtlpValue { stringValue?: string; intValue?: string | number }
interface OtlpJson {
  resourceSpans?: {
    resource?: { attributes?: { key: string; value: OtlpValue }[] };
    scopeSpans?: { spans?: { name: string; traceId: string; spanId: string; parentSpanId?: string; links?: { traceId: string; spanId: string }[]; attributes?: { key: string; value: OtlpValue }[] }[] }[];
  }[];
}

/** A real OTLP/HTTP traces endpoint (JSON encoding), keeping every span it receives. */
async function startOtlpReceiver(): Promise<{ url: string; spans: ExportedSpan[]; requests: { contentType: string | undefined }[]; close(): Promise<void> }> {
  const spans: ExportedSpan[] = [];
  const requests: { contentType: string | undefined }[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/traces') { res.writeHead(404).end(); return; }
      requests.push({ contentType: req.headers['content-type'] });
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as OtlpJson;
      for (const rs of body.resourceSpans ?? []) {
        const service = rs.resource?.attributes?.find((a) => a.key === 'service.name')?.value.stringValue ?? '?';
        for (const ss of rs.scopeSpans ?? []) {
          for (const s of ss.spans ?? []) {
            spans.push({
              service, name: s.name, traceId: s.traceId, spanId: s.spanId, parentSpanId: s.parentSpanId ?? '',
              links: (s.links ?? []).map((l) => ({ traceId: l.traceId, spanId: l.spanId })),
              attributes: Object.fromEntries((s.attributes ?? []).map((a) => [a.key, a.value.stringValue ?? a.value.intValue])),
            });
          }
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${port}/v1/traces`, spans, requests, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

describe('traces across Kafka', () => {
  let p: ProductUnderTest;
  let otlp: Awaited<ReturnType<typeof startOtlpReceiver>>;
  beforeAll(async () => {
    otlp = await startOtlpReceiver();
    p = await startProduct({ extraEnv: { PFM_OTLP_TRACES_URL: otlp.url } });
  });
  afterAll(async () => {
    await p?.stop();
    await otlp?.close();
  });

  it('one admission is one connected trace: ingest publish -> engine apply -> gateway emit', async () => {
    const socket = await p.connect(await p.token());
    const updates: BoardUpdate[] = [];
    socket.on('update', (u) => updates.push(u));
    expect(await new Promise<{ ok: boolean }>((resolve) => socket.emit('join', { kind: 'ward', site: 'RXT', ward: 'OAK' }, resolve))).toEqual({ ok: true });
    const r = await postEvents(p.ingestUrl, {
      eventId: 'trace-adm-1', type: 'patient.admitted', occurredAt: new Date(Date.now() - 60_000).toISOString(), site: 'RXT', patientId: 'TR1',
      payload: { spellId: 'S-TR1', ward: 'OAK', bed: 'B1', initials: 'AB' },
    });
    expect(r.status).toBe(202);
    await waitFor(() => updates.find((u) => u.change?.eventId === 'trace-adm-1'), { timeoutMs: 30000, what: 'the admission on the board' });

    // Each service exports its spans in batches about every second, independently: wait
    // until all of them have arrived (the gateway's can come before the engine's).
    const trace = await waitFor(() => {
      const root = otlp.spans.find((s) => s.service === 'ingest' && s.name === 'ingest publish');
      if (!root) return undefined;
      const inTrace = otlp.spans.filter((s) => s.traceId === root.traceId);
      const has = (service: string, name: string) => inTrace.some((s) => s.service === service && s.name === name);
      const batchLinked = otlp.spans.some((s) => s.name === 'engine apply batch' && s.links.some((l) => l.spanId === root.spanId));
      return has('flow-engine', 'engine apply') && has('board-gateway', 'gateway emit') && batchLinked ? { root, inTrace } : undefined;
    }, { timeoutMs: 30000, what: 'the spans of ingest, flow-engine and board-gateway for the admission' });

    const { root, inTrace } = trace;
    expect(root.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(root.parentSpanId).toBe('');
    const apply = inTrace.find((s) => s.service === 'flow-engine' && s.name === 'engine apply');
    const emit = inTrace.find((s) => s.service === 'board-gateway' && s.name === 'gateway emit');
    expect(apply?.parentSpanId).toBe(root.spanId);
    expect(emit?.parentSpanId).toBe(apply?.spanId);
    expect(emit?.attributes['messaging.destination.name']).toBe(p.topics.boardUpdates);
    // Every span of the trace hangs off the ingest span: one connected tree, three services.
    const ids = new Set(inTrace.map((s) => s.spanId));
    expect(inTrace.filter((s) => s.parentSpanId !== '' && !ids.has(s.parentSpanId))).toEqual([]);
    expect(inTrace.filter((s) => s.parentSpanId === '').map((s) => s.spanId)).toEqual([root.spanId]);
    expect([...new Set(inTrace.map((s) => s.service))].sort()).toEqual(['board-gateway', 'flow-engine', 'ingest']);

    // The engine's batch span is a trace of its own, linked to each event it applied.
    const batch = otlp.spans.find((s) => s.service === 'flow-engine' && s.name === 'engine apply batch' && s.links.some((l) => l.spanId === root.spanId));
    expect(batch?.links).toContainEqual({ traceId: root.traceId, spanId: root.spanId });
    expect(apply?.links).toContainEqual({ traceId: batch?.traceId, spanId: batch?.spanId });
    expect(otlp.requests.every((q) => q.contentType?.startsWith('application/json'))).toBe(true);
  });
});
