/** @pfm-stack none */
// The read API over a real DuckDB warehouse file built from synthetic events: tokens,
// roles and site scope, field-level 400s, the series with SPC per segment, the audit line,
// and reads that never see a batch still in flight on the writer's connection.
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { DuckDBInstance } from '@duckdb/node-api';
import type { FastifyInstance } from 'fastify';
import { extract } from 'tar';
import { Auth, type ClaimsInput } from '@pfm/access';
import type { FlowEvent } from '@pfm/contracts';
import { DEFAULT_THRESHOLDS, emptyPatient, evolve } from '@pfm/flow-domain';
import { createLogger } from '@pfm/observability';
import { spc } from '@pfm/spc';
import { buildInsightsApi, type SeriesOut } from './api';
import { loadCatalogue, loadPopulation } from './measures';
import { LocalAreas, Pseudonymiser } from './pseudonym';
import { patientRows, type RowContext } from './rows';
import { Warehouse } from './warehouse';

const root = join(__dirname, '..', '..', '..');
const D = 24 * 3_600_000;
const W = 7 * D;
const T0 = Date.parse('2026-01-05T10:00:00Z'); // a Monday
const WEEKS = 16;
const SECRET = 'insights-api-test-secret-0123456789abcdef';
const ctx: RowContext = {
  thresholds: DEFAULT_THRESHOLDS, wardType: () => 'adult_acute', pseudo: new Pseudonymiser('k'.repeat(40)),
  areas: new LocalAreas([{ areaCode: 'NORTH', name: 'North', locality: 'NORTH', deprivationQuintile: 2 }], 'locality'),
};
let n = 0;
const ev = (site: string, patientId: string, type: FlowEvent['type'], payload: object, at: number): FlowEvent =>
  ({ eventId: `api${++n}`, type, payload, occurredAt: at, recordedAt: at, site, patientId, sourceSystem: 'T', channel: 'json' }) as FlowEvent;
const rec = (site: string, patientId: string, events: FlowEvent[]) => {
  const state = events.reduce((s, e) => evolve(s, e).state, emptyPatient(site, patientId));
  return { recordKey: ctx.pseudo.recordKey(site, patientId), state, rows: patientRows(state, ctx) };
};
/** Patients followed up in week w at RXT (of 5 discharged): the figures the series must give back. */
const followedRxt = (w: number) => 2 + (w % 4);

/** Each week: 5 discharges at RXT (followedRxt(w) followed up), 2 at RYY (both followed up). */
function synthetic() {
  const out = [];
  for (let w = 0; w <= WEEKS; w++) {
    for (const [site, count, followed] of [['RXT', 5, followedRxt(w)], ['RYY', 2, 2]] as const) {
      for (let i = 0; i < count; i++) {
        const id = `${site}-${w}-${i}`;
        const at = T0 + w * W;
        const events = [
          ev(site, id, 'patient.admitted', { spellId: `S${id}`, ward: 'OAK', legalStatus: '01', area: 'NORTH', ageBand: '25-34', gender: 'F', ethnicity: 'A' }, at),
          ev(site, id, 'patient.discharged', { spellId: `S${id}` }, at + D),
        ];
        if (i < followed) events.push(ev(site, id, 'followup.made', { spellId: `S${id}` }, at + 2 * D));
        out.push(rec(site, id, events));
      }
    }
  }
  return out;
}

describe('insights read API', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pfm-insights-api-'));
  const auth = new Auth(SECRET);
  const logLines: Record<string, unknown>[] = [];
  let w: Warehouse;
  let app: FastifyInstance;
  let base = '';
  const token = (c: Partial<ClaimsInput> = {}) => auth.issue({ sub: 'analyst-7', role: 'analyst', sites: ['RXT', 'RYY'], ...c } as ClaimsInput);
  const get = async (url: string, bearer?: string) => {
    const r = await fetch(`${base}${url}`, { headers: bearer ? { authorization: `Bearer ${bearer}` } : {} });
    return { status: r.status, body: (await r.json()) as Record<string, unknown> };
  };

  beforeAll(async () => {
    w = await Warehouse.open(join(dir, 'insights.duckdb'), { thresholds: DEFAULT_THRESHOLDS, wards: [{ site: 'RXT', code: 'OAK', name: 'Oak', type: 'adult_acute', beds: 20 }, { site: 'RYY', code: 'OAK', name: 'Oak', type: 'adult_acute', beds: 20 }] });
    // The last week (WEEKS) is still in progress at the watermark.
    await w.commit({ records: synthetic(), alerts: [], offsets: [], watermark: T0 + WEEKS * W + 3 * D });
    const sink = new Writable({ write(chunk: Buffer, _enc, done) { for (const l of chunk.toString().split('\n')) if (l.trim()) logLines.push(JSON.parse(l) as Record<string, unknown>); done(); } });
    app = buildInsightsApi({
      warehouse: w, auth, logger: createLogger('insights-api-test', sink),
      catalogue: loadCatalogue(join(root, 'config', 'measures.json')), population: loadPopulation(join(root, 'config', 'population.csv')),
    });
    base = await app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => {
    await app.close();
    w.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a request without a token (401), a forged one (401), a crisis-team token (403)', async () => {
    expect(await get('/api/v1/insights/measures')).toMatchObject({ status: 401, body: { error: 'missing_token' } });
    const forged = await new Auth('another-secret-another-secret-0123456').issue({ sub: 'x', role: 'analyst', sites: ['RXT'] });
    expect(await get('/api/v1/insights/measures', forged)).toMatchObject({ status: 401, body: { error: 'invalid_token' } });
    expect(await get('/api/v1/insights/measures', await token({ role: 'crisis_team', teams: ['CR'] }))).toMatchObject({ status: 403 });
  });

  it('a ward token reads its own wards only: other wards, team measures and the export are refused', async () => {
    const oak = await token({ role: 'ward', wards: ['OAK'], sites: ['RXT'] });
    const mine = (await get('/api/v1/insights/series?measure=admissions&period=month&by=ward', oak)).body as unknown as SeriesOut;
    expect(mine.segments.map((x) => x.segment)).toEqual(['OAK']);
    expect(mine.segments[0]!.points.reduce((a, p) => a + p.numerator, 0)).toBe(5 * (WEEKS + 1));
    const elm = await token({ role: 'ward', wards: ['ELM'], sites: ['RXT'] });
    expect(((await get('/api/v1/insights/series?measure=admissions&period=month', elm)).body as unknown as SeriesOut).segments).toEqual([]);
    expect(await get('/api/v1/insights/series?measure=admissions&period=month&ward=OAK', elm)).toMatchObject({ status: 403, body: { error: 'forbidden' } });
    expect(await get('/api/v1/insights/equity?measure=admissions&by=sex&ward=OAK', elm)).toMatchObject({ status: 403 });
    expect(await get('/api/v1/insights/series?measure=crisis_response_4h&period=month', oak)).toMatchObject({ status: 403 });
    expect(await get('/api/v1/insights/export?format=csv', oak)).toMatchObject({ status: 403 });
    const m = await get('/api/v1/insights/measures', oak);
    expect(m.body.scope).toEqual({ role: 'ward', sites: ['RXT'], wards: [{ site: 'RXT', ward: 'OAK', name: 'Oak', wardType: 'adult_acute' }] });
    expect((m.body.measures as { id: string }[]).map((x) => x.id)).not.toContain('crisis_response_4h');
  });

  it('rebaseAt starts a new phase: limits from that date on are the later points\' own', async () => {
    const at = new Date(T0 + 8 * W).toISOString().slice(0, 10);
    const r = (await get(`/api/v1/insights/series?measure=followup_72h&period=week&site=RXT&rebaseAt=${at}`, await token())).body as unknown as SeriesOut;
    expect(r.rebaseAt).toBe(at);
    const pts = r.segments[0]!.points.slice(0, WEEKS);
    const expected = spc(pts.map((p) => ({ date: p.periodStart, value: p.value! })), { improvement: 'increase', target: 80, rebase: [at] });
    expect(pts.map((p) => [p.mean, p.upl])).toEqual(expected.points.map((p) => [p.mean, p.upl]));
    const after = pts.slice(8).map((p) => p.value!);
    expect(pts[8]!.mean).toBeCloseTo(after.reduce((a, b) => a + b, 0) / after.length, 10);
    expect(await get('/api/v1/insights/series?measure=admissions&period=week&rebaseAt=2026-13-01', await token())).toMatchObject({ status: 400, body: { errors: [{ field: 'rebaseAt' }] } });
  });

  it('equity: segments of one dimension against the trust value, as JSON and as CSV', async () => {
    const t = await token({ sites: ['RXT'] });
    const r = await get('/api/v1/insights/equity?measure=detained_admission_share&by=sex', t);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ kind: 'proportion', unit: '%', by: 'sex', suppressBelow: 5, trust: { numerator: 0, denominator: 5 * (WEEKS + 1) } });
    expect(await get('/api/v1/insights/equity?measure=los_median&by=sex', t)).toMatchObject({ status: 400, body: { errors: [{ field: 'measure' }] } });
    expect(await get('/api/v1/insights/equity?measure=admissions&by=legal_status', t)).toMatchObject({ status: 400, body: { errors: [{ field: 'by' }] } });
    expect(await get('/api/v1/insights/equity?measure=admissions&by=deprivation_quintile', t)).toMatchObject({ status: 200, body: { kind: 'rate', unit: 'per 100,000', by: 'deprivation_quintile' } });
    const csv = await fetch(`${base}/api/v1/insights/equity?measure=admissions&by=local_area&format=csv`, { headers: { authorization: `Bearer ${t}` } });
    expect(csv.headers.get('content-type')).toContain('text/csv');
    expect((await csv.text()).split('\n')[0]).toMatch(/^measure,dimension,segment,numerator/);
  });

  it('refuses a site outside the token\'s scope (403) and cuts unscoped results to the token\'s sites', async () => {
    const rxtOnly = await token({ sites: ['RXT'] });
    expect(await get('/api/v1/insights/series?measure=admissions&period=week&site=RYY', rxtOnly)).toMatchObject({ status: 403, body: { error: 'forbidden' } });
    const r = await get('/api/v1/insights/series?measure=admissions&period=week&by=site', rxtOnly);
    expect(r.status).toBe(200);
    const body = r.body as unknown as SeriesOut;
    expect(body.sites).toEqual(['RXT']);
    expect(body.segments.map((s) => s.segment)).toEqual(['RXT']);
  });

  it('answers bad parameters with 400 and a reason per field', async () => {
    const t = await token();
    const bad = await get('/api/v1/insights/series?measure=nonsense&period=fortnight&from=2026-02-30&by=postcode', t);
    expect(bad.status).toBe(400);
    const fields = (bad.body.errors as { field: string; message: string }[]).map((e) => e.field).sort();
    expect(fields).toEqual(['by', 'from', 'measure', 'period']);
    const wrongSegment = await get('/api/v1/insights/series?measure=crisis_response_4h&period=week&by=sex', t);
    expect(wrongSegment).toMatchObject({ status: 400, body: { errors: [{ field: 'by' }] } });
    const backwards = await get('/api/v1/insights/series?measure=admissions&period=week&from=2026-03-01&to=2026-02-01', t);
    expect(backwards).toMatchObject({ status: 400, body: { errors: [{ field: 'to', message: 'must be after from' }] } });
    const extra = await get('/api/v1/insights/series?measure=admissions&period=week&nhsNumber=1', t);
    expect(extra.status).toBe(400);
    // A measure that needs a population segment says so for `by` (the measures module's own check).
    expect(await get('/api/v1/insights/series?measure=admissions_per_100k&period=month', t)).toMatchObject({ status: 400, body: { errors: [{ field: 'by' }] } });
  });

  it('serves the catalogue', async () => {
    const r = await get('/api/v1/insights/measures', await token({ role: 'bed_manager' }));
    expect(r.status).toBe(200);
    const measures = r.body.measures as { id: string; direction: string }[];
    expect(measures.find((m) => m.id === 'followup_72h')).toMatchObject({ direction: 'increase', target: 80 });
    expect(r.body.periods).toEqual(['week', 'month']);
  });

  it('gives the follow-up rate per site by week with numerators, denominators and SPC per segment', async () => {
    const r = await get('/api/v1/insights/series?measure=followup_72h&period=week&by=site', await token({ role: 'ops' }));
    expect(r.status).toBe(200);
    const body = r.body as unknown as SeriesOut;
    expect(body).toMatchObject({ period: 'week', by: 'site', sites: ['RXT', 'RYY'], measure: { id: 'followup_72h', direction: 'increase', target: 80 } });
    const rxt = body.segments.find((s) => s.segment === 'RXT')!;
    expect(rxt.points).toHaveLength(WEEKS + 1);
    rxt.points.forEach((p, w) => {
      expect(p.periodStart).toBe(new Date(T0 + w * W).toISOString().slice(0, 10));
      expect([p.numerator, p.denominator]).toEqual([followedRxt(w), 5]);
      expect(p.value).toBeCloseTo((followedRxt(w) / 5) * 100, 10);
    });
    // SPC over the complete weeks, as @pfm/spc computes it with the catalogue's direction and target.
    const expected = spc(rxt.points.slice(0, WEEKS).map((p) => ({ date: p.periodStart, value: p.value! })), { improvement: 'increase', target: 80 });
    expect(rxt.points.slice(0, WEEKS).map((p) => [p.mean, p.lpl, p.upl, p.pointType])).toEqual(expected.points.map((p) => [p.mean, p.lpl, p.upl, p.pointType]));
    const values = rxt.points.slice(0, WEEKS).map((p) => p.value!);
    expect(rxt.points[0]!.mean).toBeCloseTo(values.reduce((a, b) => a + b, 0) / WEEKS, 10);
    expect(rxt.points[0]!.upl! > rxt.points[0]!.mean! && rxt.points[0]!.lpl! < rxt.points[0]!.mean!).toBe(true);
    // Weekly rates between 40% and 100% straddle the 80% target: the process cannot be relied on to meet it.
    expect(rxt.assurance).toBe('inconsistent');
    // The week in progress is returned but not charted.
    expect(rxt.points[WEEKS]).toMatchObject({ complete: false, mean: null, lpl: null, upl: null, pointType: null });
    // RYY follows up everyone: a flat 100% (no variation) passes the target every time.
    const ryy = body.segments.find((s) => s.segment === 'RYY')!;
    expect(ryy.points.slice(0, WEEKS).every((p) => p.value === 100 && p.mean === 100 && p.pointType === 'common_cause')).toBe(true);
    // A measure without a target has no assurance.
    const adm = (await get('/api/v1/insights/series?measure=admissions&period=week&site=RYY', await token())).body as unknown as SeriesOut;
    expect(adm.segments).toHaveLength(1);
    expect(adm.segments[0]).toMatchObject({ segment: null, assurance: null });
    expect(adm.segments[0]!.points[0]).toMatchObject({ numerator: 2, denominator: null, value: 2, pointType: 'common_cause' });
  });

  it('cuts the series to [from, to)', async () => {
    const from = new Date(T0 + 2 * W).toISOString().slice(0, 10);
    const to = new Date(T0 + 5 * W).toISOString().slice(0, 10);
    const r = (await get(`/api/v1/insights/series?measure=admissions&period=week&from=${from}&to=${to}`, await token())).body as unknown as SeriesOut;
    expect(r.segments[0]!.points.map((p) => [p.periodStart, p.value])).toEqual([2, 3, 4].map((k) => [new Date(T0 + k * W).toISOString().slice(0, 10), 7]));
    expect([r.from, r.to]).toEqual([from, to]);
  });

  it('writes one audit line per read: who, role, what, when, status; no data', async () => {
    logLines.length = 0;
    const r = await get('/api/v1/insights/series?measure=admissions&period=month&site=RXT', await token({ sub: 'analyst-42' }));
    expect(r.status).toBe(200);
    await get('/api/v1/insights/series?measure=admissions&period=week&site=ZZZ', await token({ sub: 'analyst-43' }));
    const audits = logLines.filter((l) => l.msg === 'audit').map((l) => l.audit as Record<string, unknown>);
    expect(audits).toHaveLength(2);
    expect(audits[0]).toMatchObject({ who: 'analyst-42', role: 'analyst', action: 'GET /api/v1/insights/series', status: 200, query: { measure: 'admissions', period: 'month', site: 'RXT' } });
    expect(typeof audits[0]!.points).toBe('number');
    expect(Number.isNaN(Date.parse(String(audits[0]!.at)))).toBe(false);
    expect(audits[1]).toMatchObject({ who: 'analyst-43', status: 403, query: { site: 'ZZZ' } });
    // Only codes and counts: the log holds no patient key and no value of the series.
    expect(JSON.stringify(logLines)).not.toMatch(/patient|numerator|record_key/);
  });

  it('downloads the export as a .tar.gz cut to the token\'s sites, readable by DuckDB, audited', async () => {
    expect((await fetch(`${base}/api/v1/insights/export`)).status).toBe(401);
    const t = await token({ sub: 'analyst-rxt', sites: ['RXT'] });
    expect(await get('/api/v1/insights/export?format=xlsx', t)).toMatchObject({ status: 400, body: { errors: [{ field: 'format' }] } });
    logLines.length = 0;
    const r = await fetch(`${base}/api/v1/insights/export?format=parquet`, { headers: { authorization: `Bearer ${t}` } });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/gzip');
    const out = join(dir, 'download');
    writeFileSync(join(dir, 'export.tar.gz'), Buffer.from(await r.arrayBuffer()));
    rmSync(out, { recursive: true, force: true });
    mkdirSync(out);
    await extract({ file: join(dir, 'export.tar.gz'), cwd: out });
    for (const f of ['spells.parquet', 'measure_series.parquet', 'data-dictionary.md', 'data-dictionary.json', 'measures.json']) expect(existsSync(join(out, f))).toBe(true);
    const db = await DuckDBInstance.create(':memory:');
    const conn = await db.connect();
    try {
      const q = async (sql: string) => (await conn.runAndReadAll(sql)).getRowObjectsJS();
      expect(await q(`SELECT site, count(*)::INTEGER AS n FROM read_parquet('${join(out, 'spells.parquet')}') GROUP BY site`)).toEqual([{ site: 'RXT', n: 5 * (WEEKS + 1) }]);
      expect(await q(`SELECT DISTINCT site FROM read_parquet('${join(out, 'wards.parquet')}')`)).toEqual([{ site: 'RXT' }]);
      const fu = await q(`SELECT numerator, denominator FROM read_parquet('${join(out, 'measure_series.parquet')}') WHERE measure = 'followup_72h' AND period = 'week' AND cut IS NULL ORDER BY period_start LIMIT 2`);
      expect(fu).toEqual([{ numerator: followedRxt(0), denominator: 5 }, { numerator: followedRxt(1), denominator: 5 }]);
    } finally {
      conn.closeSync();
      db.closeSync();
    }
    const audits = logLines.filter((l) => l.msg === 'audit').map((l) => l.audit as Record<string, unknown>);
    expect(audits).toEqual([expect.objectContaining({ who: 'analyst-rxt', role: 'analyst', action: 'GET /api/v1/insights/export', status: 200, query: { format: 'parquet' } })]);
  });

  it('an export that works longer than the idle cut-off is not cut off before its first byte', async () => {
    // A second door on the same warehouse with a cut-off far shorter than an export takes.
    const quick = buildInsightsApi({
      warehouse: w, auth, logger: createLogger('insights-api-test', new Writable({ write(_c, _e, done) { done(); } })), connectionIdleMs: 150,
      catalogue: loadCatalogue(join(root, 'config', 'measures.json')), population: loadPopulation(join(root, 'config', 'population.csv')),
    });
    const url = await quick.listen({ port: 0, host: '127.0.0.1' });
    try {
      const r = await fetch(`${url}/api/v1/insights/export?format=csv`, { headers: { authorization: `Bearer ${await token({ sub: 'analyst-rxt', sites: ['RXT'] })}` } });
      expect(r.status).toBe(200);
      expect((await r.arrayBuffer()).byteLength).toBeGreaterThan(0);
    } finally {
      await quick.close();
    }
  });

  it('reads committed data only: a batch still open on the writer\'s connection is not seen', async () => {
    const count = async () => ((await get('/api/v1/insights/series?measure=admissions&period=month&site=RXT', await token())).body as unknown as SeriesOut).segments[0]!.points.reduce((a, p) => a + p.numerator, 0);
    const before = await count();
    expect(before).toBe(5 * (WEEKS + 1));
    await w.conn.run('BEGIN TRANSACTION');
    try {
      await w.conn.run("INSERT INTO spells SELECT * REPLACE (spell_id || '-x' AS spell_id) FROM spells WHERE site = 'RXT'");
      expect(Number((await w.rows("SELECT count(*) AS n FROM spells WHERE site = 'RXT'"))[0]!.n)).toBe(2 * before);
      expect(await count()).toBe(before);
    } finally {
      await w.conn.run('ROLLBACK');
    }
  });
});
