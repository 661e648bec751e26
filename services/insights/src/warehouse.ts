// The embedded DuckDB warehouse: one file, one writer (this service). Every batch is one
// transaction holding the patients' rewritten rows, their folded state and the consumed
// offsets, so a crash anywhere leaves either all of a batch or none of it, and the
// consumer resumes from exactly the offsets the rows reflect.
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { dateValue, DuckDBInstance, timestampValue, type DuckDBAppender, type DuckDBConnection, type DuckDBValue } from '@duckdb/node-api';
import type { Ward } from '@pfm/contracts';
import type { WardType } from '@pfm/contracts';
import { losRulesFor, type PatientState, type Thresholds } from '@pfm/flow-domain';

/** The first long-stay tier of a ward type (null when the type has none). */
const longStayDaysFor = (t: Thresholds, type: string): number | null => losRulesFor(t, type as WardType).longStayDays[0] ?? null;
import type { Cell, PatientRows, Row } from './rows';
import { ddl, SCHEMA_VERSION, TABLES, tableNamed, type ColumnType, type Table } from './schema';

export { SCHEMA_VERSION };

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


/** The file was written by another version of the service: rebuild it rather than read it. */
export class WarehouseSchemaError extends Error {}

export interface RecordWrite {
  recordKey: string; state: PatientState; rows: PatientRows;
  /** False when the warehouse holds nothing of this record yet (its first batch): no old rows to delete. */
  stored?: boolean;
  /**
   * `state` as JSON, when the caller has it already. The consumer serialises states while
   * it builds the rows, before its turn on the writer connection, so that work runs while
   * DuckDB writes another partition's batch (about a tenth of a backfill's CPU).
   */
  stateJson?: string;
}
export interface OffsetWrite { topic: string; partition: number; next: string }
export interface BatchWrite { records: RecordWrite[]; alerts: Row[]; offsets: OffsetWrite[]; watermark?: number; /** improvement_notes rows (replaced by note_id). */ notes?: Row[] }

export class Warehouse {
  private constructor(private readonly instance: DuckDBInstance, readonly conn: DuckDBConnection, readonly path: string, private readonly thresholds: Thresholds) {}

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
    const w = new Warehouse(instance, conn, path, opts.thresholds);
    try {
      await w.checkSchema();
      for (const s of ddl()) await conn.run(s);
      await conn.run("INSERT INTO _meta VALUES ('schema_version', ?::BIGINT) ON CONFLICT (k) DO NOTHING", [SCHEMA_VERSION]);
      await w.writeWards(opts.wards ?? [], opts.thresholds);
      await conn.run(dailyWardCensusViewSql());
    } catch (e) {
      w.close();
      throw e;
    }
    return w;
  }

  /** Refuses a file another version of the service wrote (a new, empty file is this version's). */
  private async checkSchema(): Promise<void> {
    const names = new Set((await this.rows("SELECT table_name AS t FROM duckdb_tables() WHERE schema_name = 'main' AND table_name IN ('spells', '_meta')")).map((r) => String(r.t)));
    if (!names.has('spells')) return;
    const v = names.has('_meta') ? (await this.rows("SELECT v FROM _meta WHERE k = 'schema_version'"))[0]?.v : undefined;
    const version = v === undefined || v === null ? 1 : Number(v);
    if (version === SCHEMA_VERSION) return;
    if (version === 2) {
      // 2 -> 3: alerts gets its version column; the rows already held have none (any version replaces them).
      await this.conn.run('BEGIN TRANSACTION');
      try {
        await this.conn.run('ALTER TABLE alerts ADD COLUMN IF NOT EXISTS version INTEGER');
        await this.conn.run("UPDATE _meta SET v = 3 WHERE k = 'schema_version'");
        await this.conn.run('COMMIT');
      } catch (e) {
        await this.conn.run('ROLLBACK');
        throw e;
      }
      return;
    }
    const why = version < SCHEMA_VERSION
      ? `was written by an older version of the insights service (warehouse schema ${version}; this version reads schema ${SCHEMA_VERSION}, which stores the bed days with each batch), so its bed-day measures would be wrong`
      : `was written by a newer version of the insights service (warehouse schema ${version}; this version reads schema ${SCHEMA_VERSION})`;
    throw new WarehouseSchemaError(`the insights warehouse ${this.path} ${why}. Stop the insights service and rebuild the warehouse from the log: ./pfm insights rebuild --yes`);
  }

  /**
   * The ward registry, and the bed days recomputed from the stored rows when what they
   * depend on besides the rows (ward types, long-stay thresholds, the LOS convention and
   * stranded thresholds) differs from the last open: one transaction.
   */
  private async writeWards(wards: Ward[], t: Thresholds): Promise<void> {
    await this.conn.run('BEGIN TRANSACTION');
    try {
      await this.conn.run('DELETE FROM wards');
      const rows = wards.map((w) => ({ site: w.site, ward: w.code, name: w.name, ward_type: w.type, beds: w.beds, long_stay_days: longStayDaysFor(t, w.type) }));
      await this.insert(tableNamed('wards'), rows);
      const basis = censusBasis(t, rows.map((r) => [r.site, r.ward, r.ward_type, r.long_stay_days]));
      const stored = (await this.rows("SELECT v FROM _meta WHERE k = 'census_basis'"))[0]?.v;
      if (stored === undefined || Number(stored) !== basis) {
        await this.conn.run('DELETE FROM census_patient_days');
        await this.conn.run(`INSERT INTO census_patient_days ${censusPatientDaysSql(t)}`);
        await this.conn.run("INSERT OR REPLACE INTO _meta VALUES ('census_basis', ?::BIGINT)", [basis]);
      }
      await this.conn.run('COMMIT');
    } catch (e) {
      await this.conn.run('ROLLBACK').catch(() => undefined);
      throw e;
    }
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
   *
   * The bed days (census_patient_days) are kept in the same transaction: the spells the
   * batch touches (before and after) have theirs recomputed, and when the watermark
   * moves past a day, the spells still on a ward gain the days now complete. So the
   * table always equals its definition over the committed rows (censusPatientDaysSql).
   */
  async commit(b: BatchWrite): Promise<void> {
    const c = this.conn;
    await c.run('BEGIN TRANSACTION');
    try {
      const replaced = b.records.filter((r) => r.stored !== false).map((r) => r.recordKey);
      await c.run('CREATE TEMP TABLE IF NOT EXISTS _batch_spells (site VARCHAR, spell_id VARCHAR)');
      await c.run('DELETE FROM _batch_spells');
      if (replaced.length) {
        await this.stageKeys(replaced);
        // The spells whose rows go: their bed days are recomputed below.
        await c.run(`INSERT INTO _batch_spells ${SPELL_TABLES.map((t) => `SELECT site, spell_id FROM ${t} WHERE record_key IN (SELECT k FROM _batch_keys)`).join(' UNION ')}`);
        for (const name of [...PATIENT_TABLES, '_patients']) await c.run(`DELETE FROM ${name} WHERE record_key IN (SELECT k FROM _batch_keys)`);
      }
      const spells = new Map<string, Cell[]>();
      for (const r of b.records) for (const t of SPELL_TABLES) for (const row of r.rows[t]) spells.set(`${String(row.site)}\u0000${String(row.spell_id)}`, [row.site ?? null, row.spell_id ?? null]);
      await this.append('_batch_spells', ['VARCHAR', 'VARCHAR'], [...spells.values()]);
      for (const name of PATIENT_TABLES) await this.insert(tableNamed(name), b.records.flatMap((r) => r.rows[name]));
      await this.insertRaw('_patients', ['record_key', 'state'], b.records.map((r) => [r.recordKey, r.stateJson ?? JSON.stringify(r.state)]));
      if (b.alerts.length) {
        // A row is replaced only by the same or a newer version of its alert (a row of schema 2 has none: any replaces it).
        await this.stageKeys(b.alerts.map((a) => String(a.alert_id)));
        const stored = new Map((await this.rows('SELECT alert_id, version FROM alerts WHERE alert_id IN (SELECT k FROM _batch_keys)')).map((r) => [String(r.alert_id), r.version === null ? undefined : Number(r.version)]));
        const newer = b.alerts.filter((a) => { const v = stored.get(String(a.alert_id)); return v === undefined || Number(a.version) >= v; });
        await this.stageKeys(newer.map((a) => String(a.alert_id)));
        await c.run('DELETE FROM alerts WHERE alert_id IN (SELECT k FROM _batch_keys)');
        await this.insert(tableNamed('alerts'), newer);
      }
      if (b.notes?.length) {
        // Keyed by site and id: a note id used again at another site never touches this one.
        for (const n of b.notes) await c.run('DELETE FROM improvement_notes WHERE site = ? AND note_id = ?', [String(n.site), String(n.note_id)]);
        await this.insert(tableNamed('improvement_notes'), b.notes);
      }
      for (const o of b.offsets) await c.run('INSERT OR REPLACE INTO _offsets VALUES (?, ?, ?::BIGINT)', [o.topic, o.partition, o.next]);
      const before = await this.watermark();
      if (b.watermark !== undefined) {
        await c.run("INSERT INTO _meta VALUES ('watermark', ?::BIGINT) ON CONFLICT (k) DO UPDATE SET v = greatest(v, excluded.v)", [b.watermark]);
      }
      // Days newly complete for the spells the batch did not touch (on a ward at the old last day, or later).
      if (b.watermark !== undefined && (before === undefined || Math.floor(b.watermark / DAY) > Math.floor(before / DAY))) {
        await c.run(`INSERT INTO census_patient_days ${censusPatientDaysSql(this.thresholds, { after: before ?? null })}`);
      }
      // The touched spells' bed days, all of them, from their new rows.
      await c.run('DELETE FROM census_patient_days d USING _batch_spells b WHERE d.site = b.site AND d.spell_id = b.spell_id');
      if (spells.size || replaced.length) await c.run(`INSERT INTO census_patient_days ${censusPatientDaysSql(this.thresholds, { batch: true })}`);
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
    const names = t.columns.map((c) => c.name);
    const writers = t.columns.map((c) => CELL_WRITERS[c.type]);
    const app = await this.conn.createAppender(t.name);
    try {
      // Straight from the row objects: no array of cells per row, no closure per cell.
      for (const r of rows) {
        for (let i = 0; i < names.length; i++) writeCell(app, writers[i]!, r[names[i]!] ?? null, t.name);
        app.endRow();
      }
      app.flushSync();
    } finally {
      app.closeSync();
    }
  }

  private async insertRaw(table: string, cols: string[], rows: Cell[][]): Promise<void> {
    if (!rows.length) return;
    await this.append(table, cols.map(() => 'VARCHAR'), rows);
  }

  private async append(table: string, types: ColumnType[], rows: Cell[][]): Promise<void> {
    const writers = types.map((type) => CELL_WRITERS[type]);
    const app = await this.conn.createAppender(table);
    try {
      for (const r of rows) {
        for (let i = 0; i < writers.length; i++) writeCell(app, writers[i]!, r[i] ?? null, table);
        app.endRow();
      }
      app.flushSync();
    } finally {
      app.closeSync();
    }
  }

  /** The checkpoint threshold to restore when a catch-up ends (set while one runs). */
  private thresholdBeforeCatchUp: string | undefined;

  /**
   * Catching up (a rebuild, a backfill, a restart far behind the log): DuckDB checkpoints
   * (writes the write-ahead log into the file) at its threshold, 16 MiB by default, so in
   * large batches nearly every COMMIT waited for a checkpoint of the records' state and rows.
   * Until `endCatchUp` the threshold is CATCH_UP_CHECKPOINT_THRESHOLD. Nothing about
   * durability changes: every batch's transaction is in the write-ahead log when its
   * COMMIT returns, and a crash replays the log on the next open (only that replay is longer).
   */
  async beginCatchUp(): Promise<void> {
    if (this.thresholdBeforeCatchUp !== undefined) return;
    const v = (await this.rows("SELECT current_setting('checkpoint_threshold') AS v"))[0]?.v;
    await this.conn.run(`SET GLOBAL checkpoint_threshold = '${CATCH_UP_CHECKPOINT_THRESHOLD}'`);
    this.thresholdBeforeCatchUp = String(v);
  }

  /** The catch-up is over: the usual threshold again, and one checkpoint of everything the catch-up wrote. */
  async endCatchUp(): Promise<void> {
    const v = this.thresholdBeforeCatchUp;
    if (v === undefined) return;
    this.thresholdBeforeCatchUp = undefined;
    await this.conn.run(`SET GLOBAL checkpoint_threshold = '${v.replace(/'/g, "''")}'`);
    await this.conn.run('CHECKPOINT');
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

/** Appends one non-null cell of a column type; false when the value is not of that type. */
type CellWriter = { type: ColumnType; write: (app: DuckDBAppender, v: Exclude<Cell, null>) => boolean };
const CELL_WRITERS: Record<ColumnType, CellWriter> = {
  VARCHAR: { type: 'VARCHAR', write: (app, v) => { app.appendVarchar(String(v)); return true; } },
  BOOLEAN: { type: 'BOOLEAN', write: (app, v) => { if (typeof v !== 'boolean') return false; app.appendBoolean(v); return true; } },
  INTEGER: { type: 'INTEGER', write: (app, v) => { if (typeof v !== 'number' || !Number.isInteger(v)) return false; app.appendInteger(v); return true; } },
  DOUBLE: { type: 'DOUBLE', write: (app, v) => { if (typeof v !== 'number') return false; app.appendDouble(v); return true; } },
  TIMESTAMP: { type: 'TIMESTAMP', write: (app, v) => { if (typeof v !== 'number' || !Number.isFinite(v)) return false; app.appendTimestamp(timestampValue(BigInt(Math.round(v)) * 1000n)); return true; } },
  DATE: { type: 'DATE', write: (app, v) => { if (typeof v !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(v)) return false; app.appendDate(dateValue(Date.parse(`${v}T00:00:00Z`) / 86_400_000)); return true; } },
};

function writeCell(app: DuckDBAppender, w: CellWriter, v: Cell, table: string): void {
  if (v === null) { app.appendNull(); return; }
  if (!w.write(app, v)) throw new TypeError(`${table}: ${typeof v} ${String(v)} is not a ${w.type}`);
}

/**
 * DuckDB's checkpoint threshold while catching up: a two-year warehouse's write-ahead log
 * (every row and every record's state) is about 73 MiB (the simulator's trust), so a catch-up checkpoints once, at
 * its end; a longer one still checkpoints every 1 GiB (the replay after a crash stays bounded).
 */
export const CATCH_UP_CHECKPOINT_THRESHOLD = '1GiB';

/** The analysts' tables (no internal ones), in dictionary order. */
export const ANALYST_TABLES = TABLES.map((t) => t.name);

const DAY = 86_400_000;
/** Tables whose rows make a spell's bed days. */
const SPELL_TABLES = ['spells', 'ward_stays', 'leave_periods', 'crfd_periods'] as const;

/** A number standing for what the bed days depend on besides the rows: the thresholds and the ward registry's types and long-stay days. */
function censusBasis(t: Thresholds, wards: unknown[][]): number {
  const h = createHash('sha256').update(censusPatientDaysSql(t)).update(JSON.stringify([...wards].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))))).digest();
  return h.readUIntBE(0, 6);
}

/**
 * census_patient_days: one row per spell on a ward at the midnight ending each complete
 * day up to the warehouse's latest event time (a bed day), with its flags at that
 * instant. The definition, as a query over the stored tables; the table is kept equal to
 * it batch by batch (Warehouse.commit), in parts:
 * - `batch`: only the spells listed in the temporary table _batch_spells;
 * - `after` (a watermark in ms, or null for none): only the days after the last complete
 *   day of that watermark, of the spells not in _batch_spells.
 * A bed day of a stay [s, e) is the day whose census instant (its ending midnight) m has
 * s <= m < e: the days after day D0 need e > the midnight ending day D0 + 1.
 */
export function censusPatientDaysSql(t: Thresholds, part: { batch?: boolean; after?: number | null } = {}): string {
  const los = `(floor((epoch_ms(o.at) - epoch_ms(o.admitted_at)) / 86400000)${t.losConvention === 'inclusive' ? ' + 1' : ''})`;
  // Each interval [s, e) expands to the days whose census instant (the midnight ending the
  // day) falls inside it, capped at the last complete day: linear in the bed days, no range join.
  const expand = (s: string, e: string) => `unnest(generate_series(
      (CASE WHEN ${s} = date_trunc('day', ${s}) THEN ${s}::DATE - 1 ELSE ${s}::DATE END)::TIMESTAMP,
      least(CASE WHEN ${e} IS NULL THEN (SELECT d1 FROM bounds) WHEN ${e} = date_trunc('day', ${e}) THEN ${e}::DATE - 2 ELSE ${e}::DATE - 1 END, (SELECT d1 FROM bounds))::TIMESTAMP,
      INTERVAL 1 DAY))::DATE`;
  const extend = part.after !== undefined;
  if (extend && part.after !== null && !Number.isSafeInteger(part.after)) throw new Error(`not a watermark: ${String(part.after)}`);
  const d0 = extend && part.after !== null ? `(epoch_ms(${part.after}::BIGINT)::DATE - 1)` : null;
  /** Which rows of a spell table take part (x: its alias). */
  const only = (x: string): string => {
    const cond: string[] = [];
    if (part.batch) cond.push(`EXISTS (SELECT 1 FROM _batch_spells b WHERE b.site = ${x}.site AND b.spell_id = ${x}.spell_id)`);
    if (extend) cond.push(`NOT EXISTS (SELECT 1 FROM _batch_spells b WHERE b.site = ${x}.site AND b.spell_id = ${x}.spell_id)`);
    return cond.length ? ` WHERE ${cond.join(' AND ')}` : '';
  };
  const ended = (x: string): string => (d0 ? ` AND (${x}.ended_at IS NULL OR ${x}.ended_at > (${d0} + 2)::TIMESTAMP)` : '');
  const late = (q: string): string => (d0 ? `SELECT * FROM (${q}) WHERE census_date > ${d0}` : q);
  const where = (x: string, withEnd: boolean): string => {
    const w = only(x);
    const e = withEnd ? ended(x) : '';
    return w ? `${w}${e}` : e ? ` WHERE ${e.slice(5)}` : '';
  };
  return `WITH bounds AS (
  SELECT (SELECT epoch_ms(v) FROM _meta WHERE k = 'watermark')::DATE - 1 AS d1
), ward_list AS (
  SELECT site, ward, ward_type, long_stay_days FROM wards
  UNION ALL
  SELECT DISTINCT s.site, s.ward, 'unknown', ${longStayDaysFor(t, 'unknown') ?? 'NULL'}::INTEGER FROM ward_stays s
  WHERE NOT EXISTS (SELECT 1 FROM wards w WHERE w.site = s.site AND w.ward = s.ward)
), occ AS (
  ${late(`SELECT ws.site, ws.ward, ws.spell_id, ws.out_of_area, ${expand('ws.started_at', 'ws.ended_at')} AS census_date FROM ward_stays ws${where('ws', true)}`)}
), leave_days AS (
  SELECT DISTINCT l.site, l.spell_id, ${expand('l.started_at', 'l.ended_at')} AS census_date FROM leave_periods l${where('l', true)}
), crfd_days AS (
  SELECT site, spell_id, census_date, min(reason_code) AS reason_code
  FROM (SELECT c.site, c.spell_id, c.reason_code, ${expand('c.started_at', 'c.ended_at')} AS census_date FROM crfd_periods c${where('c', true)}) GROUP BY ALL
), occ2 AS (
  SELECT o.*, o.census_date::TIMESTAMP + INTERVAL 1 DAY AS at, sp.admitted_at FROM occ o JOIN spells sp ON sp.site = o.site AND sp.spell_id = o.spell_id
)
SELECT o.census_date, o.site, o.ward, wl.ward_type, o.spell_id, ${los}::INTEGER AS los_days,
  lv.spell_id IS NOT NULL AS on_leave, cr.reason_code AS crfd_reason, o.out_of_area AS oap,
  ${los} >= ${t.strandedDays} AS stranded, ${los} >= ${t.superStrandedDays} AS super_stranded, ${los} >= wl.long_stay_days AS long_stay
FROM occ2 o JOIN ward_list wl ON wl.site = o.site AND wl.ward = o.ward
LEFT JOIN leave_days lv ON lv.census_date = o.census_date AND lv.site = o.site AND lv.spell_id = o.spell_id
LEFT JOIN crfd_days cr ON cr.census_date = o.census_date AND cr.site = o.site AND cr.spell_id = o.spell_id`;
}

/** daily_ward_census: census_patient_days by ward, every ward every day (a view over the table). */
export function dailyWardCensusViewSql(): string {
  return `CREATE OR REPLACE VIEW daily_ward_census AS
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
}
