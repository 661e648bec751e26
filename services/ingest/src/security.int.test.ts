/** @pfm-stack none */
// Every door of ingest's HTTP app, tried as an attacker would: no key, a wrong key, a key
// used outside its scope, product-only events (forged acknowledgements), a cross-site
// text/plain post, rejects read without an ops token. The app runs on a loopback port with
// an in-memory sink (what would be published is recorded); MLLP doors are in
// mllp-security.int.test.ts against the real stack.
import { connect, type AddressInfo } from 'node:net';
import { waitFor } from '@pfm/testkit';
import type { FastifyInstance } from 'fastify';
import { createLogger, Metrics } from '@pfm/observability';
import { Hl7Intake } from './hl7-intake';
import { RejectIndex } from './rejects';
import { buildIngestHttp, type AuditEntry } from './service';
import { testAccess, type TestAccess } from './testing/access';
import { FakeSink } from './testing/fake-sink';

const logger = createLogger('test');
logger.level = 'silent';

let sink: FakeSink;
let index: RejectIndex;
let app: FastifyInstance;
let base: string;
let access: TestAccess;
let audit: AuditEntry[];

beforeEach(async () => {
  sink = new FakeSink();
  index = new RejectIndex(100);
  sink.onReject = (r) => index.add(r);
  access = testAccess();
  audit = [];
  const hl7 = new Hl7Intake({ publisher: sink, logger, mapContext: { defaultSite: 'RXT' }, maxMessageBytes: 65536 });
  app = buildIngestHttp({
    sink, hl7, rejects: index, logger, metrics: new Metrics('test'), defaultSite: 'RXT', maxBatch: 5, maxBodyBytes: 64 * 1024, maxJsonDepth: 32,
    senders: access.senders, auth: access.auth, audit: (e) => audit.push(e),
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
});
afterEach(() => app.close());

async function send(path: string, init: { method?: string; headers?: Record<string, string>; body?: unknown } = {}) {
  const r = await fetch(base + path, {
    method: init.method ?? 'POST', headers: init.headers,
    body: init.body === undefined ? undefined : typeof init.body === 'string' ? init.body : JSON.stringify(init.body),
  });
  const text = await r.text();
  return { status: r.status, text, json: () => JSON.parse(text) as Record<string, unknown> };
}
const json = (auth?: string) => ({ 'content-type': 'application/json', ...(auth ? { authorization: auth } : {}) });
const admission = (over: Record<string, unknown> = {}) => ({
  type: 'patient.admitted', occurredAt: '2026-11-01T09:00:00Z', site: 'RXT', patientId: 'P1', nhsNumber: '9434765919', payload: { spellId: 'S1', ward: 'OAK' }, ...over,
});
const forgedAck = (over: Record<string, unknown> = {}) => ({
  type: 'alert.acknowledged', occurredAt: '2026-11-01T09:00:00Z', site: 'RXT', patientId: 'P1', payload: { alertId: 'a-stranded-P1', by: 'dr.someone' }, ...over,
});
const encounter = {
  resourceType: 'Encounter', identifier: [{ value: 'SP1' }], status: 'in-progress',
  subject: { reference: 'Patient/P1', identifier: { system: 'https://fhir.nhs.uk/Id/nhs-number', value: '9434765919' } },
  period: { start: '2026-11-01T09:15:00Z' }, location: [{ location: { reference: 'Location/OAK' } }],
};

describe('senders authenticate', () => {
  it('a listed sender with its key gets through (the baseline every refusal below differs from)', async () => {
    expect((await send('/v1/events', { headers: json(access.header), body: admission() })).status).toBe(202);
    expect((await send('/fhir/r4/Encounter', { headers: { ...json(access.header), 'content-type': 'application/fhir+json' }, body: encounter })).status).toBe(202);
    expect(sink.events).toHaveLength(2);
  });

  it.each([
    ['/v1/events', admission()],
    ['/fhir/r4/Encounter', encounter],
    ['/fhir/r4', { resourceType: 'Bundle', type: 'batch', entry: [{ resource: encounter }] }],
  ])('POST %s without a key, or with a wrong one, is 401 and nothing is published or kept', async (path, body) => {
    const none = await send(path, { headers: json(), body });
    expect(none.status).toBe(401);
    const wrong = await send(path, { headers: json(`ApiKey test-sender.${'x'.repeat(43)}`), body });
    expect(wrong.status).toBe(401);
    expect(sink.events).toHaveLength(0);
    expect(sink.rejects).toHaveLength(0);
  });

  it('a sender outside its scope (site, event type, channel) is 403 with the item at fault, and nothing is published', async () => {
    const otherSite = await send('/v1/events', { headers: json(access.narrowHeader), body: { ...admission(), type: 'referral.received', site: 'RXT', payload: { referralId: 'R1', team: 'CRHT', teamType: 'crisis', urgency: 'urgent' } } });
    expect(otherSite.status).toBe(403);
    expect(otherSite.json().errors).toEqual([{ path: '[0].site', message: 'sender narrow-sender may not send for site RXT' }]);
    const otherType = await send('/v1/events', { headers: json(access.narrowHeader), body: admission({ site: 'RYY' }) });
    expect(otherType.status).toBe(403);
    const otherChannel = await send('/fhir/r4/Encounter', { headers: { ...json(access.narrowHeader), 'content-type': 'application/fhir+json' }, body: encounter });
    expect(otherChannel.status).toBe(403);
    expect(sink.events).toHaveLength(0);
  });
});

describe('forged acknowledgements and product-only events', () => {
  it('alert.acknowledged from a sender is refused (403), alone or inside a batch, and never published', async () => {
    const alone = await send('/v1/events', { headers: json(access.header), body: forgedAck() });
    expect(alone.status).toBe(403);
    expect(alone.json().errors).toEqual([{ path: '[0].type', message: 'alert.acknowledged is written only by the product itself; no sender may send it' }]);
    const posing = await send('/v1/events', { headers: json(access.header), body: forgedAck({ channel: 'ui', sourceSystem: 'pfm-board' }) });
    expect(posing.status).toBe(403);
    const batch = await send('/v1/events', { headers: json(access.header), body: [admission(), forgedAck()] });
    expect(batch.status).toBe(403);
    const expiry = await send('/v1/events', { headers: json(access.header), body: { ...forgedAck(), type: 'park.expired', payload: { parkedEventId: 'e1' } } });
    expect(expiry.status).toBe(403);
    expect(sink.events).toHaveLength(0);
  });

  it('a sender cannot pose as the board or another system: channel and sourceSystem come from its credentials', async () => {
    const r = await send('/v1/events', { headers: { ...json(access.header), 'x-source-system': 'pfm-board' }, body: admission({ channel: 'ui', sourceSystem: 'pfm-board' }) });
    expect(r.status).toBe(202);
    expect(sink.events[0]).toMatchObject({ channel: 'json', sourceSystem: 'TEST-PAS' });
  });

  it('a re-drive cannot turn a rejected forged acknowledgement into an applied one', async () => {
    // A reject that holds an acknowledgement (e.g. one with a bad field) ...
    const bad = await send('/v1/events', { headers: json(access.header), body: { ...admission(), occurredAt: 'soon' } });
    const rejectId = (bad.json().rejected as { rejectId: string }[])[0]!.rejectId;
    const ops = `Bearer ${await access.token()}`;
    const r = await send(`/v1/rejects/${rejectId}/redrive`, { headers: { 'content-type': 'application/json', authorization: ops }, body: forgedAck() });
    expect(r.status).toBe(403);
    expect(sink.events).toHaveLength(0);
  });
});

describe('only JSON content types', () => {
  it('a text/plain body (what a cross-site form or fetch can send without a preflight) is refused with 415', async () => {
    for (const path of ['/v1/events', '/fhir/r4/Encounter']) {
      const r = await send(path, { headers: { 'content-type': 'text/plain', authorization: access.header }, body: admission() });
      expect(r.status).toBe(415);
    }
    expect(sink.events).toHaveLength(0);
  });
});

describe('rejects and re-drive are ops-only and audited', () => {
  it('without a token 401, with a non-ops token 403, with an ops token 200 and an audit entry (who, when, what)', async () => {
    const bad = await send('/v1/events', { headers: json(access.header), body: { ...admission(), occurredAt: 'soon' } });
    const rejectId = (bad.json().rejected as { rejectId: string }[])[0]!.rejectId;
    for (const path of ['/v1/rejects', `/v1/rejects/${rejectId}`]) {
      expect((await send(path, { method: 'GET' })).status).toBe(401);
      expect((await send(path, { method: 'GET', headers: { authorization: `Bearer ${await access.token({ role: 'bed_manager' })}` } })).status).toBe(403);
    }
    expect((await send(`/v1/rejects/${rejectId}/redrive`, { headers: json() })).status).toBe(401);
    expect((await send(`/v1/rejects/${rejectId}/redrive`, { headers: { ...json(), authorization: `Bearer ${await access.token({ role: 'bed_manager' })}` } })).status).toBe(403);
    expect(sink.events).toHaveLength(0);
    expect(audit).toHaveLength(0);

    const ops = { authorization: `Bearer ${await access.token({ sub: 'ops-anna' })}` };
    const one = await send(`/v1/rejects/${rejectId}`, { method: 'GET', headers: ops });
    expect(one.status).toBe(200);
    expect(one.json().raw).toContain('9434765919');
    expect(audit).toEqual([expect.objectContaining({ who: 'ops-anna', action: 'reject.read', rejectId, at: expect.any(Number) })]);
    const redrive = await send(`/v1/rejects/${rejectId}/redrive`, { headers: { ...ops, 'content-type': 'application/json' }, body: admission() });
    expect(redrive.status).toBe(200);
    expect(audit[1]).toEqual(expect.objectContaining({ who: 'ops-anna', action: 'reject.redrive', rejectId }));
    expect(sink.events).toHaveLength(1);
  });
});

describe('slow clients and floods', () => {
  let limited: FastifyInstance;
  let limitedBase: string;
  beforeEach(async () => {
    const hl7 = new Hl7Intake({ publisher: sink, logger, mapContext: { defaultSite: 'RXT' }, maxMessageBytes: 65536 });
    limited = buildIngestHttp({
      sink, hl7, rejects: index, logger, metrics: new Metrics('test'), defaultSite: 'RXT', maxBatch: 5, maxBodyBytes: 64 * 1024, maxJsonDepth: 32,
      senders: access.senders, auth: access.auth, rateLimitPerMinute: 5, idleTimeoutMs: 1000,
    });
    await limited.listen({ port: 0, host: '127.0.0.1' });
    limitedBase = `http://127.0.0.1:${(limited.server.address() as AddressInfo).port}`;
  });
  afterEach(() => limited.close());

  it('a body that stops arriving is cut off, while a good sender still gets through', async () => {
    const { port } = limited.server.address() as AddressInfo;
    const slow = connect(port, '127.0.0.1');
    let closed = false;
    slow.on('close', () => { closed = true; });
    slow.on('error', () => undefined);
    slow.write(`POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAuthorization: ${access.header}\r\nContent-Length: 1000\r\n\r\n{"type":`);
    const good = await fetch(`${limitedBase}/v1/events`, { method: 'POST', headers: json(access.header), body: JSON.stringify(admission()) });
    expect(good.status).toBe(202);
    await waitFor(() => closed, { what: 'the stalled request to be closed', timeoutMs: 20000 });
  });

  it('a client over its rate gets 429 with Retry-After', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) {
      const r = await fetch(`${limitedBase}/v1/events`, { method: 'POST', headers: json(access.header), body: JSON.stringify(admission({ patientId: `P${i}` })) });
      statuses.push(r.status);
      if (r.status === 429) expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
    }
    expect(statuses.slice(0, 5)).toEqual([202, 202, 202, 202, 202]);
    expect(statuses.slice(5)).toEqual([429, 429]);
  });
});

describe('no PII in parse errors', () => {
  it('a body that is not JSON is answered with a position, never with the body quoted', async () => {
    const r = await send('/v1/events', { headers: json(access.header), body: 'SMITH JOHN 9434765919 14 Acacia Road' });
    expect(r.status).toBe(400);
    expect(r.text).not.toMatch(/SMITH|9434765919|Acacia/);
    expect(sink.rejects[0]!.reason).not.toMatch(/SMITH|9434765919|Acacia/);
    expect(JSON.stringify(sink.rejects[0]!.errors)).not.toMatch(/SMITH|9434765919|Acacia/);
    expect(JSON.stringify(sink.rejects[0]!.errors)).toMatch(/position \d+/);
  });
});
