/** @pfm-stack kafka registry */
// Ingest in-process against the real Kafka and schema registry: every mapped HL7 trigger
// over MLLP to an event on the flow topic (decoded with FlowEventCodec), every ACK code,
// framing on a live socket, the FHIR and JSON paths, rejects and re-drive from the topic.
import type { FlowEvent, FlowEventType, Reject } from '@pfm/contracts';
import { waitFor } from '@pfm/testkit';
import { VT, frame } from './mllp';
import { startTestIngest, type IngestUnderTest } from './testing/ingest-under-test';
import { MllpClient } from './testing/mllp-client';
import { ackCode, hl7Fixture, withControlId } from './testing/fixtures';
import { TopicReader } from './testing/topic-reader';

const NHS = 'https://fhir.nhs.uk/Id/nhs-number';

/** What each good fixture must become on the topic. */
const EXPECTED: Record<string, FlowEventType[]> = {
  'a01-admit': ['patient.admitted'],
  'a01-admit-bst': ['patient.admitted'],
  'a02-transfer': ['patient.transferred'],
  'a03-discharge': ['patient.discharged'],
  'a04-register': ['admission.decided'],
  'a04-register-outpatient': ['message.unmapped'],
  'a05-preadmit': ['admission.decided'],
  'a08-update': ['patient.updated'],
  'a08-update-edd': ['patient.updated', 'edd.set'],
  'a11-cancel-admit': ['admission.cancelled'],
  'a38-cancel-preadmit': ['admission.cancelled'],
  'a12-cancel-transfer': ['transfer.cancelled'],
  'a13-cancel-discharge': ['discharge.cancelled'],
  'a17-swap': ['patient.transferred', 'patient.transferred'],
  'a21-leave-out': ['leave.started'],
  'a22-leave-return': ['leave.ended'],
  'a31-update-person': ['message.unmapped'],
  'a40-merge': ['patient.merged'],
  'a52-cancel-leave-out': ['leave.cancelled'],
  'a53-cancel-leave-return': ['leave.cancelled'],
  'oru-r01-result': ['message.unmapped'],
};

const BAD: Record<string, 'AE' | 'AR'> = {
  'bad-nhs-number': 'AE',
  'bad-missing-pv1-3': 'AE',
  'bad-missing-pv1-19': 'AE',
  'bad-missing-local-id': 'AE',
  'bad-event-time': 'AE',
  'bad-no-control-id': 'AR',
  'bad-garbage': 'AR',
};

let t: IngestUnderTest;
let events: TopicReader<FlowEvent>;
let rejects: TopicReader<Reject>;
let mllp: MllpClient;
const run = Date.now().toString(36);

beforeAll(async () => {
  t = await startTestIngest({ PFM_MLLP_MAX_BYTES: String(64 * 1024), PFM_MAX_BATCH: '50' });
  events = await TopicReader.flowEvents(t.kafka, t.ingest.topics.flowEvents, t.registryUrl);
  rejects = await TopicReader.rejects(t.kafka, t.ingest.topics.ingestRejects);
  mllp = await MllpClient.connect(t.ingest.mllpPort);
});

afterAll(async () => {
  await mllp?.close();
  await events?.stop();
  await rejects?.stop();
  await t?.stop();
});

const byIdPrefix = (prefix: string) => events.items.filter((e) => e.eventId === prefix || e.eventId.startsWith(`${prefix}-`));
/** Waits until `n` events with this id (or id prefix) are on the topic, and returns them. */
async function eventsWith(prefix: string, n: number, what: string): Promise<FlowEvent[]> {
  await waitFor(() => byIdPrefix(prefix).length >= n, { what });
  return byIdPrefix(prefix);
}
const post = async (path: string, body: unknown, type = 'application/json') => {
  const r = await fetch(`${t.ingest.httpUrl}${path}`, { method: 'POST', headers: { 'content-type': type, authorization: t.access.header }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
};

describe('HL7 v2 over MLLP', () => {
  it.each(Object.entries(EXPECTED))('%s: AA only after the events are on the topic', async (name, types) => {
    const controlId = `${run}-${name}`;
    const ack = await mllp.send(withControlId(hl7Fixture(name), controlId));
    expect(ackCode(ack)).toBe('AA');
    expect(ack).toContain(`MSA|AA|${controlId}`);
    const got = await eventsWith(controlId, types.length, `${name} on the topic`);
    expect(got.map((e) => e.type)).toEqual(types);
    expect(got.every((e) => e.channel === 'hl7v2' && e.site === 'RXT' && e.sourceSystem === 'PAS')).toBe(true);
  });

  it.each(Object.entries(BAD))('%s: %s with ERR, raw kept in the rejects topic, nothing published', async (name, code) => {
    const raw = name === 'bad-no-control-id' || name === 'bad-garbage' ? hl7Fixture(name) : withControlId(hl7Fixture(name), `${run}-${name}`);
    const ack = await mllp.send(raw);
    expect(ackCode(ack)).toBe(code);
    expect(ack).toMatch(/\rERR\|/);
    const rec = await waitFor(() => rejects.items.find((r) => r.raw === raw), { what: `${name} in the rejects topic` });
    expect(rec).toMatchObject({ stage: 'ingest', channel: 'hl7v2', rawEncoding: 'utf8' });
    expect(rec.errors.length).toBeGreaterThan(0);
    expect(byIdPrefix(`${run}-${name}`)).toHaveLength(0);
  });

  it('training (MSH-11 = T) is answered AR and kept as a reject', async () => {
    const raw = withControlId(hl7Fixture('a01-admit'), `${run}-training`).replace('|P|2.4|', '|T|2.4|');
    const ack = await mllp.send(raw);
    expect(ackCode(ack)).toBe('AR');
    expect(ack).toContain('processing id T (training) is not accepted');
    await waitFor(() => rejects.items.some((r) => r.raw === raw), { what: 'the training message reject' });
  });

  it('a facility not in the site map is accepted (AA) at the default site, and the ACK says so (ERR with severity W on v2.5.1)', async () => {
    const raw = withControlId(hl7Fixture('a01-admit'), `${run}-nofacility`).replace('|P|2.4|', '|P|2.5.1|').replace('^RXT01|', '^QQQ42|');
    const ack = await mllp.send(raw);
    expect(ackCode(ack)).toBe('AA');
    expect(ack).toMatch(/\rERR\|\|PV1\^1\^3\^1\^4\|103\^[^|]*\^HL70357\|W\|\|\|\|PV1-3\.4 facility "QQQ42" is not in the site map; default site used\r/);
    await waitFor(() => byIdPrefix(`${run}-nofacility`).length > 0, { what: 'the event at the default site' });
  });

  it('two frames in one write and one frame in 1-byte writes are all answered, in order', async () => {
    const c = await MllpClient.connect(t.ingest.mllpPort);
    try {
      const [a, b] = [`${run}-pair-a`, `${run}-pair-b`];
      c.write(Buffer.concat([frame(Buffer.from(withControlId(hl7Fixture('a01-admit'), a))), frame(Buffer.from(withControlId(hl7Fixture('a03-discharge'), b)))]));
      expect(await c.next()).toContain(`MSA|AA|${a}`);
      expect(await c.next()).toContain(`MSA|AA|${b}`);
      const slow = `${run}-bytewise`;
      for (const byte of frame(Buffer.from(withControlId(hl7Fixture('a02-transfer'), slow)))) c.write(Buffer.from([byte]));
      expect(await c.next()).toContain(`MSA|AA|${slow}`);
      await waitFor(() => byIdPrefix(slow).length === 1, { what: 'the byte-wise message' });
    } finally {
      await c.close();
    }
  });

  it('an oversized message is answered AR and the connection keeps working', async () => {
    const c = await MllpClient.connect(t.ingest.mllpPort);
    try {
      const big = withControlId(hl7Fixture('a01-admit'), `${run}-big`) + `NTE|1||${'x'.repeat(100 * 1024)}\r`;
      const ack = await c.send(big);
      expect(ackCode(ack)).toBe('AR');
      expect(ack).toContain(`MSA|AR|${run}-big|message of`);
      const rec = await waitFor(() => rejects.items.find((r) => r.eventId === undefined && r.reason.includes('oversize') && r.raw.includes(`${run}-big`)), { what: 'the oversize reject' });
      expect(rec.raw.length).toBeLessThan(big.length);
      // Marked as cut: a re-drive without a corrected body is refused (rejects.ts), never publishes the head alone.
      expect(rec.errors).toContainEqual({ path: '(raw)', message: expect.stringMatching(/^raw input truncated to its first 65536 of \d+ bytes$/) });
      expect(ackCode(await c.send(withControlId(hl7Fixture('a22-leave-return'), `${run}-after-big`)))).toBe('AA');
    } finally {
      await c.close();
    }
  });

  it('a frame cut short by a new start block is answered AR; the next one AA', async () => {
    const c = await MllpClient.connect(t.ingest.mllpPort);
    try {
      const half = withControlId(hl7Fixture('a01-admit'), `${run}-half`).slice(0, 120);
      c.write(Buffer.concat([Buffer.from([VT]), Buffer.from(half), frame(Buffer.from(withControlId(hl7Fixture('a21-leave-out'), `${run}-whole`)))]));
      expect(await c.next()).toContain(`MSA|AR|${run}-half|incomplete frame`);
      expect(await c.next()).toContain(`MSA|AA|${run}-whole`);
      const rec = await waitFor(() => rejects.items.find((r) => r.raw.includes(`${run}-half`)), { what: 'the incomplete frame\'s reject' });
      expect(rec.errors).toContainEqual({ path: '(raw)', message: expect.stringMatching(/cut this message off/) });
    } finally {
      await c.close();
    }
  });

  it('a re-sent message gets AA again with the same event ids (the engine applies it once)', async () => {
    const m = withControlId(hl7Fixture('a01-admit'), `${run}-resent`);
    expect(ackCode(await mllp.send(m))).toBe('AA');
    expect(ackCode(await mllp.send(m))).toBe('AA');
    const got = await eventsWith(`${run}-resent`, 2, 'both copies');
    expect(new Set(got.map((e) => e.eventId)).size).toBe(1);
  });

  it('counts unmapped triggers by trigger', async () => {
    const text = await (await fetch(`${t.ingest.httpUrl}/metrics`)).text();
    expect(text).toMatch(/pfm_ingest_unmapped_total\{trigger="ADT\^A31"[^}]*\} 1/);
    expect(text).toMatch(/pfm_ingest_unmapped_total\{trigger="ORU\^R01"[^}]*\} 1/);
    expect(text).toMatch(/pfm_ingest_mllp_messages_total\{ack="AR"/);
  });
});

describe('HTTP: canonical JSON and FHIR R4', () => {
  it('JSON: a batch is on the topic, in order, keyed by patient', async () => {
    const items = ['a', 'b', 'c'].map((x, i) => ({
      eventId: `${run}-json-${x}`, type: 'patient.admitted', occurredAt: 1_790_000_000_000 + i, site: 'RXT', patientId: `J${x}`, payload: { spellId: `JS${x}`, ward: 'OAK' },
    }));
    const r = await post('/v1/events', { events: items });
    expect(r.status).toBe(202);
    const got = await eventsWith(`${run}-json`, 3, 'JSON events');
    expect(got.map((e) => e.channel)).toEqual(['json', 'json', 'json']);
  });

  it('rejects are counted by kind of fault (bounded codes, never the reason text)', async () => {
    expect((await post('/v1/events', '{"events": [')).status).toBe(400);
    expect((await post('/v1/events', { type: 'patient.admitted', occurredAt: 'soon', site: 'RXT', patientId: 'R1', payload: { spellId: 'RS1', ward: 'OAK' } })).status).toBe(422);
    const text = await (await fetch(`${t.ingest.httpUrl}/metrics`)).text();
    expect(text).toMatch(/pfm_ingest_rejected_total\{channel="json",reason="invalid_json"[^}]*\} 1/);
    expect(text).toMatch(/pfm_ingest_rejected_total\{channel="json",reason="invalid_event"[^}]*\} 1/);
    // The HL7 refusals above, by their table 0357 code.
    expect(text).toMatch(/pfm_ingest_rejected_total\{channel="hl7v2",reason="hl7_\d{3}"/);
    expect(text).not.toMatch(/pfm_ingest_rejected_total\{[^}]*reason="(other|unclassified)"/);
  });

  it('FHIR: Encounter, ServiceRequest and a transaction Bundle become events', async () => {
    const enc = {
      resourceType: 'Encounter', identifier: [{ value: `${run}-SP` }], status: 'finished',
      subject: { reference: 'Patient/F1', identifier: { system: NHS, value: '9434765919' } },
      period: { start: '2026-11-01T09:15:00Z', end: '2026-11-09T16:00:00Z' },
      location: [
        { location: { reference: 'Location/OAK' }, period: { start: '2026-11-01T09:15:00Z' } },
        { location: { reference: 'Location/ELM' }, period: { start: '2026-11-04T11:00:00Z' } },
      ],
      hospitalization: { dischargeDisposition: { coding: [{ code: 'home' }] } },
    };
    const r = await post('/fhir/r4/Encounter', enc, 'application/fhir+json');
    expect(r.status).toBe(202);
    const ofSpell = () => events.items.filter((e) => e.channel === 'fhir' && (e.payload as { spellId?: string }).spellId === `${run}-SP`);
    await waitFor(() => ofSpell().length === 3, { what: 'FHIR Encounter events' });
    const got = ofSpell();
    expect(got.map((e) => e.type).sort()).toEqual(['patient.admitted', 'patient.discharged', 'patient.transferred']);
    expect(got[0]).toMatchObject({ patientId: 'F1', nhsNumber: '9434765919' });

    const sr = {
      resourceType: 'ServiceRequest', identifier: [{ value: `${run}-REF` }], status: 'active', intent: 'order', priority: 'stat',
      subject: { reference: 'Patient/F2' }, authoredOn: '2026-11-02T08:00:00Z', performer: [{ reference: 'CareTeam/CRISIS-N' }], performerType: { text: 'Crisis team' },
    };
    const tx = await post('/fhir/r4', { resourceType: 'Bundle', type: 'transaction', entry: [{ resource: sr }] });
    expect(tx.status).toBe(200);
    const ref = await waitFor(() => events.items.find((e) => e.type === 'referral.received' && e.payload.referralId === `${run}-REF`), { what: 'the referral' });
    expect(ref.payload).toMatchObject({ team: 'CRISIS-N', teamType: 'crisis', urgency: 'emergency' });
  });
});

describe('dates far ahead of the clock', () => {
  it('are refused on every channel at the field that carries them, and kept in the rejects topic with the raw input', async () => {
    // HL7: the event time (EVN-6) typed as 2062.
    const raw = withControlId(hl7Fixture('a01-admit'), `${run}-ahead`).replace('|20261101091500', '|20621101091500');
    expect(raw).toContain('|20621101091500');
    const ack = await mllp.send(raw);
    expect(ackCode(ack)).toBe('AE');
    expect(ack).toMatch(/\rERR\|[^\r]*EVN\^1\^6[^\r]*\|102\^/);
    expect(ack).toContain('ahead of this server');
    const rec = await waitFor(() => rejects.items.find((r) => r.raw === raw), { what: 'the HL7 message dated ahead in the rejects topic' });
    expect(rec.errors.map((e) => e.path)).toEqual(['EVN-6']);
    // Canonical JSON: field-level reason on occurredAt.
    const json = { eventId: `${run}-ahead-json`, type: 'patient.admitted', occurredAt: '2062-11-01T09:15:00Z', site: 'RXT', patientId: 'AH1', payload: { spellId: 'AHS1', ward: 'OAK' } };
    const r = await post('/v1/events', json);
    expect(r.status).toBe(422);
    expect(JSON.stringify(r.body)).toMatch(/"path":"occurredAt","message":"2062-11-01T09:15:00.000Z is \d+ days ahead of this server's clock/);
    await waitFor(() => rejects.items.some((x) => x.channel === 'json' && x.raw.includes(`${run}-ahead-json`)), { what: 'the JSON event dated ahead in the rejects topic' });
    // FHIR: the element named in the OperationOutcome.
    const enc = {
      resourceType: 'Encounter', identifier: [{ value: `${run}-AHEAD` }], status: 'in-progress', subject: { reference: 'Patient/AH2' },
      period: { start: '2062-11-01T09:15:00Z' }, location: [{ location: { reference: 'Location/OAK' } }],
    };
    const f = await post('/fhir/r4/Encounter', enc, 'application/fhir+json');
    expect(f.status).toBe(422);
    expect((f.body.issue as { expression?: string[] }[]).flatMap((i) => i.expression ?? [])).toContain('Encounter.period.start');
    // Nothing of the three reached the flow topic.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(events.items.filter((e) => e.eventId.startsWith(`${run}-ahead`) || (e.payload as { spellId?: string }).spellId === `${run}-AHEAD`)).toEqual([]);
  });
});

describe('rejects and re-drive', () => {
  it('a second ingest instance lists the first one\'s rejects from the topic and re-drives one, once per event id', async () => {
    const bad = withControlId(hl7Fixture('bad-missing-pv1-19'), `${run}-redrive`);
    expect(ackCode(await mllp.send(bad))).toBe('AE');
    const second = await startTestIngest({ PFM_TOPIC_NAMESPACE: t.config.PFM_TOPIC_NAMESPACE });
    try {
      const listed = await waitFor(async () => {
        const r = (await (await fetch(`${second.ingest.httpUrl}/v1/rejects?channel=hl7v2&limit=100`, { headers: { authorization: `Bearer ${await second.access.token()}` } })).json()) as { rejects: { rejectId: string; eventId?: string }[] };
        return r.rejects.find((x) => x.eventId === `${run}-redrive`);
      }, { what: 'the reject listed by the second instance' });
      const fixed = bad.replace('|NHS|||', '|NHS|SP-RD^^^RXT^VN||');
      const r1 = await fetch(`${second.ingest.httpUrl}/v1/rejects/${listed.rejectId}/redrive`, { method: 'POST', headers: { 'content-type': 'text/plain', authorization: `Bearer ${await second.access.token()}` }, body: fixed });
      const r2 = await fetch(`${second.ingest.httpUrl}/v1/rejects/${listed.rejectId}/redrive`, { method: 'POST', headers: { 'content-type': 'text/plain', authorization: `Bearer ${await second.access.token()}` }, body: fixed });
      expect(r1.status).toBe(200);
      expect(await r2.json()).toMatchObject({ eventIds: [`${run}-redrive`], previousRedrives: 1 });
      const got = await eventsWith(`${run}-redrive`, 2, 're-driven events');
      expect(got.map((e) => [e.eventId, e.channel, e.type])).toEqual([[`${run}-redrive`, 'redrive', 'patient.discharged'], [`${run}-redrive`, 'redrive', 'patient.discharged']]);
    } finally {
      await second.stop({ keepTopics: true });
    }
  });

  it('lists the engine\'s dead letters beside the rejects, and re-drives one with a correction', async () => {
    const id = `${run}-dlq`;
    const broken = { eventId: id, type: 'patient.admitted', occurredAt: Date.now() - 60_000, recordedAt: Date.now(), site: 'not a site!', patientId: `P-${id}`, sourceSystem: 'PAS', channel: 'hl7v2', payload: { spellId: `S-${id}`, ward: 'OAK' } };
    // As the engine writes it: the event, why it can never apply, and where it sat in the log.
    const letter: Reject = {
      rejectId: `dlq:${t.ingest.topics.flowEvents}:0:42`, stage: 'engine', channel: 'hl7v2', sourceSystem: 'PAS', receivedAt: Date.now(), reason: 'event breaks the flow-event contract',
      errors: [{ path: '', message: 'site: Invalid string: must match pattern' }], raw: JSON.stringify(broken), rawEncoding: 'utf8', eventId: id,
      source: { topic: t.ingest.topics.flowEvents, partition: 0, offset: '42' },
    };
    const producer = t.kafka.producer();
    await producer.connect();
    await producer.send({ topic: t.ingest.topics.flowEventsDlq, messages: [{ key: letter.rejectId, value: JSON.stringify(letter) }] });
    await producer.disconnect();
    const listed = await waitFor(async () => {
      const r = (await (await fetch(`${t.ingest.httpUrl}/v1/rejects?stage=engine&limit=100`, { headers: { authorization: `Bearer ${await t.access.token()}` } })).json()) as { rejects: Reject[] };
      return r.rejects.find((x) => x.rejectId === letter.rejectId);
    }, { what: 'the dead letter listed' });
    expect(listed).toMatchObject({ reason: 'event breaks the flow-event contract', source: { partition: 0, offset: '42' } });
    const r = await fetch(`${t.ingest.httpUrl}/v1/rejects/${encodeURIComponent(letter.rejectId)}/redrive`, { method: 'POST', headers: { 'content-type': 'text/plain', authorization: `Bearer ${await t.access.token()}` }, body: JSON.stringify({ ...broken, site: 'RXT' }) });
    expect(r.status).toBe(200);
    const [again] = await eventsWith(`${id}~rd`, 1, 'the re-driven event');
    expect(again).toMatchObject({ site: 'RXT', channel: 'redrive', type: 'patient.admitted' });
  });
});
