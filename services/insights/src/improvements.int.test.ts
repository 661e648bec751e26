/** @pfm-stack kafka registry */
// The improvement loop's API on the real Kafka and schema registry: a POST puts an
// improvement.noted event on the flow log, the consumer folds it into the warehouse, and
// the GET shows it with its outcomes; a second warehouse built from the log has it too.
// Refusals: no token, a role that may read but not record, a site outside the token's
// scope, and field-level 400s.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { Producer } from 'kafkajs';
import { Auth, type ClaimsInput } from '@pfm/access';
import type { FlowEvent } from '@pfm/contracts';
import { DEFAULT_THRESHOLDS } from '@pfm/flow-domain';
import { connectKafka, sendFlowEvents, type FlowEventCodec } from '@pfm/kafka-runtime';
import { createLogger } from '@pfm/observability';
import { requireStack, uniqueName, waitFor } from '@pfm/testkit';
import { buildInsightsApi, type AuditEntry } from './api';
import { InsightsConsumer } from './consumer';
import type { NoteOut } from './improvements';
import { loadCatalogue, loadPopulation } from './measures';
import { LocalAreas, Pseudonymiser } from './pseudonym';
import type { RowContext } from './rows';
import { Warehouse } from './warehouse';

const root = join(__dirname, '..', '..', '..');
const SECRET = 'improvements-int-test-secret-0123456789abcdef';
const ctx: RowContext = { thresholds: DEFAULT_THRESHOLDS, wardType: () => 'adult_acute', pseudo: new Pseudonymiser('k'.repeat(40)), areas: new LocalAreas([], 'area') };

describe('improvement notes: POST -> Kafka -> warehouse -> GET', () => {
  const ns = uniqueName('improve');
  const dir = mkdtempSync(join(tmpdir(), 'pfm-improve-'));
  const auth = new Auth(SECRET);
  const logger = createLogger('improve-test', new Writable({ write(_c, _e, done) { done(); } }));
  const audits: AuditEntry[] = [];
  const catalogue = loadCatalogue(join(root, 'config', 'measures.json'));
  const population = loadPopulation(join(root, 'config', 'population.csv'));
  const consumers: InsightsConsumer[] = [];
  const warehouses: Warehouse[] = [];
  let producer: Producer;
  let codec: FlowEventCodec;
  let topic = '';
  let app: FastifyInstance;
  let base = '';
  const sent: FlowEvent[] = [];

  const token = (c: Partial<ClaimsInput> = {}) => auth.issue({ sub: 'analyst-7', role: 'analyst', sites: ['RXT'], ...c } as ClaimsInput);
  const call = async (method: 'GET' | 'POST', url: string, bearer?: string, body?: unknown) => {
    const r = await fetch(`${base}${url}`, {
      method, headers: { ...(bearer ? { authorization: `Bearer ${bearer}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: r.status, body: (await r.json()) as Record<string, unknown> };
  };
  const note = { title: 'Discharge coordinator on Oak ward', site: 'RXT', ward: 'OAK', effectiveDate: '2026-03-02', measures: ['crfd_bed_days', 'los_median'], expectedDirection: 'down' };

  const openWarehouse = async (name: string) => {
    const w = await Warehouse.open(join(dir, `${name}.duckdb`), { thresholds: DEFAULT_THRESHOLDS, wards: [] });
    warehouses.push(w);
    const stack = await requireStack();
    const rt = await connectKafka({ brokers: stack.kafkaBrokers, clientId: ns, registryUrl: stack.schemaRegistryUrl, namespace: ns, logger });
    await rt.producer.disconnect();
    const c = new InsightsConsumer({ kafka: rt.kafka, codec: rt.codec, warehouse: w, ctx, logger, groupId: uniqueName(`${name}-g`), topics: { flowEvents: rt.topics.flowEvents, alerts: rt.topics.alerts } });
    consumers.push(c);
    await c.start();
    return w;
  };

  beforeAll(async () => {
    const stack = await requireStack();
    const rt = await connectKafka({ brokers: stack.kafkaBrokers, clientId: ns, registryUrl: stack.schemaRegistryUrl, namespace: ns, logger });
    ({ producer, codec } = rt);
    topic = rt.topics.flowEvents;
    const w = await openWarehouse('live');
    app = buildInsightsApi({
      warehouse: w, auth, logger, catalogue, population, audit: (e) => audits.push(e),
      sendNote: async (e) => { sent.push(e); await sendFlowEvents(producer, codec, [e], topic); },
    });
    base = await app.listen({ port: 0, host: '127.0.0.1' });
  }, 120_000);

  afterAll(async () => {
    await app?.close();
    for (const c of consumers) await c.stop();
    await producer?.disconnect();
    for (const w of warehouses) w.close();
    rmSync(dir, { recursive: true, force: true });
  });

  let noteId = '';
  it('records a note: 202 with its id, an improvement.noted event on the flow log with the token\'s subject as author', async () => {
    const r = await call('POST', '/api/v1/insights/improvements', await token({ sub: 'ops-lead-3', role: 'ops' }), note);
    expect(r.status).toBe(202);
    noteId = String(r.body.noteId);
    expect(r.body.eventId).toBe(`improvement:${noteId}`);
    expect(sent).toHaveLength(1);
    // The event as it is on the topic (read back through the registry's schema).
    const decoded = await codec.decode(await codec.encode(sent[0]!));
    expect(decoded).toMatchObject({ type: 'improvement.noted', site: 'RXT', patientId: `improvement:${noteId}`, channel: 'ui', payload: { noteId, author: 'ops-lead-3', ward: 'OAK', measures: ['crfd_bed_days', 'los_median'], expectedDirection: 'down' } });
    expect(audits.at(-1)).toMatchObject({ who: 'ops-lead-3', role: 'ops', action: 'POST /api/v1/insights/improvements', status: 202, query: { site: 'RXT', noteId, measures: 'crfd_bed_days,los_median' }, points: 1 });
  });

  it('shows it from the warehouse, in the agreed shape, with an outcome per measure', async () => {
    let notes: NoteOut[] = [];
    await waitFor(async () => {
      notes = (await call('GET', '/api/v1/insights/improvements?site=RXT', await token())).body.notes as NoteOut[];
      return notes.length === 1;
    }, { timeoutMs: 30_000, what: 'the note in the warehouse' });
    const n = notes[0]!;
    expect(n).toEqual({
      noteId, title: note.title, site: 'RXT', ward: 'OAK', effectiveDate: '2026-03-02', author: 'ops-lead-3', measures: ['crfd_bed_days', 'los_median'],
      expectedDirection: 'down', recordedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      outcomes: [
        { measure: 'crfd_bed_days', verdict: 'too-early', pointsSince: 0, detail: 'ward OAK, weekly: 0 of the 7 points needed since the change' },
        { measure: 'los_median', verdict: 'too-early', pointsSince: 0, detail: 'ward OAK, weekly: 0 of the 7 points needed since the change' },
      ],
    });
    expect(Object.keys(n)).not.toContain('team');
    // Filtered by measure: a note aiming at it, none for a measure it does not name.
    expect(((await call('GET', '/api/v1/insights/improvements?site=RXT&measure=los_median', await token())).body.notes as NoteOut[]).map((x) => x.noteId)).toEqual([noteId]);
    expect((await call('GET', '/api/v1/insights/improvements?site=RXT&measure=oap_bed_days', await token())).body.notes).toEqual([]);
    expect(audits.at(-1)).toMatchObject({ who: 'analyst-7', action: 'GET /api/v1/insights/improvements', status: 200, query: { site: 'RXT', measure: 'oap_bed_days' }, points: 0 });
    // A ward's staff see the changes on their wards only.
    expect(((await call('GET', '/api/v1/insights/improvements', await token({ role: 'ward', wards: ['OAK'] }))).body.notes as NoteOut[]).map((x) => x.noteId)).toEqual([noteId]);
    expect((await call('GET', '/api/v1/insights/improvements', await token({ role: 'ward', wards: ['ELM'] }))).body.notes).toEqual([]);
  });

  it('is on the log, so a warehouse built from the start has it too', async () => {
    const w2 = await openWarehouse('rebuilt');
    await consumers.at(-1)!.untilCaughtUp();
    const rows = await w2.rows('SELECT note_id, site, ward, team, title, effective_date::VARCHAR AS d, measures, expected_direction, author FROM improvement_notes');
    expect(rows).toEqual([{ note_id: noteId, site: 'RXT', ward: 'OAK', team: null, title: note.title, d: '2026-03-02', measures: 'crfd_bed_days,los_median', expected_direction: 'down', author: 'ops-lead-3' }]);
  });

  it('refuses without a token (401), a reader role that may not record (403), and a site outside the token (403)', async () => {
    expect((await call('POST', '/api/v1/insights/improvements', undefined, note)).status).toBe(401);
    const bm = await call('POST', '/api/v1/insights/improvements', await token({ role: 'bed_manager' }), note);
    expect(bm.status).toBe(403);
    expect(String(bm.body.message)).toContain('ops / analyst');
    expect((await call('POST', '/api/v1/insights/improvements', await token({ role: 'ward', sites: ['RXT'], wards: ['OAK'] }), note)).status).toBe(403);
    const other = await call('POST', '/api/v1/insights/improvements', await token(), { ...note, site: 'RYY' });
    expect(other.status).toBe(403);
    expect((await call('GET', '/api/v1/insights/improvements?site=RYY', await token())).status).toBe(403);
    expect(sent).toHaveLength(1);
    expect(audits.filter((a) => a.status === 403 && a.action === 'POST /api/v1/insights/improvements').map((a) => [a.role, a.query])).toEqual([['bed_manager', { site: 'RXT' }], ['ward', { site: 'RXT' }], ['analyst', { site: 'RYY' }]]);
  });

  it('names every bad field at once (400), and sends nothing', async () => {
    const r = await call('POST', '/api/v1/insights/improvements', await token(), {
      title: 'x', site: 'RXT', ward: 'not a ward!', effectiveDate: '2026-02-30', measures: ['crfd_bed_days', 'no_such_measure'], expectedDirection: 'sideways', colour: 'red',
    });
    expect(r.status).toBe(400);
    const fields = (r.body.errors as { field: string; message: string }[]).map((e) => e.field).sort();
    expect(fields).toEqual(['', 'effectiveDate', 'expectedDirection', 'measures.1', 'title', 'ward']);
    expect((r.body.errors as { field: string; message: string }[]).find((e) => e.field === 'measures.1')!.message).toMatch(/^unknown measure \(one of .*crfd_bed_days/);
    const empty = await call('POST', '/api/v1/insights/improvements', await token(), { ...note, measures: [] });
    expect(empty.body.errors).toEqual([{ field: 'measures', message: 'name at least one measure' }]);
    const rate = await call('POST', '/api/v1/insights/improvements', await token(), { ...note, measures: ['admissions_per_100k'] });
    expect((rate.body.errors as { field: string }[]).map((e) => e.field)).toEqual(['measures.0']);
    expect((await call('GET', '/api/v1/insights/improvements?measure=nope', await token())).status).toBe(400);
    expect(sent).toHaveLength(1);
  });

  it('a note id used again at another site is another note; at the same site it replaces the note (the demo re-posts its own)', async () => {
    const ryy = await token({ sub: 'analyst-ryy', sites: ['RYY'] });
    expect((await call('POST', '/api/v1/insights/improvements', ryy, { ...note, site: 'RYY', noteId, title: 'Another change at RYY' })).status).toBe(202);
    expect((await call('POST', '/api/v1/insights/improvements', await token({ sub: 'ops-lead-3', role: 'ops' }), { ...note, noteId, title: 'Discharge coordinator on Oak ward, daily' })).status).toBe(202);
    await waitFor(async () => ((await call('GET', '/api/v1/insights/improvements?site=RYY', ryy)).body.notes as NoteOut[]).length === 1, { timeoutMs: 30_000, what: 'the RYY note' });
    await waitFor(async () => ((await call('GET', '/api/v1/insights/improvements?site=RXT', await token())).body.notes as NoteOut[])[0]?.title === 'Discharge coordinator on Oak ward, daily', { timeoutMs: 30_000, what: 'the RXT note replaced' });
    const rxt = (await call('GET', '/api/v1/insights/improvements?site=RXT', await token())).body.notes as NoteOut[];
    expect(rxt.map((n) => [n.noteId, n.site, n.author])).toEqual([[noteId, 'RXT', 'ops-lead-3']]);
    const ryyNotes = (await call('GET', '/api/v1/insights/improvements?site=RYY', ryy)).body.notes as NoteOut[];
    expect(ryyNotes.map((n) => [n.noteId, n.site, n.title, n.author])).toEqual([[noteId, 'RYY', 'Another change at RYY', 'analyst-ryy']]);
  });
});
