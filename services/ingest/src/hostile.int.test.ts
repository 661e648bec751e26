/** @pfm-stack kafka registry */
// Hostile input against the live listener and HTTP app (in-process, real Kafka), fast-check
// bounded to 200 runs per channel: random bytes, truncated and mutated messages, oversized
// bodies, deep JSON, huge strings, prototype-pollution keys, HL7 with odd delimiters.
// Every bad input must get a reason (ACK AE/AR with ERR, or a 4xx with field errors /
// an OperationOutcome), a good input sent alongside must be published, and the service
// must stay up.
import fc from 'fast-check';
import type { FlowEvent } from '@pfm/contracts';
import { waitFor } from '@pfm/testkit';
import { frame } from './mllp';
import { ackCode, hasErr, hl7Fixture, hl7FixtureNames, withControlId } from './testing/fixtures';
import { startTestIngest, type IngestUnderTest } from './testing/ingest-under-test';
import { MllpClient } from './testing/mllp-client';
import { TopicReader } from './testing/topic-reader';

const RUNS = 200;
const MLLP_MAX = 32 * 1024;
const BODY_MAX = 256 * 1024;
const NHS = 'https://fhir.nhs.uk/Id/nhs-number';

let t: IngestUnderTest;
let events: TopicReader<FlowEvent>;
const good = new Set<string>();
const run = Date.now().toString(36);
let seq = 0;
const nextId = (p: string) => `${run}-${p}-${(seq += 1)}`;

beforeAll(async () => {
  t = await startTestIngest({ PFM_MLLP_MAX_BYTES: String(MLLP_MAX), PFM_MAX_BODY_BYTES: String(BODY_MAX), PFM_MAX_BATCH: '20' }, 'hostile');
  events = await TopicReader.flowEvents(t.kafka, t.ingest.topics.flowEvents, t.registryUrl);
});

afterAll(async () => {
  await events?.stop();
  await t?.stop();
});

// ---- HL7 ----

const goodFixtures = hl7FixtureNames().filter((n) => !n.startsWith('bad-')).map((n) => hl7Fixture(n));
const fixture = fc.constantFrom(...goodFixtures);
const punct = fc.constantFrom(...'!#$%&*+,-./:;<=>?@[]^_`{|}~\\'.split(''));

const hostileHl7: fc.Arbitrary<Buffer> = fc.oneof(
  // random bytes, including the framing bytes themselves
  fc.uint8Array({ maxLength: 3000 }).map((a) => Buffer.from(a)),
  // a good message cut anywhere
  fc.tuple(fixture, fc.nat()).map(([m, n]) => Buffer.from(m.slice(0, n % m.length))),
  // a good message with characters overwritten (delimiters, CR, control and non-ASCII characters)
  fc.tuple(fixture, fc.array(fc.tuple(fc.nat(), fc.constantFrom('|', '^', '~', '\\', '&', '\r', '\n', '\u0000', '\u001c', 'é', '\ud83d\ude00', '""')), { minLength: 1, maxLength: 8 }))
    .map(([m, edits]) => Buffer.from(edits.reduce((s, [at, ch]) => { const i = at % s.length; return s.slice(0, i) + ch + s.slice(i + 1); }, m))),
  // odd delimiters: MSH-1/MSH-2 replaced (consistently or not)
  fc.tuple(fixture, fc.array(punct, { minLength: 5, maxLength: 5 }), fc.boolean()).map(([m, d, consistent]) => {
    const [f, c, r, e, s] = d as [string, string, string, string, string];
    const body = consistent ? m.slice(8).replace(/[|^~\\&]/g, (x) => ({ '|': f, '^': c, '~': r, '\\': e, '&': s })[x] ?? x) : m.slice(8);
    return Buffer.from(`MSH${f}${c}${r}${e}${s}${consistent ? f : '|'}${body}`);
  }),
  // oversized: a good message padded past the limit
  fc.tuple(fixture, fc.integer({ min: MLLP_MAX, max: 4 * MLLP_MAX })).map(([m, n]) => Buffer.from(`${m}NTE|1||${'x'.repeat(n)}\r`)),
  // huge field values within the limit
  fc.tuple(fixture, fc.integer({ min: 100, max: 20000 })).map(([m, n]) => Buffer.from(m.replace('RXT1000001', 'P'.repeat(n)).replace('ASH^^', `${'W'.repeat(n)}^^`))),
);

describe('hostile HL7 over MLLP', () => {
  it(`${RUNS} runs: every frame is answered (AE/AR carry ERR); the good message sent after it gets AA`, async () => {
    await fc.assert(
      fc.asyncProperty(hostileHl7, fixture, async (bad, okMsg) => {
        const c = await MllpClient.connect(t.ingest.mllpPort);
        try {
          const id = nextId('hl7');
          const goodMsg = withControlId(okMsg, id);
          c.write(Buffer.concat([frame(bad), frame(Buffer.from(goodMsg))]));
          // Random bytes may hold 0..n frames of their own; answers come in order, the good one last.
          for (;;) {
            const ack = await c.next(20000);
            const code = ackCode(ack);
            expect(['AA', 'AE', 'AR']).toContain(code);
            if (code !== 'AA') expect(hasErr(ack)).toBe(true);
            if (ack.includes(`MSA|AA|${id}\r`)) break;
          }
          good.add(id);
        } finally {
          await c.close();
        }
      }),
      { numRuns: RUNS },
    );
    const after = await MllpClient.connect(t.ingest.mllpPort);
    expect(ackCode(await after.send(withControlId(goodFixtures[0]!, nextId('after'))))).toBe('AA');
    await after.close();
  });
});

// ---- HTTP: JSON and FHIR ----

const deep = fc.integer({ min: 40, max: 200_000 }).map((n) => `${'['.repeat(n)}${']'.repeat(n)}`);
const deepObject = fc.integer({ min: 40, max: 20_000 }).map((n) => `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`);
const pollution = fc.constantFrom(
  '{"__proto__":{"polluted":true}}',
  '{"constructor":{"prototype":{"polluted":true}}}',
  '{"type":"patient.admitted","occurredAt":"2026-11-01T09:00:00Z","site":"RXT","patientId":"P","payload":{"spellId":"S","ward":"OAK","__proto__":{"polluted":true}}}',
  '{"resourceType":"Encounter","__proto__":{"status":"in-progress"},"status":"in-progress"}',
  '[{"__proto__":{"polluted":true},"type":"leave.ended"}]',
);
const hugeString = fc.integer({ min: 1000, max: 2 * BODY_MAX }).map((n) => JSON.stringify({ type: 'patient.admitted', occurredAt: '2026-11-01T09:00:00Z', site: 'RXT', patientId: 'P'.repeat(n), payload: { spellId: 'S', ward: 'OAK' } }));
const randomJson = fc.json({ depthSize: 'small' });
const randomText = fc.string({ unit: 'binary', maxLength: 2000 });

const validEvent = (id: string) => ({ eventId: id, type: 'patient.admitted', occurredAt: '2026-11-01T09:00:00Z', site: 'RXT', patientId: `H-${id}`, payload: { spellId: `S-${id}`, ward: 'OAK' } });
const mutatedEvent = fc.tuple(fc.constantFrom('eventId', 'type', 'occurredAt', 'site', 'patientId', 'nhsNumber', 'payload', 'extra'), fc.anything()).map(([k, v]) => {
  const e: Record<string, unknown> = validEvent('m');
  e[k] = v;
  return JSON.stringify(e) ?? 'null';
});
const oversizeBatch = fc.integer({ min: 21, max: 60 }).map((n) => JSON.stringify(Array.from({ length: n }, (_, i) => validEvent(`b${i}`))));

const encounter = (id: string) => ({
  resourceType: 'Encounter', identifier: [{ value: id }], status: 'in-progress',
  subject: { reference: `Patient/H-${id}`, identifier: { system: NHS, value: '9434765919' } },
  period: { start: '2026-11-01T09:15:00Z' }, location: [{ location: { reference: 'Location/OAK' } }],
});
const mutatedEncounter = fc.tuple(fc.constantFrom('resourceType', 'identifier', 'status', 'subject', 'period', 'location', 'statusHistory', 'hospitalization', 'serviceProvider'), fc.anything()).map(([k, v]) => {
  const e: Record<string, unknown> = encounter('m');
  e[k] = v;
  return JSON.stringify(e) ?? 'null';
});
const badBundle = fc.tuple(fc.constantFrom('batch', 'transaction', 'collection', 'searchset', 7), fc.array(fc.anything(), { maxLength: 25 })).map(([type, entries]) =>
  JSON.stringify({ resourceType: 'Bundle', type, entry: entries.map((resource) => ({ resource })) }) ?? 'null');

const hostileJson = fc.oneof(deep, deepObject, pollution, hugeString, randomJson, randomText, mutatedEvent, oversizeBatch);
const hostileFhir = fc.oneof(deep, deepObject, pollution, hugeString, randomJson, randomText, mutatedEncounter, badBundle);

async function post(path: string, body: string) {
  const r = await fetch(`${t.ingest.httpUrl}${path}`, { method: 'POST', headers: { 'content-type': path.startsWith('/fhir') ? 'application/fhir+json' : 'application/json', authorization: t.access.header }, body });
  const text = await r.text();
  let json: unknown;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: r.status, json: json as Record<string, unknown> | undefined };
}

describe('hostile HTTP', () => {
  it(`${RUNS} runs on /v1/events: 2xx or 4xx with reasons; the good event sent alongside is accepted`, async () => {
    await fc.assert(
      fc.asyncProperty(hostileJson, async (body) => {
        const r = await post('/v1/events', body);
        // 403: a well-formed site or a type this sender may not send (reasons name the field).
        expect([202, 207, 400, 403, 413, 422]).toContain(r.status);
        if (r.status >= 400) {
          const reasons = (r.json?.errors as unknown[] | undefined) ?? (r.json?.rejected as unknown[] | undefined) ?? (r.json?.message ? [r.json.message] : []);
          expect(reasons.length).toBeGreaterThan(0);
        }
        const id = nextId('json');
        expect((await post('/v1/events', JSON.stringify(validEvent(id)))).status).toBe(202);
        good.add(id);
      }),
      { numRuns: RUNS },
    );
  });

  it(`${RUNS} runs on /fhir/r4 and /fhir/r4/Encounter: OperationOutcome with issues on 4xx; the good Encounter alongside is accepted`, async () => {
    await fc.assert(
      fc.asyncProperty(hostileFhir, fc.constantFrom('/fhir/r4', '/fhir/r4/Encounter', '/fhir/r4/ServiceRequest'), async (body, path) => {
        const r = await post(path, body);
        expect([200, 202, 400, 413, 422]).toContain(r.status);
        if (r.status >= 400) {
          expect(r.json?.resourceType).toBe('OperationOutcome');
          const issues = r.json?.issue as { severity: string; diagnostics: string }[];
          expect(issues.some((i) => i.severity === 'error' && i.diagnostics.length > 0)).toBe(true);
        } else if (r.status === 200) {
          const entries = (r.json?.entry ?? []) as { response: { status: string } }[];
          expect(entries.every((e) => /^(200|202|422) /.test(e.response.status))).toBe(true);
        }
        const id = nextId('fhir');
        expect((await post('/fhir/r4/Encounter', JSON.stringify(encounter(id)))).status).toBe(202);
        good.add(id);
      }),
      { numRuns: RUNS },
    );
  });
});

describe('after the storm', () => {
  it('every good input is on the topic, the service is up, and no prototype was polluted', async () => {
    // An HL7 message that yields several events has ids "<MSH-10>-1", "-2"; FHIR ids are derived, so match the spell.
    const missing = () => {
      const ids = new Set<string>();
      for (const e of events.items) {
        ids.add(e.eventId.replace(/-\d+$/, ''));
        ids.add(e.eventId);
        if (e.channel === 'fhir' && 'spellId' in e.payload) ids.add(String(e.payload.spellId));
      }
      return [...good].filter((id) => !ids.has(id));
    };
    await waitFor(() => missing().length === 0, { timeoutMs: 60000, what: `all ${good.size} good inputs on the topic` }).catch((e: Error) => {
      throw new Error(`${e.message}; missing: ${missing().slice(0, 10).join(', ')}`);
    });
    expect(good.size).toBeGreaterThanOrEqual(3 * RUNS);
    expect((await fetch(`${t.ingest.httpUrl}/healthz`)).status).toBe(200);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
