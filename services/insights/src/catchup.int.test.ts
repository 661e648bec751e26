/** @pfm-stack kafka registry */
// The catch-up mode (Warehouse.beginCatchUp: DuckDB checkpoints once, when the consumer
// has caught up, instead of every 16 MiB of write-ahead log) changes when the file is
// written, never what the warehouse holds: the simulator's trust folded through the
// consumer's per-batch path with and without it gives the same rows in every table; what
// a batch committed during a catch-up is in the write-ahead log, so a copy of the files
// taken then (as a crash would leave them) opens with exactly the committed batches.
import { copyFileSync, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { flowEventSchema, type FlowEvent } from '@pfm/contracts';
import { DEFAULT_THRESHOLDS } from '@pfm/flow-domain';
import { WardRegistry } from '@pfm/flow-store';
import { createLogger } from '@pfm/observability';
import { createSimulation, wardsOf } from '@pfm/simulator';
import { InsightsConsumer } from './consumer';
import { LocalAreas, Pseudonymiser } from './pseudonym';
import type { RowContext } from './rows';
import { Warehouse } from './warehouse';

const DAYS = 30;
const START = Date.parse('2026-05-01T00:00:00Z');
const PARTITIONS = 3;
const TABLES = ['spells', 'ward_stays', 'leave_periods', 'crfd_periods', 'referrals', 'census_patient_days', 'daily_ward_census', 'improvement_notes', '_patients', '_offsets', '_meta'];

describe('catch-up mode', () => {
  let dir: string;
  beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'pfm-catchup-')); });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const sim = createSimulation({ seed: 9, start: START, historyDays: DAYS });
  const registry = new WardRegistry(wardsOf(sim.trust));
  const events = [...sim.history(DAYS)].map((input) => flowEventSchema.parse({ ...input, recordedAt: input.recordedAt ?? input.occurredAt, channel: input.channel ?? 'simulator' }) as FlowEvent);
  const parts: FlowEvent[][] = Array.from({ length: PARTITIONS }, () => []);
  for (const e of events) parts[[...`${e.site}/${e.patientId}`].reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 7) % PARTITIONS]!.push(e);
  const ctx: RowContext = {
    thresholds: DEFAULT_THRESHOLDS, wardType: (site, ward) => registry.typeOf(site, ward),
    pseudo: new Pseudonymiser('catchup-test-secret-0123456789abcdef'), areas: new LocalAreas([], 'area'),
  };
  const logger = createLogger('catchup-test');
  logger.level = 'warn';

  const tables = async (w: Warehouse): Promise<Record<string, string[]>> => {
    const out: Record<string, string[]> = {};
    for (const t of TABLES) out[t] = (await w.rows(`SELECT * FROM ${t}`)).map((r) => JSON.stringify(r, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))).sort();
    return out;
  };
  /** DuckDB's checkpoint threshold and the write-ahead log's size right after the last endCatchUp. */
  let ended: { threshold: string; wal: number } | undefined;
  const threshold = async (w: Warehouse) => String((await w.rows("SELECT current_setting('checkpoint_threshold') AS v"))[0]!.v);

  /**
   * The log folded in batches of `size` events per partition, round robin; with `catchUp`,
   * inside beginCatchUp / endCatchUp. `afterBatch(i, w)` runs after the i-th batch.
   */
  async function build(name: string, size: number, catchUp: boolean, afterBatch?: (i: number, w: Warehouse) => Promise<void>): Promise<Record<string, string[]>> {
    const file = join(dir, `${name}.duckdb`);
    const warehouse = await Warehouse.open(file, { wards: registry.wards(), thresholds: DEFAULT_THRESHOLDS });
    const consumer = new InsightsConsumer({ kafka: undefined as never, codec: undefined as never, warehouse, ctx, logger, groupId: 'g', topics: { flowEvents: 'flow', alerts: 'alerts' } });
    try {
      if (catchUp) await warehouse.beginCatchUp();
      let i = 0;
      for (let from = 0; parts.some((p) => p.length > from); from += size) {
        for (const [partition, p] of parts.entries()) {
          const batch = p.slice(from, from + size);
          if (!batch.length) continue;
          await consumer.applyDecoded(batch, { topic: 'flow', partition, next: String(from + batch.length) });
          await afterBatch?.(++i, warehouse);
        }
      }
      if (catchUp) {
        await warehouse.endCatchUp();
        ended = { threshold: await threshold(warehouse), wal: existsSync(`${file}.wal`) ? statSync(`${file}.wal`).size : 0 };
      }
      expect(consumer.stats.events).toBe(events.length);
      return await tables(warehouse);
    } finally {
      warehouse.close();
    }
  }

  it('gives the same tables as folding without it, and checkpoints everything when it ends', async () => {
    const plain = await build('plain', 500, false);
    let during = '';
    let walDuring = 0;
    const fast = await build('catchup', 500, true, async (i, w) => {
      if (i === 3) { during = await threshold(w); walDuring = statSync(join(dir, 'catchup.duckdb.wal')).size; }
    });
    expect(plain.spells!.length).toBeGreaterThan(20);
    expect(plain.census_patient_days!.length).toBeGreaterThan(200);
    for (const t of TABLES) expect({ table: t, rows: fast[t] }).toEqual({ table: t, rows: plain[t] });
    // While catching up the batches stay in the write-ahead log; endCatchUp checkpointed them and put DuckDB's threshold back.
    expect(during).toMatch(/GiB/);
    expect(walDuring).toBeGreaterThan(0);
    expect(ended).toEqual({ threshold: '16.0 MiB', wal: 0 });
    const w = await Warehouse.open(join(dir, 'catchup.duckdb'), { wards: registry.wards(), thresholds: DEFAULT_THRESHOLDS });
    try {
      expect(await tables(w)).toEqual(plain);
    } finally {
      w.close();
    }
  }, 600_000);

  it('a copy of the files taken mid catch-up (as a crash leaves them) opens with exactly the batches committed so far', async () => {
    let atCopy: Record<string, string[]> | undefined;
    await build('crash', 500, true, async (i, w) => {
      if (i !== 4) return;
      atCopy = await tables(w);
      const copy = join(dir, 'copy.duckdb');
      copyFileSync(join(dir, 'crash.duckdb'), copy);
      copyFileSync(join(dir, 'crash.duckdb.wal'), `${copy}.wal`);
    });
    expect(existsSync(join(dir, 'copy.duckdb.wal'))).toBe(true);
    const w = await Warehouse.open(join(dir, 'copy.duckdb'), { wards: registry.wards(), thresholds: DEFAULT_THRESHOLDS });
    try {
      const copied = await tables(w);
      expect(copied._offsets!.length).toBe(3);
      expect(copied.spells!.length).toBeGreaterThan(0);
      expect(copied).toEqual(atCopy);
    } finally {
      w.close();
    }
  }, 600_000);
});
