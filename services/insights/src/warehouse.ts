// The embedded DuckDB warehouse: one file, one writer (this service). Every batch is one
// transaction holding the patients' rewritten rows, their folded state and the consumed
// offsets, so a crash anywhere leaves either all of a batch or none of it, and the
// consumer resumes from exactly the offsets the rows reflect.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { dateValue, DuckDBInstance, timestampValue, type DuckDBAppender, type DuckDBConnection, type DuckDBValue } from '@duckdb/node-api';
import type { Ward } from '@pfm/contracts';
import type { WardType } from '@pfm/contracts';
import { losRulesFor, type PatientState, type Thresholds } from '@pfm/flow-domain';

/** The first long-stay tier of a ward type (null when the type has none). */
const longStayDaysFor = (t: Thresholds, type: string): number | null => losRulesFor(t, type as WardType).longStayDays[0] ?? null;
import type { Cell, PatientRows, Row } from './rows';
import { ddl, TABLES, tableNamed, type ColumnType, type Table } from './schema';

/** What a query over the warehouse needs (the Warehouse itself, or a reader connection). */
export interface WarehouseReads {
  rows(sql: string, params?: DuckDBValue[]): Promise<Record<string, unknown>[]>;
  /** A statement with no rows back (COPY, temp tables of an export). */
  run(sql: string, params?: DuckDBValue[]): Promise<void>;
  watermark(): Promise<number | undefined>;
}

function readsOn(conn: DuckDBConnection): WarehouseReads {
  const rows = async (sql: string, params: DuckDBValue[] = []) => (await conn.runAndReadAll(sql, params)).getRowObjectsJS() as Record<string, unknown>[];
  return {
    rows,
    async run(sql, params = []) { await conn.run(sql, params); },
    async watermark() {
      const v = (await rows("SELECT v FROM _meta WHERE k = 'watermark'"))[0]?.v;
      return v === undefined || v === null ? undefined : Number(v);
    },
  };
}

export const PATIENT_TABLES = ['spells', 'ward_stays', 'leave_periods', 'crfd_periods', 'referrals'] as const;

export interface RecordWrite {
  recordKey: string; state: PatientState; rows: PatientRows;
  /** False when the warehouse holds nothing of this record yet (its first batch): no old rows to delete. */
  stored?: boolean;
}
export interface OffsetWrite { topic: string; partition: number; next: string }
export interface BatchWrite { records: RecordWrite[]; alerts: Row[]; offsets: OffsetWrite[]; watermark?: number; /** improvement_notes rows (replaced by note_id). */ notes?: Row[] }

export class Warehouse {
  private constructor(private readonly instance: DuckDBInstance, readonly conn: DuckDBConnection, readonly path: string) {}

  /** Opens (creating when missing) the warehouse file; refuses when another process holds it. */
  static async open(path: string, opts: { wards?: Ward[]; thresholds: Thresholds }): Promise<Warehouse> {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    let instance: DuckDBInstance;
    try {
      instance = await DuckDBInstance.create(path);
    } catch (e) {
      throw new Error(`cannot open the insights warehouse ${path}: ${(e as Error).message.split('\n')[0]}`, { cause: e });
    }
    const conn = await instance.connect();
    const w = new Warehouse(instance, conn, path);
    for (const s of ddl()) await conn.run(s);
    await w.writeWards(opts.wards ?? [], opts.thresholds);
    for (const v of censusViewSql(opts.thresholds)) await conn.run(v);
    return w;
  }

  private async writeWards(wards: Ward[], t: Thresholds): Promise<void> {
    await this.conn.run('BEGIN TRANSACTION');
    await this.conn.run('DELETE FROM wards');
    await this.insert(tableNamed('wards'), wards.map((w) => ({ site: w.site, ward: w.code, name: w.name, ward_type: w.type, beds: w.beds, long_stay_days: longStayDaysFor(t, w.type) })));
    await this.conn.run('COMMIT');
  }

  /** Next offset to consume per "topic:partition", as recorded with the rows. */
  async offsets(): Promise<Map<string, string>> {
    const r = await this.conn.runAndReadAll('SELECT topic, part, next_offset FROM _offsets');
    return new Map(r.getRowObjectsJS().map((o) => [`${String(o.topic)}:${Number(o.part)}`, String(o.next_offset)]));
  }

  /** The keys of every record held (its folded state in _patients). */
  async recordKeys(): Promise<Set<string>> {
    const r = await this.conn.runAndReadAll('SELECT record_key FROM _patients');
    return new Set(r.getColumnsJS()[0]?.map(String) ?? []);
  }

  async loadStates(recordKeys: string[]): Promise<Map<string, PatientState>> {
    const out = new Map<string, PatientState>();
    if (!recordKeys.length) return out;
    await this.stageKeys(recordKeys);
    const r = await this.conn.runAndReadAll('SELECT record_key, state FROM _patients WHERE record_key IN (SELECT k FROM _batch_keys)');
    for (const o of r.getRowObjectsJS()) out.set(String(o.record_key), JSON.parse(String(o.state)) as PatientState);
    return out;
  }

  /**
   * One transaction: the records' rows replaced, their state, the alerts, the offsets.
   * A handful of statements whatever the batch's size: the keys whose old rows go are
   * appended to a temporary table and each table loses them in one semi-join (a
   * statement with thousands of IN parameters took most of a batch's time), and records
   * the warehouse has never held (`stored: false`) need no delete at all.
   */
  async commit(b: BatchWrite): Promise<void> {
    const c = this.conn;
    await c.run('BEGIN TRANSACTION');
    try {
      const replaced = b.records.filter((r) => r.stored !== false).map((r) => r.recordKey);
      if (replaced.length) {
        await this.stageKeys(replaced);
        for (const name of [...PATIENT_TABLES, '_patients']) await c.run(`DELETE FROM ${name} WHERE record_key IN (SELECT k FROM _batch_keys)`);
      }
      for (const name of PATIENT_TABLES) await this.insert(tableNamed(name), b.records.flatMap((r) => r.rows[name]));
      await this.insertRaw('_patients', ['record_key', 'state'], b.records.map((r) => [r.recordKey, JSON.stringify(r.state)]));
      if (b.alerts.length) {
        await this.stageKeys(b.alerts.map((a) => String(a.alert_id)));
        await c.run('DELETE FROM alerts WHERE alert_id IN (SELECT k FROM _batch_keys)');
        await this.insert(tableNamed('alerts'), b.alerts);
      }
      if (b.notes?.length) {
        // Keyed by site and id: a note id used again at another site never touches this one.
        for (const n of b.notes) await c.run('DELETE FROM improvement_notes WHERE site = ? AND note_id = ?', [String(n.site), String(n.note_id)]);
        await this.insert(tableNamed('improvement_notes'), b.notes);
      }
      for (const o of b.offsets) await c.run('INSERT OR REPLACE INTO _offsets VALUES (?, ?, ?::BIGINT)', [o.topic, o.partition, o.next]);
      if (b.watermark !== undefined) {
        await c.run("INSERT INTO _meta VALUES ('watermark', ?::BIGINT) ON CONFLICT (k) DO UPDATE SET v = greatest(v, excluded.v)", [b.watermark]);
      }
      await c.run('COMMIT');
    } catch (e) {
      await c.run('ROLLBACK').catch(() => undefined);
      throw e;
    }
  }

  /** The batch's keys in a temporary table of the writer's connection (inside its transaction). */
  private async stageKeys(keys: string[]): Promise<void> {
    await this.conn.run('CREATE TEMP TABLE IF NOT EXISTS _batch_keys (k VARCHAR)');
    await this.conn.run('DELETE FROM _batch_keys');
    await this.append('_batch_keys', ['VARCHAR'], keys.map((k) => [k]));
  }

  /**
   * Rows go in through DuckDB's appender (column-at-a-time, no SQL to plan). It writes in
   * the connection's open transaction, so a ROLLBACK takes the appended rows back too
   * (warehouse.int.test.ts checks it).
   */
  private async insert(t: Table, rows: Row[]): Promise<void> {
    if (!rows.length) return;
    await this.append(t.name, t.columns.map((c) => c.type), rows.map((r) => t.columns.map((c) => r[c.name] ?? null)));
  }

  private async insertRaw(table: string, cols: string[], rows: Cell[][]): Promise<void> {
    if (!rows.length) return;
    await this.append(table, cols.map(() => 'VARCHAR'), rows);
  }

  private async append(table: string, types: ColumnType[], rows: Cell[][]): Promise<void> {
    const app = await this.conn.createAppender(table);
    try {
      for (const r of rows) {
        types.forEach((type, i) => appendCell(app, type, r[i] ?? null, table));
        app.endRow();
      }
      app.flushSync();
    } finally {
      app.closeSync();
    }
  }

  async watermark(): Promise<number | undefined> { return readsOn(this.conn).watermark(); }

  /** Rows of a query as plain JS values (timestamps as Date, BIGINT as bigint). */
  async rows(sql: string, params: DuckDBValue[] = []): Promise<Record<string, unknown>[]> { return readsOn(this.conn).rows(sql, params); }

  async run(sql: string, params: DuckDBValue[] = []): Promise<void> { await this.conn.run(sql, params); }

  /**
   * Runs `work` on a connection of its own on this same instance (the file is opened once,
   * by this process). DuckDB gives that connection a snapshot of committed data: readers
   * (the API) never see a batch in flight on the writer's connection, never join its
   * transaction, and run side by side with it. The connection is closed afterwards.
   */
  async read<T>(work: (r: WarehouseReads) => Promise<T>): Promise<T> {
    const conn = await this.instance.connect();
    try {
      return await work(readsOn(conn));
    } finally {
      conn.closeSync();
    }
  }

  close(): void {
    this.conn.closeSync();
    this.instance.closeSync();
  }
}

function appendCell(app: DuckDBAppender, type: ColumnType, v: Cell, table: string): void {
  if (v === null) { app.appendNull(); return; }
  const bad = () => new TypeError(`${table}: ${typeof v} ${String(v)} is not a ${type}`);
  switch (type) {
    case 'VARCHAR': app.appendVarchar(String(v)); return;
    case 'BOOLEAN': if (typeof v !== 'boolean') throw bad(); app.appendBoolean(v); return;
    case 'INTEGER': if (typeof v !== 'number' || !Number.isInteger(v)) throw bad(); app.appendInteger(v); return;
    case 'DOUBLE': if (typeof v !== 'number') throw bad(); app.appendDouble(v); return;
    case 'TIMESTAMP': if (typeof v !== 'number' || !Number.isFinite(v)) throw bad(); app.appendTimestamp(timestampValue(BigInt(Math.round(v)) * 1000n)); return;
    case 'DATE': if (typeof v !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(v)) throw bad(); app.appendDate(dateValue(Date.parse(`${v}T00:00:00Z`) / 86_400_000)); return;
  }
}

/** The analysts' tables (no internal ones), in dictionary order. */
export const ANALYST_TABLES = TABLES.map((t) => t.name);

/**
 * census_patient_days: one row per spell on a ward at the midnight ending each complete
 * day up to the warehouse's latest event time (a bed day), with its flags at that
 * instant. daily_ward_census aggregates it by ward. Views over the stored tables, so
 * they cannot drift from them.
 */
export function censusViewSql(t: Thresholds): string[] {
  const los = `(floor((epoch_ms(o.at) - epoch_ms(o.admitted_at)) / 86400000)${t.losConvention === 'inclusive' ? ' + 1' : ''})`;
  // Each interval [s, e) expands to the days whose census instant (the midnight ending the
  // day) falls inside it, capped at the last complete day: linear in the bed days, no range join.
  const expand = (s: string, e: string) => `unnest(generate_series(
      (CASE WHEN ${s} = date_trunc('day', ${s}) THEN ${s}::DATE - 1 ELSE ${s}::DATE END)::TIMESTAMP,
      least(CASE WHEN ${e} IS NULL THEN (SELECT d1 FROM bounds) WHEN ${e} = date_trunc('day', ${e}) THEN ${e}::DATE - 2 ELSE ${e}::DATE - 1 END, (SELECT d1 FROM bounds))::TIMESTAMP,
      INTERVAL 1 DAY))::DATE`;
  const patientDays = `CREATE OR REPLACE VIEW census_patient_days AS
WITH bounds AS (
  SELECT (SELECT epoch_ms(v) FROM _meta WHERE k = 'watermark')::DATE - 1 AS d1
), ward_list AS (
  SELECT site, ward, ward_type, long_stay_days FROM wards
  UNION ALL
  SELECT DISTINCT s.site, s.ward, 'unknown', ${longStayDaysFor(t, 'unknown') ?? 'NULL'}::INTEGER FROM ward_stays s
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
  const census = `CREATE OR REPLACE VIEW daily_ward_census AS
WITH days AS (SELECT DISTINCT census_date FROM census_patient_days),
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
  FROM census_patient_days GROUP BY ALL
)
SELECT wl.site, wl.ward, wl.ward_type, d.census_date, wl.beds::INTEGER AS beds,
  coalesce(a.occ, 0)::INTEGER AS occupied_incl_leave, coalesce(a.present, 0)::INTEGER AS occupied_excl_leave,
  coalesce(a.stranded, 0)::INTEGER AS stranded, coalesce(a.super_stranded, 0)::INTEGER AS super_stranded,
  coalesce(a.long_stay, 0)::INTEGER AS long_stay, coalesce(a.crfd, 0)::INTEGER AS crfd, coalesce(a.oap, 0)::INTEGER AS oap
FROM all_days d CROSS JOIN ward_list wl
LEFT JOIN agg a ON a.census_date = d.census_date AND a.site = wl.site AND a.ward = wl.ward`;
  return [patientDays, census];
}
