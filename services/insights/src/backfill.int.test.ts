/** @pfm-stack kafka registry */
// A backfill's batch size changes how often each record is rewritten, never what the
// warehouse holds: the simulator's trust folded through the consumer's own per-batch path
// (applyDecoded: load, fold, rows, one transaction with the offset) in small batches, as
// a live consumer takes them, and in whole-partition batches, as a consumer far behind the
// log takes them (8 MiB fetches), gives the same rows in every table. No Kafka here: the
// batches are cut from the log as the consumer would receive them, partition by partition.
import { mkdtempSync, rmSync } from 'node:fs';
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

const DAYS = 21;
const START = Date.parse('2026-05-01T00:00:00Z');
const PARTITIONS = 3;
const TABLES = ['spells', 'ward_stays', 'leave_periods', 'crfd_periods', 'referrals', 'census_patient_days', 'daily_ward_census', '_patients', '_offsets', '_meta'];

describe('backfill batch size', () => {
  let dir: string;
  beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'pfm-backfill-')); });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const sim = createSimulation({ seed: 5, start: START, historyDays: DAYS });
  const registry = new WardRegistry(wardsOf(sim.trust));
  const events = [...sim.history(DAYS)].map((input) => flowEventSchema.parse({ ...input, recordedAt: input.recordedAt ?? input.occurredAt, channel: input.channel ?? 'simulator' }) as FlowEvent);
  // Each record's events on one partition, in log order (the producer keys by record).
  const parts: FlowEvent[][] = Array.from({ length: PARTITIONS }, () => []);
  for (const e of events) parts[[...`${e.site}/${e.patientId}`].reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 7) % PARTITIONS]!.push(e);

  /** The log folded in batches of at most `size` events per partition, taken round robin; every table's rows, sorted. */
  async function build(name: string, size: number, lanes: 'one' | 'all' = 'one'): Promise<Record<string, string[]>> {
    const ctx: RowContext = {
      thresholds: DEFAULT_THRESHOLDS, wardType: (site, ward) => registry.typeOf(site, ward),
      pseudo: new Pseudonymiser('backfill-test-secret-0123456789abcdef'), areas: new LocalAreas([], 'area'),
    };
    const warehouse = await Warehouse.open(join(dir, `${name}.duckdb`), { wards: registry.wards(), thresholds: DEFAULT_THRESHOLDS });
    const logger = createLogger('backfill-test');
    logger.level = 'warn';
    const consumer = new InsightsConsumer({ kafka: undefined as never, codec: undefined as never, warehouse, ctx, logger, groupId: 'g', topics: { flowEvents: 'flow', alerts: 'alerts' } });
    try {
      if (lanes === 'one') {
        for (let from = 0; parts.some((p) => p.length > from); from += size) {
          for (const [partition, p] of parts.entries()) {
            const batch = p.slice(from, from + size);
            if (batch.length) await consumer.applyDecoded(batch, { topic: 'flow', partition, next: String(from + batch.length) });
          }
        }
      } else {
        // Every partition's batches in flight at once (concurrentPartitions), each partition's in log order.
        await Promise.all(parts.map(async (p, partition) => {
          for (let from = 0; from < p.length; from += size) {
            const batch = p.slice(from, from + size);
            await consumer.applyDecoded(batch, { topic: 'flow', partition, next: String(from + batch.length) });
          }
        }));
      }
      expect(consumer.stats.events).toBe(events.length);
      const out: Record<string, string[]> = {};
      for (const t of TABLES) out[t] = (await warehouse.rows(`SELECT * FROM ${t}`)).map((r) => JSON.stringify(r, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))).sort();
      return out;
    } finally {
      warehouse.close();
    }
  }

  it('whole-partition batches give the same tables as small batches, row for row', async () => {
    const small = await build('small', 400);
    const whole = await build('whole', events.length);
    expect(small.spells!.length).toBeGreaterThan(20);
    expect(small.census_patient_days!.length).toBeGreaterThan(200);
    expect(small.crfd_periods!.length + small.leave_periods!.length).toBeGreaterThan(0);
    for (const t of TABLES) expect({ table: t, rows: whole[t] }).toEqual({ table: t, rows: small[t] });
  }, 600_000);

  it('partitions folded side by side (PFM_INSIGHTS_CONCURRENT_PARTITIONS) give the same tables as one at a time', async () => {
    const one = await build('one-lane', 400);
    const all = await build('all-lanes', 400, 'all');
    expect(one.spells!.length).toBeGreaterThan(20);
    for (const t of TABLES) expect({ table: t, rows: all[t] }).toEqual({ table: t, rows: one[t] });
  }, 600_000);
});
