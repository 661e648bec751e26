/** @pfm-stack kafka registry */
// The DuckDB warehouse on its own (embedded, a real file): batch atomicity, offsets,
// and the daily census view against rows folded from events.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Alert, FlowEvent } from '@pfm/contracts';
import { DEFAULT_THRESHOLDS, emptyPatient, evolve } from '@pfm/flow-domain';
import type { FlowEventCodec } from '@pfm/kafka-runtime';
import { createLogger } from '@pfm/observability';
import type { Batch } from 'kafkajs';
import { alertRow, InsightsConsumer } from './consumer';
import { LocalAreas, Pseudonymiser } from './pseudonym';
import { patientRows, type RowContext } from './rows';
import { Warehouse } from './warehouse';

const H = 3_600_000;
const D = 24 * H;
const T0 = Date.parse('2026-03-01T10:00:00Z');
const ctx: RowContext = {
  thresholds: DEFAULT_THRESHOLDS, wardType: () => 'adult_acute', pseudo: new Pseudonymiser('k'.repeat(40)), areas: new LocalAreas([], 'area'),
};
let n = 0;
const ev = (patientId: string, type: FlowEvent['type'], payload: object, at: number): FlowEvent =>
  ({ eventId: `w${++n}`, type, payload, occurredAt: at, recordedAt: at, site: 'RXT', patientId, sourceSystem: 'T', channel: 'json' }) as FlowEvent;

function record(patientId: string, events: FlowEvent[]) {
  const state = events.reduce((s, e) => evolve(s, e).state, emptyPatient('RXT', patientId));
  return { recordKey: ctx.pseudo.recordKey('RXT', patientId), state, rows: patientRows(state, ctx) };
}

describe('Warehouse (DuckDB file)', () => {
  let dir: string;
  beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'pfm-wh-')); });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a batch is all or nothing: rows, state and offsets commit together; a failed batch leaves the previous one', async () => {
    const path = join(dir, 'a.duckdb');
    const w = await Warehouse.open(path, { thresholds: DEFAULT_THRESHOLDS, wards: [{ site: 'RXT', code: 'OAK', name: 'Oak', type: 'adult_acute', beds: 2 }] });
    const p1 = record('P1', [ev('P1', 'patient.admitted', { spellId: 'S1', ward: 'OAK' }, T0)]);
    await w.commit({ records: [p1], alerts: [], offsets: [{ topic: 't', partition: 0, next: '1' }], watermark: T0 });
    const bad = record('P2', [ev('P2', 'patient.admitted', { spellId: 'S2', ward: 'OAK' }, T0 + H)]);
    // Bad in ward_stays: every spells row (good and bad) is appended and flushed before it fails.
    (bad.rows.ward_stays[0] as Record<string, unknown>).days = 'not a number';
    const good = record('P3', [ev('P3', 'patient.admitted', { spellId: 'S3', ward: 'OAK' }, T0 + H)]);
    await expect(w.commit({ records: [good, bad], alerts: [], offsets: [{ topic: 't', partition: 0, next: '2' }], watermark: T0 + H })).rejects.toThrow();
    expect((await w.offsets()).get('t:0')).toBe('1');
    expect(await w.rows('SELECT spell_id FROM spells')).toEqual([{ spell_id: 'S1' }]);
    expect([...(await w.loadStates([p1.recordKey, bad.recordKey, good.recordKey])).keys()]).toEqual([p1.recordKey]);
    expect(await w.rows('SELECT count(*)::INTEGER AS n FROM ward_stays')).toEqual([{ n: 1 }]);
    w.close();
    // Reopened: the same record.
    const again = await Warehouse.open(path, { thresholds: DEFAULT_THRESHOLDS });
    expect((await again.offsets()).get('t:0')).toBe('1');
    expect(await again.watermark()).toBe(T0);
    again.close();
  });

  it('rewrites a record\'s rows when its events change (no duplicates, cancels remove rows)', async () => {
    const w = await Warehouse.open(join(dir, 'b.duckdb'), { thresholds: DEFAULT_THRESHOLDS });
    const a = ev('P1', 'patient.admitted', { spellId: 'S1', ward: 'OAK' }, T0);
    const t = ev('P1', 'patient.transferred', { spellId: 'S1', ward: 'ELM' }, T0 + D);
    await w.commit({ records: [record('P1', [a, t])], alerts: [], offsets: [] });
    expect(await w.rows('SELECT count(*)::INTEGER AS n FROM ward_stays')).toEqual([{ n: 2 }]);
    await w.commit({ records: [record('P1', [a, t, ev('P1', 'transfer.cancelled', { spellId: 'S1' }, T0 + D + H)])], alerts: [], offsets: [] });
    expect(await w.rows('SELECT ward FROM ward_stays')).toEqual([{ ward: 'OAK' }]);
    w.close();
  });

  it('daily_ward_census: occupancy at the midnight ending each complete day, with leave, stranded, CRFD, OAP', async () => {
    const w = await Warehouse.open(join(dir, 'c.duckdb'), { thresholds: DEFAULT_THRESHOLDS, wards: [{ site: 'RXT', code: 'OAK', name: 'Oak', type: 'adult_acute', beds: 4 }] });
    const p1 = record('P1', [
      ev('P1', 'patient.admitted', { spellId: 'S1', ward: 'OAK', outOfArea: true }, T0), // 1 Mar 10:00
      ev('P1', 'leave.started', { spellId: 'S1' }, T0 + 7 * D), // 8 Mar 10:00 .. 9 Mar 10:00
      ev('P1', 'leave.ended', { spellId: 'S1' }, T0 + 8 * D),
      ev('P1', 'crfd.started', { spellId: 'S1', reasonCode: '14' }, T0 + 8 * D + H),
    ]);
    const p2 = record('P2', [
      ev('P2', 'patient.admitted', { spellId: 'S2', ward: 'OAK' }, T0 + D),
      ev('P2', 'patient.discharged', { spellId: 'S2' }, T0 + 3 * D),
    ]);
    await w.commit({ records: [p1, p2], alerts: [], offsets: [], watermark: T0 + 9 * D + 2 * H }); // 10 Mar 12:00
    const rows = await w.rows("SELECT strftime(census_date, '%d') AS d, beds, occupied_incl_leave AS occ, occupied_excl_leave AS present, stranded, crfd, oap FROM daily_ward_census ORDER BY census_date");
    expect(rows.map((r) => Object.values(r).join(' '))).toEqual([
      '01 4 1 1 0 0 1', '02 4 2 2 0 0 1', '03 4 2 2 0 0 1', '04 4 1 1 0 0 1', '05 4 1 1 0 0 1', '06 4 1 1 0 0 1', '07 4 1 1 0 0 1',
      '08 4 1 0 1 0 1', '09 4 1 1 1 1 1',
    ]);
    w.close();
  });

  it('a flow-event batch whose writer schema cannot be fetched fails, to be retried, and commits nothing (its events are not skipped as undecodable)', async () => {
    const w = await Warehouse.open(join(dir, 'registry-down.duckdb'), { thresholds: DEFAULT_THRESHOLDS });
    // What the codec throws when the registry cannot be reached (a retriable error, kafka-runtime's tests).
    const down = (): never => { throw new Error('schema registry: connect ECONNREFUSED 127.0.0.1:8081'); };
    const codec = { prepare: async () => down(), decode: async () => down(), decodeSync: () => down() } as unknown as FlowEventCodec;
    const logger = createLogger('warehouse-test');
    logger.level = 'silent';
    const consumer = new InsightsConsumer({ kafka: undefined as never, codec, warehouse: w, ctx, logger, groupId: 'g', topics: { flowEvents: 'flow', alerts: 'alerts' } });
    const batch = { topic: 'flow', partition: 0, highWatermark: '2', messages: [0, 1].map((i) => ({ offset: String(i), value: Buffer.from([0, 0, 0, 0, 1, i]) })) } as unknown as Batch;
    const apply = (consumer as unknown as { apply(b: Batch): Promise<void> }).apply.bind(consumer);
    await expect(apply(batch)).rejects.toThrow(/ECONNREFUSED/);
    expect(consumer.stats.undecodable).toBe(0);
    expect([...(await w.offsets())]).toEqual([]);
    w.close();
  });
  it('keeps the newest version of an alert: an older version delivered again after it replaces nothing; a schema-2 file is brought to 3 when opened', async () => {
    const path = join(dir, 'alert-versions.duckdb');
    const w = await Warehouse.open(path, { thresholds: DEFAULT_THRESHOLDS });
    const base: Alert = { alertId: 'stranded:RXT:P1:S1:7d', rule: 'stranded', severity: 'info', threshold: { value: 7, unit: 'days' }, source: 't', message: 'm', site: 'RXT', ward: 'OAK', patientId: 'P1', spellId: 'S1', becameTrueAt: T0, raisedAt: T0, version: 1 };
    const v1 = alertRow(base, ctx);
    const v2 = alertRow({ ...base, version: 2, resolvedAt: T0 + D }, ctx);
    const read = async (x: Warehouse) => (await x.rows('SELECT version, resolved_at FROM alerts')).map((r) => ({ version: r.version === null ? null : Number(r.version), resolved: r.resolved_at !== null }));
    await w.commit({ records: [], alerts: [v2], offsets: [] });
    await w.commit({ records: [], alerts: [v1], offsets: [] });
    expect(await read(w)).toEqual([{ version: 2, resolved: true }]);
    // As a file of the schema before: no version column, the row left as it was.
    await w.run('ALTER TABLE alerts DROP COLUMN version');
    await w.run("UPDATE _meta SET v = 2 WHERE k = 'schema_version'");
    w.close();
    const again = await Warehouse.open(path, { thresholds: DEFAULT_THRESHOLDS });
    try {
      expect(await read(again)).toEqual([{ version: null, resolved: true }]);
      expect(Number((await again.rows("SELECT v FROM _meta WHERE k = 'schema_version'"))[0]!.v)).toBe(3);
      await again.commit({ records: [], alerts: [alertRow({ ...base, version: 3, resolvedAt: T0 + 2 * D }, ctx)], offsets: [] });
      await again.commit({ records: [], alerts: [v1], offsets: [] });
      expect(await read(again)).toEqual([{ version: 3, resolved: true }]);
    } finally {
      again.close();
    }
  });
});
