/** @pfm-stack none */
// The HTTP app in-process on a loopback port, with an in-memory sink instead of Kafka
// (the Kafka paths are in ingest.int.test.ts): statuses, reasons, limits, re-drive.
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { createLogger, Metrics } from '@pfm/observability';
import { Hl7Intake } from './hl7-intake';
import { RejectIndex } from './rejects';
import { buildIngestHttp } from './service';
import { testAccess, type TestAccess } from './testing/access';
import { FakeSink } from './testing/fake-sink';
import { hl7Fixture } from './testing/fixtures';

const logger = createLogger('test');
logger.level = 'silent';
const NHS = 'https://fhir.nhs.uk/Id/nhs-number';

let sink: FakeSink;
let index: RejectIndex;
let app: FastifyInstance;
let base: string;
let access: TestAccess;

beforeEach(async () => {
  sink = new FakeSink();
  index = new RejectIndex(100);
  sink.onReject = (r) => index.add(r);
  const metrics = new Metrics('test');
  const hl7 = new Hl7Intake({ publisher: sink, logger, mapContext: { defaultSite: 'RXT' }, maxMessageBytes: 65536 });
  access = testAccess();
  app = buildIngestHttp({ sink, hl7, rejects: index, logger, metrics, defaultSite: 'RXT', maxBatch: 5, maxBodyBytes: 64 * 1024, maxJsonDepth: 32, senders: access.senders, auth: access.auth });
  await app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
});
afterEach(() => app.close());

interface Res { statusCode: number; headers: Record<string, string>; json(): unknown }
/** Sends as the test sender (POST of input) or as ops (rejects routes). */
async function send(url: string, init: RequestInit = {}): Promise<Res> {
  const authorization = url.startsWith('/v1/rejects') ? `Bearer ${await access.token()}` : access.header;
  const r = await fetch(base + url, { ...init, headers: { authorization, ...(init.headers as Record<string, string> | undefined) } });
  const text = await r.text();
  const headers: Record<string, string> = {};
  r.headers.forEach((v, k) => { headers[k] = v; });
  return { statusCode: r.status, headers, json: () => JSON.parse(text) as unknown };
}
const post = (url: string, body: unknown, type = 'application/json') =>
  send(url, { method: 'POST', headers: { 'content-type': type }, body: typeof body === 'string' ? body : JSON.stringify(body) });
const get = (url: string) => send(url);

const admission = (over: Record<string, unknown> = {}) => ({
  type: 'patient.admitted', occurredAt: '2026-11-01T09:00:00Z', site: 'RXT', patientId: 'P1', payload: { spellId: 'S1', ward: 'OAK' }, ...over,
});
const encounter = (over: Record<string, unknown> = {}) => ({
  resourceType: 'Encounter', identifier: [{ value: 'SP1' }], status: 'in-progress',
  subject: { reference: 'Patient/P1', identifier: { system: NHS, value: '9434765919' } },
  period: { start: '2026-11-01T09:15:00Z' }, location: [{ location: { reference: 'Location/OAK' } }], ...over,
});

describe('POST /v1/events', () => {
  it('accepts, reports per item, keeps rejects', async () => {
    const r = await post('/v1/events', [admission(), admission({ patientId: 'P2', occurredAt: 'soon' })]);
    expect(r.statusCode).toBe(207);
    expect(sink.events).toHaveLength(1);
    expect(sink.rejects[0]!.errors[0]!.path).toBe('occurredAt');
  });

  it('keeps the refused items before it publishes the good ones: a failed reject write is a true 503, nothing published; the retry gives the same ids', async () => {
    const batch = [admission({ patientId: 'P7' }), admission({ patientId: 'P8', occurredAt: 'soon' })];
    sink.rejectsDown = true;
    const failed = await post('/v1/events', batch);
    expect(failed.statusCode).toBe(503);
    expect(sink.events).toHaveLength(0);
    sink.rejectsDown = false;
    const first = (await post('/v1/events', batch)).json() as { accepted: { eventId: string }[]; rejected: { rejectId: string }[] };
    const again = (await post('/v1/events', batch)).json() as typeof first;
    expect(again.accepted.map((a) => a.eventId)).toEqual(first.accepted.map((a) => a.eventId));
    expect(again.rejected.map((r) => r.rejectId)).toEqual(first.rejected.map((r) => r.rejectId));
    expect(first.rejected[0]!.rejectId).toMatch(/^rj-[0-9a-f]{32}$/);
    expect((await get('/v1/rejects?channel=json')).json()).toMatchObject({ rejects: [{ rejectId: first.rejected[0]!.rejectId }] });
  });

  it('refuses deep nesting with 400 before parsing it, and keeps it', async () => {
    const deep = '['.repeat(5000) + ']'.repeat(5000);
    const r = await post('/v1/events', deep);
    expect(r.statusCode).toBe(400);
    expect((r.json() as object)).toMatchObject({ error: 'too_deep' });
    expect(sink.rejects).toHaveLength(1);
  });

  it('413 for a batch or body over the limits', async () => {
    expect((await post('/v1/events', Array.from({ length: 6 }, () => admission()))).statusCode).toBe(413);
    expect((await post('/v1/events', { s: 'x'.repeat(70 * 1024) })).statusCode).toBe(413);
  });

  it('__proto__ keys are refused as unknown fields, and pollute nothing', async () => {
    const r = await post('/v1/events', '{"type":"patient.admitted","occurredAt":"2026-11-01T09:00:00Z","site":"RXT","patientId":"P1","payload":{"spellId":"S1","ward":"OAK","__proto__":{"admin":true}}}');
    expect(r.statusCode).toBe(422);
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
  });

  it('503 with Retry-After when Kafka is down', async () => {
    sink.down = true;
    const r = await post('/v1/events', admission());
    expect(r.statusCode).toBe(503);
    expect(r.headers['retry-after']).toBe('5');
  });
});

describe('FHIR', () => {
  it('POST /fhir/r4/Encounter -> 202 OperationOutcome; events on the sink', async () => {
    const r = await post('/fhir/r4/Encounter', encounter(), 'application/fhir+json');
    expect(r.statusCode).toBe(202);
    expect((r.json() as object)).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ severity: 'information' }] });
    expect(sink.events[0]).toMatchObject({ type: 'patient.admitted', channel: 'fhir', patientId: 'P1', nhsNumber: '9434765919' });
  });

  it('422 OperationOutcome naming the fields; id = rejectId; raw kept', async () => {
    const raw = JSON.stringify(encounter({ status: 'finished' }));
    const r = await post('/fhir/r4/Encounter', raw, 'application/fhir+json');
    expect(r.statusCode).toBe(422);
    const oo = r.json() as { id: string; issue: { expression: string[] }[] };
    expect(oo.issue.map((i) => i.expression[0])).toEqual(['Encounter.period.end']);
    expect(index.get(oo.id)!.reject).toMatchObject({ channel: 'fhir', raw });
  });

  it('400 for the wrong resource type or bad JSON, as OperationOutcome', async () => {
    expect((await post('/fhir/r4/ServiceRequest', encounter())).statusCode).toBe(400);
    const bad = await post('/fhir/r4/Encounter', '{"resourceType":');
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ code: 'structure' }] });
  });

  it('413 and 503 are OperationOutcomes too', async () => {
    const big = await post('/fhir/r4/Encounter', { s: 'x'.repeat(70 * 1024) });
    expect(big.statusCode).toBe(413);
    expect(big.json()).toMatchObject({ resourceType: 'OperationOutcome' });
    sink.down = true;
    const down = await post('/fhir/r4/Encounter', encounter());
    expect(down.statusCode).toBe(503);
    expect(down.headers['retry-after']).toBe('5');
    expect(down.json()).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ code: 'transient' }] });
  });

  it('batch: each entry on its own; transaction: all or nothing', async () => {
    const entries = [{ resource: encounter() }, { resource: encounter({ identifier: [{ value: 'SP2' }], status: 'nonsense' }) }];
    const batch = await post('/fhir/r4', { resourceType: 'Bundle', type: 'batch', entry: entries });
    expect(batch.statusCode).toBe(200);
    const body = batch.json() as { type: string; entry: { response: { status: string; outcome: { issue: { expression?: string[] }[] } } }[] };
    expect(body.type).toBe('batch-response');
    expect(body.entry.map((e) => e.response.status)).toEqual(['202 Accepted', '422 Unprocessable Entity']);
    expect(body.entry[1]!.response.outcome.issue[0]!.expression).toEqual(['Bundle.entry[1].resource.status']);
    expect(sink.events).toHaveLength(1);
    expect(sink.rejects).toHaveLength(1);

    const tx = await post('/fhir/r4', { resourceType: 'Bundle', type: 'transaction', entry: entries });
    expect(tx.statusCode).toBe(422);
    expect(sink.events).toHaveLength(1);
    const ok = await post('/fhir/r4', { resourceType: 'Bundle', type: 'transaction', entry: [entries[0]] });
    expect(ok.statusCode).toBe(200);
    expect((ok.json() as { type: string }).type).toBe('transaction-response');
  });
});

describe('rejects and re-drive', () => {
  it('lists newest first, filtered by channel, without the raw input', async () => {
    await post('/v1/events', admission({ patientId: 'X', occurredAt: 'never' }));
    await post('/fhir/r4/Encounter', encounter({ status: 'finished' }));
    const all = (await get('/v1/rejects?limit=10')).json() as { rejects: { channel: string; raw?: string; rawChars: number }[] };
    expect(all.rejects.map((r) => r.channel)).toEqual(['fhir', 'json']);
    expect(all.rejects[0]!.raw).toBeUndefined();
    const json = (await get('/v1/rejects?channel=json')).json() as { rejects: unknown[] };
    expect(json.rejects).toHaveLength(1);
    expect((await get('/v1/rejects?limit=0')).statusCode).toBe(400);
  });

  it('re-drives a corrected JSON event; two re-drives give the same event id', async () => {
    const r = await post('/v1/events', admission({ occurredAt: 'never' }));
    const rejectId = (r.json() as { rejected: { rejectId: string }[] }).rejected[0]!.rejectId;
    expect((await send(`/v1/rejects/${rejectId}/redrive`, { method: 'POST' })).statusCode).toBe(422);
    const fixed = JSON.stringify(admission());
    const a = await post(`/v1/rejects/${rejectId}/redrive`, fixed);
    const b = await post(`/v1/rejects/${rejectId}/redrive`, fixed);
    expect(a.statusCode).toBe(200);
    expect(a.json()).toMatchObject({ redriven: true, previousRedrives: 0 });
    expect(b.json()).toMatchObject({ previousRedrives: 1 });
    expect(sink.events.map((e) => e.eventId)).toEqual([(a.json() as { eventIds: string[] }).eventIds[0], (b.json() as { eventIds: string[] }).eventIds[0]]);
    expect(sink.events[0]!.eventId).toBe(sink.events[1]!.eventId);
    expect(sink.events[0]!.channel).toBe('redrive');
    expect((await get(`/v1/rejects/${rejectId}`)).json()).toMatchObject({ redrives: [{ corrected: true }, { corrected: true }] });
  });

  it('re-drives HL7 with a corrected message (newlines accepted), keeping MSH-10 ids', async () => {
    const hl7 = new Hl7Intake({ publisher: sink, logger, mapContext: { defaultSite: 'RXT' }, maxMessageBytes: 65536 });
    const out = await hl7.process({ kind: 'message', data: Buffer.from(hl7Fixture('bad-missing-pv1-19')) });
    expect(out.ok).toBe(false);
    const rejectId = out.ok ? '' : out.rejectId!;
    const fixed = hl7Fixture('bad-missing-pv1-19').replace('|NHS|||', '|NHS|SP9^^^RXT^VN||').replace(/\r/g, '\n');
    const r = await post(`/v1/rejects/${rejectId}/redrive`, fixed, 'text/plain');
    expect(r.statusCode).toBe(200);
    expect(sink.events[0]).toMatchObject({ eventId: 'RXT-PAS-000903', type: 'patient.discharged', channel: 'redrive', payload: { spellId: 'SP9' } });
  });

  it('re-drives a FHIR reject; 404 for an unknown id; 503 when Kafka is down', async () => {
    const bad = await post('/fhir/r4/Encounter', encounter({ status: 'finished' }));
    const rejectId = (bad.json() as { id: string }).id;
    const fixed = JSON.stringify(encounter({ status: 'finished', period: { start: '2026-11-01T09:15:00Z', end: '2026-11-05T10:00:00Z' } }));
    expect((await post(`/v1/rejects/${rejectId}/redrive`, fixed)).statusCode).toBe(200);
    expect(sink.events.map((e) => e.type)).toEqual(['patient.admitted', 'patient.discharged']);
    expect((await post('/v1/rejects/nope/redrive', '')).statusCode).toBe(404);
    sink.down = true;
    expect((await post(`/v1/rejects/${rejectId}/redrive`, fixed)).statusCode).toBe(503);
  });
});
