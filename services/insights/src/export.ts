// Export for analysts' own tools: every table (and the measure series) as Parquet or
// CSV, with the data dictionary beside them (columns marked notExported stay behind). Readable by DuckDB, R (arrow) and pandas
// as they are. Only the dictionary's columns leave the warehouse (no internal tables).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { IMPLEMENTED, measureSeries, type Catalogue, type PopulationRow } from './measures';
import { dictionaryJson, dictionaryMarkdown, TABLES, type Table } from './schema';
import type { WarehouseReads } from './warehouse';

export type ExportFormat = 'parquet' | 'csv';
export interface ExportOptions {
  format: ExportFormat; out: string; from?: number; to?: number; measures?: { catalogue: Catalogue; population: PopulationRow[] };
  /** Only these sites' rows (a reader's scope); every table is cut by its site column. */
  sites?: readonly string[];
}
export interface ExportResult { files: { file: string; rows: number }[] }

/** Rows of a table that overlap [from, to): by period for spans, by instant or day for the rest. */
function rangeWhere(t: Table, from?: number, to?: number): string {
  const span: Record<string, [string, string | null]> = {
    spells: ['admitted_at', 'discharged_at'], ward_stays: ['started_at', 'ended_at'], leave_periods: ['started_at', 'ended_at'],
    crfd_periods: ['started_at', 'ended_at'], referrals: ['received_at', null], alerts: ['raised_at', null],
    census_patient_days: ['census_date', null], daily_ward_census: ['census_date', null], improvement_notes: ['effective_date', null],
  };
  const s = span[t.name];
  if (!s || (from === undefined && to === undefined)) return '';
  const [start, end] = s;
  // COPY takes no parameters: the bounds are integers checked here, never text.
  const ms = (v: number) => { if (!Number.isSafeInteger(v)) throw new Error(`not a time in ms: ${v}`); return `epoch_ms(${v}::BIGINT)`; };
  const cond: string[] = [];
  if (to !== undefined) cond.push(`${start} < ${ms(to)}`);
  if (from !== undefined) cond.push(end ? `(${end} IS NULL OR ${end} >= ${ms(from)})` : `${start} >= ${ms(from)}`);
  return ` WHERE ${cond.join(' AND ')}`;
}

const SITE_CODE = /^[A-Za-z0-9_-]{1,16}$/;
/** Rows of the given sites only; a table without a site column cannot be cut, so it is refused. */
function siteWhere(t: Table, sites?: readonly string[]): string {
  if (!sites) return '';
  if (!t.columns.some((c) => c.name === 'site')) throw new Error(`${t.name} has no site column: it cannot be cut to a reader's sites`);
  // COPY takes no parameters: site codes are checked against their pattern, then quoted.
  for (const s of sites) if (!SITE_CODE.test(s)) throw new Error(`not a site code: ${JSON.stringify(s)}`);
  return sites.length ? ` WHERE site IN (${sites.map((s) => `'${s}'`).join(', ')})` : ' WHERE false';
}
const andWhere = (a: string, b: string): string => (a && b ? `${a} AND ${b.replace(' WHERE ', '')}` : a || b);

const quote = (path: string): string => `'${path.replace(/'/g, "''")}'`;
const copyOptions = (f: ExportFormat): string => (f === 'parquet' ? '(FORMAT parquet, COMPRESSION zstd)' : '(FORMAT csv, HEADER true)');

export async function exportWarehouse(w: WarehouseReads, o: ExportOptions): Promise<ExportResult> {
  const out = resolve(o.out);
  mkdirSync(out, { recursive: true });
  const files: ExportResult['files'] = [];
  for (const t of TABLES) {
    const select = `SELECT ${t.columns.filter((c) => !c.notExported).map((c) => c.name).join(', ')} FROM ${t.name}${andWhere(rangeWhere(t, o.from, o.to), siteWhere(t, o.sites))} ORDER BY ${t.key.join(', ')}`;
    const file = join(out, `${t.name}.${o.format}`);
    const [row] = await w.rows(`SELECT count(*)::INTEGER AS n FROM (${select})`);
    await w.run(`COPY (${select}) TO ${quote(file)} ${copyOptions(o.format)}`);
    files.push({ file, rows: Number(row!.n) });
  }
  if (o.measures) {
    // daily_ward_census is a view: read it once, not once per measure and cut.
    await w.run('CREATE OR REPLACE TEMP TABLE _export_dwc AS SELECT * FROM daily_ward_census');
    const sources = { daily_ward_census: '_export_dwc' };
    const rows: (string | number | null)[][] = [];
    for (const m of o.measures.catalogue.measures.filter((x) => IMPLEMENTED.includes(x.id))) {
      for (const period of ['week', 'month'] as const) {
        const cuts = [...(m.id.endsWith('_per_100k') ? [] : [undefined]), ...m.by];
        for (const by of cuts) {
          const s = await measureSeries(w, o.measures.catalogue, { measure: m.id, period, by, from: o.from, to: o.to, sites: o.sites }, o.measures.population, sources);
          for (const p of s.points) rows.push([m.id, period, by ?? null, p.segment, p.periodStart, p.numerator, p.denominator, p.value, p.complete ? 1 : 0]);
        }
      }
    }
    await w.run('CREATE OR REPLACE TEMP TABLE measure_series (measure VARCHAR, period VARCHAR, cut VARCHAR, segment VARCHAR, period_start DATE, numerator DOUBLE, denominator DOUBLE, value DOUBLE, complete BOOLEAN)');
    for (let i = 0; i < rows.length; i += 400) {
      const chunk = rows.slice(i, i + 400);
      await w.run(`INSERT INTO measure_series VALUES ${chunk.map(() => '(?, ?, ?, ?, ?::DATE, ?, ?, ?, ?::BOOLEAN)').join(',')}`, chunk.flat());
    }
    const file = join(out, `measure_series.${o.format}`);
    await w.run(`COPY (SELECT * FROM measure_series ORDER BY measure, period, cut NULLS FIRST, segment NULLS FIRST, period_start) TO ${quote(file)} ${copyOptions(o.format)}`);
    for (const tmp of ['measure_series', '_export_dwc']) await w.run(`DROP TABLE ${tmp}`);
    files.push({ file, rows: rows.length });
  }
  writeFileSync(join(out, 'data-dictionary.md'), `${dictionaryMarkdown()}\n## \`measure_series\`\n\nOne row per measure, period (week / month), cut (\`cut\`: the segment dimension, null for the whole trust) and segment: period_start, numerator, denominator, value, complete (the period has ended in the log). Definitions: \`measures.json\`.\n`);
  writeFileSync(join(out, 'data-dictionary.json'), dictionaryJson());
  if (o.measures) writeFileSync(join(out, 'measures.json'), `${JSON.stringify(o.measures.catalogue, null, 2)}\n`);
  return { files };
}
