/** @pfm-stack none */
// Export round trip: every table written as Parquet and read back with DuckDB equals
// the warehouse, row for row (but for columns never exported: an improvement note's
// author); CSV has the same row counts; the dictionary sits beside.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { syntheticEvents } from '@pfm/testkit';
import { DEFAULT_THRESHOLDS, emptyPatient, evolve, type PatientState } from '@pfm/flow-domain';
import { exportWarehouse } from './export';
import { noteEvent, noteRow } from './improvements';
import { loadCatalogue, parsePopulation } from './measures';
import { LocalAreas, Pseudonymiser } from './pseudonym';
import { patientRows, type RowContext } from './rows';
import { TABLES } from './schema';
import { Warehouse } from './warehouse';

const root = join(__dirname, '..', '..', '..');
const ctx: RowContext = { thresholds: DEFAULT_THRESHOLDS, wardType: () => 'adult_acute', pseudo: new Pseudonymiser('e'.repeat(40)), areas: new LocalAreas([], 'area') };

describe('export', () => {
  let dir: string;
  let w: Warehouse;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pfm-export-'));
    w = await Warehouse.open(join(dir, 'w.duckdb'), { thresholds: DEFAULT_THRESHOLDS, wards: [{ site: 'RXT', code: 'OAK', name: 'Oak', type: 'adult_acute', beds: 20 }] });
    const events = syntheticEvents({ total: 3000, seed: 5 });
    const states = new Map<string, PatientState>();
    for (const e of events) states.set(e.patientId, evolve(states.get(e.patientId) ?? emptyPatient(e.site, e.patientId), e).state);
    await w.commit({
      records: [...states.values()].map((s) => ({ recordKey: ctx.pseudo.recordKey(s.site, s.patientId), state: s, rows: patientRows(s, ctx) })),
      alerts: [{ alert_id: 'a1', rule: 'stranded', severity: 'info', threshold_value: 7, threshold_unit: 'days', site: 'RXT', ward: 'OAK', team: null, patient_key: null, spell_id: null, referral_id: null, became_true_at: 1, raised_at: 2, acknowledged_at: null, resolved_at: null }],
      offsets: [], watermark: Math.max(...events.map((e) => e.occurredAt)),
      notes: [noteRow(noteEvent({ title: 'Discharge coordinator', site: 'RXT', ward: 'OAK', effectiveDate: '2026-04-02', measures: ['crfd_bed_days'], expectedDirection: 'down' }, 'ops-1', Date.parse('2026-04-03T09:00:00Z')))],
    });
  });
  afterAll(() => { w.close(); rmSync(dir, { recursive: true, force: true }); });

  it('Parquet read back with DuckDB equals the warehouse, table by table', async () => {
    const out = join(dir, 'parquet');
    const catalogue = loadCatalogue(join(root, 'config', 'measures.json'));
    const population = parsePopulation(readFileSync(join(root, 'config', 'population.csv'), 'utf8'));
    const r = await exportWarehouse(w, { format: 'parquet', out, measures: { catalogue, population } });
    expect(r.files.map((f) => f.file.split('/').pop())).toEqual([...TABLES.map((t) => `${t.name}.parquet`), 'measure_series.parquet']);
    for (const t of TABLES) {
      const file = join(out, `${t.name}.parquet`);
      // Columns kept from exports (the note's author) are not in the file.
      const exported = t.columns.filter((c) => !c.notExported);
      const cols = exported.map((c) => c.name).join(', ');
      const [c] = await w.rows(`SELECT (SELECT count(*) FROM ${t.name})::INTEGER AS wh, (SELECT count(*) FROM read_parquet('${file}'))::INTEGER AS pq,
        (SELECT count(*) FROM (SELECT ${cols} FROM ${t.name} EXCEPT ALL SELECT ${cols} FROM read_parquet('${file}')))::INTEGER AS missing,
        (SELECT count(*) FROM (SELECT ${cols} FROM read_parquet('${file}') EXCEPT ALL SELECT ${cols} FROM ${t.name}))::INTEGER AS extra`);
      expect({ t: t.name, ...c }).toEqual({ t: t.name, wh: c!.pq, pq: c!.wh, missing: 0, extra: 0 });
      if (t.name !== 'referrals') expect({ t: t.name, some: Number(c!.wh) > 0 }).toEqual({ t: t.name, some: true });
      // Types survive: timestamps stay timestamps, counts stay integers.
      const types = await w.rows(`SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet('${file}'))`);
      expect(types.map((x) => [x.column_name, String(x.column_type).replace('TIMESTAMP WITH TIME ZONE', 'TIMESTAMP')])).toEqual(exported.map((col) => [col.name, col.type]));
    }
    const [m] = await w.rows(`SELECT count(*)::INTEGER AS n, count(DISTINCT measure)::INTEGER AS measures FROM read_parquet('${join(out, 'measure_series.parquet')}')`);
    expect(m).toEqual({ n: r.files.at(-1)!.rows, measures: catalogue.measures.length - 2 /* crisis response: no referrals in this log */ });
    expect(existsSync(join(out, 'data-dictionary.md')) && existsSync(join(out, 'data-dictionary.json'))).toBe(true);
  });

  it('CSV has a header and every row; --from/--to keeps what overlaps the range', async () => {
    const out = join(dir, 'csv');
    const all = await exportWarehouse(w, { format: 'csv', out });
    for (const f of all.files) {
      const [c] = await w.rows(`SELECT count(*)::INTEGER AS n FROM read_csv('${f.file}', header = true)`);
      expect({ f: f.file, n: c!.n }).toEqual({ f: f.file, n: f.rows });
    }
    const from = Date.parse('2026-04-01T00:00:00Z');
    const to = Date.parse('2026-05-01T00:00:00Z');
    const some = await exportWarehouse(w, { format: 'parquet', out: join(dir, 'range'), from, to });
    const [expected] = await w.rows(`SELECT count(*)::INTEGER AS n FROM spells WHERE admitted_at < epoch_ms(${to}) AND (discharged_at IS NULL OR discharged_at >= epoch_ms(${from}))`);
    expect(some.files.find((f) => f.file.endsWith('spells.parquet'))!.rows).toBe(expected!.n);
    expect(expected!.n).toBeLessThan(all.files.find((f) => f.file.endsWith('spells.csv'))!.rows);
  });
});
