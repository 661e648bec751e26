/** @pfm-stack none */
// The stored bed days (census_patient_days, kept batch by batch) against the definition
// they replace: the view every query used to compute, copied here as it was (schema 1).
// 120 days of the simulator's trust (fixed seed), delivered the way Kafka delivers them
// (three partitions by patient, batches of uneven size taken in turn, so the watermark
// moves unevenly; some events late, some twice), folded with the consumer's rules and
// committed batch by batch. The table, daily_ward_census and every measure of the
// catalogue by every segment it offers must equal the old view's numbers exactly. DuckDB
// only, no stack. Also: a file of the old layout is refused with the command to rebuild.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { flowEventSchema, type FlowEvent } from '@pfm/contracts';
import { DEFAULT_THRESHOLDS, emptyPatient, losRulesFor, type PatientState, type Thresholds } from '@pfm/flow-domain';
import { createSimulation, Rng, wardsOf } from '@pfm/simulator';
import { evolveAll } from './fold';
import { IMPLEMENTED, loadCatalogue, loadPopulation, measureSeries, type Segment } from './measures';
import { LocalAreas, Pseudonymiser } from './pseudonym';
import { patientRows, type RowContext } from './rows';
import { SCHEMA_VERSION } from './schema';
import { Warehouse, WarehouseSchemaError, type RecordWrite } from './warehouse';

const root = join(__dirname, '..', '..', '..');
const START = Date.UTC(2026, 2, 1);
const DAYS = 120;

/** census_patient_days and daily_ward_census as schema 1 defined them (views), under other names. */
function oldViews(t: Thresholds): string[] {
  const longStayUnknown = losRulesFor(t, 'unknown').longStayDays[0] ?? null;
  const los = `(floor((epoch_ms(o.at) - epoch_ms(o.admitted_at)) / 86400000)${t.losConvention === 'inclusive' ? ' + 1' : ''})`;
  const expand = (s: string, e: string) => `unnest(generate_series(
      (CASE WHEN ${s} = date_trunc('day', ${s}) THEN ${s}::DATE - 1 ELSE ${s}::DATE END)::TIMESTAMP,
      least(CASE WHEN ${e} IS NULL THEN (SELECT d1 FROM bounds) WHEN ${e} = date_trunc('day', ${e}) THEN ${e}::DATE - 2 ELSE ${e}::DATE - 1 END, (SELECT d1 FROM bounds))::TIMESTAMP,
      INTERVAL 1 DAY))::DATE`;
  const patientDays = `CREATE OR REPLACE VIEW old_census_patient_days AS
WITH bounds AS (
  SELECT (SELECT epoch_ms(v) FROM _meta WHERE k = 'watermark')::DATE - 1 AS d1
), ward_list AS (
  SELECT site, ward, ward_type, long_stay_days FROM wards
  UNION ALL
  SELECT DISTINCT s.site, s.ward, 'unknown', ${longStayUnknown ?? 'NULL'}::INTEGER FROM ward_stays s
  WHERE NOT EXISTS (SELECT 1 FROM wards w WHERE w.site = s.site AND w.ward = s.ward)
), occ AS (
  SELECT ws.site, ws.ward, ws.spell_id, ws.out_of_area, ${expand('ws.started_at', 'ws.ended_at')} AS census_date FROM ward_stays ws
), leave_days AS (
  SELECT DISTINCT l.site, l.spell_id, ${expand('l.started_at', 'l.ended_at')} AS census_date FROM leave_periods l
), crfd_days AS (
  SELECT site, spell_id, census_date, min(reason_code) AS reason_code
  FROM (SELECT c.site, c.spell_id, c.reason_code, ${expand('c.started_at', 'c.ended_at')} AS census_date FROM crfd_periods c) GROUP BY ALL
), occ2 AS (
  SELECT o.*, o.census_date::TIMESTAMP + INTERVAL 1 DAY AS at, sp.admitted_at FROM occ o JOIN spells sp ON sp.site = o.site AND sp.spell_id = o.spell_id
)
SELECT o.census_date, o.site, o.ward, wl.ward_type, o.spell_id, ${los}::INTEGER AS los_days,
  lv.spell_id IS NOT NULL AS on_leave, cr.reason_code AS crfd_reason, o.out_of_area AS oap,
  ${los} >= ${t.strandedDays} AS stranded, ${los} >= ${t.superStrandedDays} AS super_stranded, ${los} >= wl.long_stay_days AS long_stay
FROM occ2 o JOIN ward_list wl ON wl.site = o.site AND wl.ward = o.ward
LEFT JOIN leave_days lv ON lv.census_date = o.census_date AND lv.site = o.site AND lv.spell_id = o.spell_id
LEFT JOIN crfd_days cr ON cr.census_date = o.census_date AND cr.site = o.site AND cr.spell_id = o.spell_id`;
  const census = `CREATE OR REPLACE VIEW old_daily_ward_census AS
WITH days AS (SELECT DISTINCT census_date FROM old_census_patient_days),
ward_list AS (
  SELECT site, ward, ward_type, beds FROM wards
  UNION ALL
  SELECT DISTINCT s.site, s.ward, 'unknown', 0 FROM ward_stays s WHERE NOT EXISTS (SELECT 1 FROM wards w WHERE w.site = s.site AND w.ward = s.ward)
), all_days AS (
  SELECT unnest(generate_series(min(census_date)::TIMESTAMP, max(census_date)::TIMESTAMP, INTERVAL 1 DAY))::DATE AS census_date FROM days HAVING count(*) > 0
), agg AS (
  SELECT census_date, site, ward, count(*) AS occ, count(*) FILTER (WHERE NOT on_leave) AS present, count(*) FILTER (WHERE stranded) AS stranded,
    count(*) FILTER (WHERE super_stranded) AS super_stranded, count(*) FILTER (WHERE long_stay) AS long_stay,
    count(*) FILTER (WHERE crfd_reason IS NOT NULL) AS crfd, count(*) FILTER (WHERE oap) AS oap
  FROM old_census_patient_days GROUP BY ALL
)
SELECT wl.site, wl.ward, wl.ward_type, d.census_date, wl.beds::INTEGER AS beds,
  coalesce(a.occ, 0)::INTEGER AS occupied_incl_leave, coalesce(a.present, 0)::INTEGER AS occupied_excl_leave,
  coalesce(a.stranded, 0)::INTEGER AS stranded, coalesce(a.super_stranded, 0)::INTEGER AS super_stranded,
  coalesce(a.long_stay, 0)::INTEGER AS long_stay, coalesce(a.crfd, 0)::INTEGER AS crfd, coalesce(a.oap, 0)::INTEGER AS oap
FROM all_days d CROSS JOIN ward_list wl
LEFT JOIN agg a ON a.census_date = d.census_date AND a.site = wl.site AND a.ward = wl.ward`;
  return [patientDays, census];
}

/** Rows in one relation and not the other (both ways, with duplicates), and the counts. */
async function difference(w: Warehouse, a: string, b: string): Promise<Record<string, number>> {
  const [r] = await w.rows(`SELECT (SELECT count(*) FROM ${a})::INTEGER AS a, (SELECT count(*) FROM ${b})::INTEGER AS b,
    (SELECT count(*) FROM (SELECT * FROM ${a} EXCEPT ALL SELECT * FROM ${b}))::INTEGER AS only_a,
    (SELECT count(*) FROM (SELECT * FROM ${b} EXCEPT ALL SELECT * FROM ${a}))::INTEGER AS only_b`);
  return r as Record<string, number>;
}

describe('census_patient_days, stored and kept batch by batch, equals the view it replaces', () => {
  const sim = createSimulation({ seed: 11, start: START, historyDays: DAYS, burnInDays: 120 });
  const wards = wardsOf(sim.trust);
  const catalogue = loadCatalogue(join(root, 'config', 'measures.json'));
  const population = loadPopulation(join(root, 'config', 'population.csv'));
  const ctx: RowContext = {
    thresholds: DEFAULT_THRESHOLDS, wardType: (_site, ward) => wards.find((x) => x.code === ward)?.type ?? 'unknown',
    pseudo: new Pseudonymiser('c'.repeat(40)), areas: LocalAreas.fromFile(join(root, 'config', 'local-areas.csv'), 'locality'),
  };
  const dir = mkdtempSync(join(tmpdir(), 'pfm-census-'));
  const file = join(dir, 'w.duckdb');
  let w: Warehouse;
  let batches = 0;

  beforeAll(async () => {
    // The log: every event once in event-time order, then perturbed as delivery is: 2% late
    // (delivered up to 5 days after they happened), 1% twice.
    const rng = new Rng(5);
    const log: { e: FlowEvent; at: number }[] = [];
    for (const input of sim.history(DAYS)) {
      const e = flowEventSchema.parse({ ...input, recordedAt: input.recordedAt ?? input.occurredAt, channel: input.channel ?? 'simulator' }) as FlowEvent;
      const late = rng.next() < 0.02 ? rng.next() * 5 * 86_400_000 : 0;
      log.push({ e: { ...e, recordedAt: e.occurredAt + late }, at: e.occurredAt + late });
      if (rng.next() < 0.01) log.push({ e: { ...e, recordedAt: e.occurredAt + late + 3_600_000 }, at: e.occurredAt + late + 3_600_000 });
    }
    log.sort((a, b) => a.at - b.at);
    // Three partitions by patient; batches of 1 to 2,000 events (most small) taken from them in turn.
    const parts: FlowEvent[][] = [[], [], []];
    for (const { e } of log) parts[(e.patientId.charCodeAt(e.patientId.length - 1) + e.patientId.length) % 3]!.push(e);
    w = await Warehouse.open(file, { thresholds: DEFAULT_THRESHOLDS, wards });
    const states = new Map<string, PatientState>();
    const pos = [0, 0, 0];
    while (pos.some((p, i) => p < parts[i]!.length)) {
      for (let i = 0; i < 3; i++) {
        const size = 1 + Math.floor(rng.next() ** 2 * 2000);
        const batch = parts[i]!.slice(pos[i], pos[i]! + size);
        pos[i]! += batch.length;
        if (!batch.length) continue;
        const byRecord = new Map<string, FlowEvent[]>();
        for (const e of batch) byRecord.set(e.patientId, [...(byRecord.get(e.patientId) ?? []), e]);
        const records: RecordWrite[] = [];
        for (const [id, events] of byRecord) {
          const known = states.get(id);
          const state = evolveAll(known ?? emptyPatient(events[0]!.site, id), events);
          states.set(id, state);
          records.push({ recordKey: ctx.pseudo.recordKey(events[0]!.site, id), state, stored: known !== undefined, rows: patientRows(state, ctx) });
        }
        await w.commit({ records, alerts: [], offsets: [{ topic: 't', partition: i, next: String(pos[i]) }], watermark: Math.max(...batch.map((e) => e.occurredAt)) });
        batches += 1;
      }
    }
    for (const v of oldViews(DEFAULT_THRESHOLDS)) await w.run(v);
  }, 600_000);
  afterAll(() => {
    w?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the table and daily_ward_census equal the old views, row for row', async () => {
    expect(batches).toBeGreaterThan(30);
    const days = await difference(w, 'census_patient_days', 'old_census_patient_days');
    expect(days).toEqual({ a: days.b, b: days.a, only_a: 0, only_b: 0 });
    expect(days.a).toBeGreaterThan(20_000);
    const census = await difference(w, 'daily_ward_census', 'old_daily_ward_census');
    expect(census).toEqual({ a: census.b, b: census.a, only_a: 0, only_b: 0 });
    // The data exercise every flag the bed-day measures count.
    const [flags] = await w.rows('SELECT count(*) FILTER (WHERE on_leave)::INTEGER AS leave, count(crfd_reason)::INTEGER AS crfd, count(*) FILTER (WHERE oap)::INTEGER AS oap, count(*) FILTER (WHERE long_stay)::INTEGER AS long_stay, count(*) FILTER (WHERE super_stranded)::INTEGER AS super_stranded FROM census_patient_days');
    for (const [k, v] of Object.entries(flags!)) expect({ k, some: Number(v) > 0 }).toEqual({ k, some: true });
  });

  it('every measure by week and month, whole trust and by every segment it offers, gives the same numbers as over the old views', async () => {
    const old = { census_patient_days: 'old_census_patient_days', daily_ward_census: 'old_daily_ward_census' };
    let compared = 0;
    for (const m of catalogue.measures.filter((x) => IMPLEMENTED.includes(x.id))) {
      for (const period of ['week', 'month'] as const) {
        for (const by of [...(m.id.endsWith('_per_100k') ? [] : [undefined]), ...m.by] as (Segment | undefined)[]) {
          const q = { measure: m.id, period, by };
          const now = await measureSeries(w, catalogue, q, population);
          const before = await measureSeries(w, catalogue, q, population, old);
          expect({ q, points: now.points }).toEqual({ q, points: before.points });
          compared += now.points.length;
        }
      }
    }
    expect(compared).toBeGreaterThan(5_000);
  });

  it('reopened with other thresholds or ward types, the bed days are recomputed for them', async () => {
    w.close();
    const t: Thresholds = { ...DEFAULT_THRESHOLDS, strandedDays: 5, superStrandedDays: 14, losConvention: DEFAULT_THRESHOLDS.losConvention === 'inclusive' ? 'elapsed' : 'inclusive' };
    const retyped = wards.map((x, i) => (i === 0 ? { ...x, type: x.type === 'adult_acute' ? 'older_adult_acute' as const : 'adult_acute' as const } : x));
    w = await Warehouse.open(file, { thresholds: t, wards: retyped.slice(1) });
    for (const v of oldViews(t)) await w.run(v);
    const days = await difference(w, 'census_patient_days', 'old_census_patient_days');
    expect(days).toEqual({ a: days.b, b: days.a, only_a: 0, only_b: 0 });
    const [unknown] = await w.rows("SELECT count(*)::INTEGER AS n FROM census_patient_days WHERE ward_type = 'unknown'");
    expect(Number(unknown!.n)).toBeGreaterThan(0);
    w.close();
    w = await Warehouse.open(file, { thresholds: DEFAULT_THRESHOLDS, wards: retyped });
    for (const v of oldViews(DEFAULT_THRESHOLDS)) await w.run(v);
    const again = await difference(w, 'census_patient_days', 'old_census_patient_days');
    expect(again).toEqual({ a: again.b, b: again.a, only_a: 0, only_b: 0 });
    const [first] = await w.rows('SELECT DISTINCT ward_type FROM census_patient_days WHERE ward = ?', [retyped[0]!.code]);
    expect(first?.ward_type).toBe(retyped[0]!.type);
  });
});

describe('a warehouse file of another layout', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pfm-schema-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function fileWith(name: string, statements: string[]): Promise<string> {
    const path = join(dir, name);
    const inst = await DuckDBInstance.create(path);
    const conn = await inst.connect();
    for (const s of statements) await conn.run(s);
    conn.closeSync();
    inst.closeSync();
    return path;
  }

  it('an older one (bed days a view, no schema version) is refused, naming the rebuild command; the file is left as it was', async () => {
    const path = await fileWith('old.duckdb', [
      'CREATE TABLE spells (site VARCHAR, spell_id VARCHAR)', 'CREATE TABLE _meta (k VARCHAR PRIMARY KEY, v BIGINT)', "INSERT INTO _meta VALUES ('watermark', 1)",
      'CREATE VIEW census_patient_days AS SELECT * FROM spells',
    ]);
    const err = await Warehouse.open(path, { thresholds: DEFAULT_THRESHOLDS }).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(WarehouseSchemaError);
    expect((err as Error).message).toBe(`the insights warehouse ${path} was written by an older version of the insights service (warehouse schema 1; this version reads schema ${SCHEMA_VERSION}, which stores the bed days with each batch), so its bed-day measures would be wrong. Stop the insights service and rebuild the warehouse from the log: ./pfm insights rebuild --yes`);
    // Refused before anything was written, and the file is free again.
    const inst = await DuckDBInstance.create(path);
    const conn = await inst.connect();
    const kinds = (await conn.runAndReadAll("SELECT table_name, table_type FROM information_schema.tables ORDER BY 1")).getRowObjectsJS();
    conn.closeSync();
    inst.closeSync();
    expect(kinds).toEqual([{ table_name: '_meta', table_type: 'BASE TABLE' }, { table_name: 'census_patient_days', table_type: 'VIEW' }, { table_name: 'spells', table_type: 'BASE TABLE' }]);
  });

  it('a newer one is refused too; a new file gets this version and opens again', async () => {
    const path = await fileWith('new.duckdb', ['CREATE TABLE spells (site VARCHAR)', 'CREATE TABLE _meta (k VARCHAR PRIMARY KEY, v BIGINT)', `INSERT INTO _meta VALUES ('schema_version', ${SCHEMA_VERSION + 1})`]);
    await expect(Warehouse.open(path, { thresholds: DEFAULT_THRESHOLDS })).rejects.toThrow(`was written by a newer version of the insights service (warehouse schema ${SCHEMA_VERSION + 1}; this version reads schema ${SCHEMA_VERSION})`);
    const fresh = join(dir, 'fresh.duckdb');
    (await Warehouse.open(fresh, { thresholds: DEFAULT_THRESHOLDS })).close();
    const w = await Warehouse.open(fresh, { thresholds: DEFAULT_THRESHOLDS });
    try {
      expect(await w.rows("SELECT v::INTEGER AS v FROM _meta WHERE k = 'schema_version'")).toEqual([{ v: SCHEMA_VERSION }]);
    } finally {
      w.close();
    }
  });
});
