/** @pfm-stack kafka registry */
// The insights service as a real child process on the real Kafka and schema registry:
// a clean run, and a run SIGKILLed twice mid-stream then restarted, must give the same
// warehouse, table by table, row by row.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import type { Alert, FlowEvent } from '@pfm/contracts';
import { logReady, syntheticEvents, uniqueName, waitFor, type RunningService } from '@pfm/testkit';
import { TABLES } from './schema';
import { openScratch, type Scratch } from '../../../tests/support/scratch';
import { startInsights } from './testing';

const EVENTS = 12_000;
const REFERRALS = 500;
const NOTES = 4;
const SECRET = 'insights-test-secret-0123456789abcdef';

jest.setTimeout(420_000);

describe('insights service: exactly once under SIGKILL', () => {
  let dir: string;
  let log: Scratch | undefined;
  const running: RunningService[] = [];

  const start = async (db: string, ready: (s: RunningService) => boolean, extra: Record<string, string> = {}) => {
    const s = await startInsights(log!.ns, db, { PFM_INSIGHTS_GROUP: uniqueName('insights-g'), PFM_INSIGHTS_SECRET: SECRET, PFM_INSIGHTS_MAX_BATCH_BYTES: String(64 * 1024), ...extra }, ready);
    running.push(s);
    return s;
  };
  const caughtUp = logReady('insights caught up with the log');
  const cleanGroup = uniqueName('insights-g');
  let cleanRun: Promise<RunningService> | undefined;
  /** The clean run: the whole log into clean.duckdb, then stopped. Made once, by the first test that needs it. */
  const cleanWarehouse = () => (cleanRun ??= start(join(dir, 'clean.duckdb'), caughtUp, { PFM_INSIGHTS_GROUP: cleanGroup }).then(async (s) => { await s.stop(); return s; }));

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pfm-insights-'));
    log = await openScratch('insights');
    const { producer, topics } = log;
    // Synthetic pathways (some with an NHS number), plus crisis referrals answered after 0-47 hours.
    const events: FlowEvent[] = syntheticEvents({ total: EVENTS - 2 * REFERRALS - NOTES - 1, seed: 13 }).map((e, i) => (i % 3 === 0 ? { ...e, nhsNumber: '9434765919' } : e));
    const t0 = Date.parse('2026-01-01T00:00:00Z');
    for (let i = 0; i < REFERRALS; i++) {
      const at = t0 + i * 3_600_000;
      const base = { site: 'RXT', patientId: `REF${i}`, sourceSystem: 'SYN', channel: 'simulator' as const };
      events.push({ ...base, eventId: `ref-${i}`, type: 'referral.received', occurredAt: at, recordedAt: at, payload: { referralId: `R${i}`, team: 'CRISIS-NORTH', teamType: 'crisis', urgency: 'very_urgent', referralSource: 'gp', area: 'NORTH' } });
      events.push({ ...base, eventId: `ref-${i}-a`, type: 'referral.assessed', occurredAt: at + (i % 48) * 3_600_000, recordedAt: at + (i % 48) * 3_600_000, payload: { referralId: `R${i}` } });
    }
    // Improvement notes, spread through the log (one recorded twice: kept once).
    for (let i = 0; i < NOTES; i++) {
      const at = t0 + i * 7 * 86_400_000;
      const note: FlowEvent = {
        site: 'RXT', patientId: `improvement:N${i}`, sourceSystem: 'SYN', channel: 'ui', eventId: `note-${i}`, type: 'improvement.noted', occurredAt: at, recordedAt: at,
        payload: { noteId: `N${i}`, title: `Change ${i}`, ward: 'OAK', effectiveDate: new Date(at).toISOString().slice(0, 10), author: 'analyst-1', measures: ['los_median'], expectedDirection: 'down' },
      };
      events.splice(Math.floor(((i + 1) * events.length) / (NOTES + 1)), 0, note);
      if (i === 0) events.push({ ...note, eventId: 'note-0-again' });
    }
    await log.send(events);
    // Alerts as the engine publishes them: raised, then the same alert acknowledged and resolved.
    const alerts: Alert[] = [];
    for (let i = 0; i < 300; i++) {
      const a: Alert = {
        alertId: `stranded:RXT:SYN${i}:SP${i}:7d`, rule: 'stranded', severity: 'info', threshold: { value: 7, unit: 'days' }, source: 'test', message: 'Patient SYN has been in hospital 7 days',
        site: 'RXT', ward: 'OAK', patientId: `SYN${i}`, spellId: `SP${i}`, becameTrueAt: 1_000 + i, raisedAt: 2_000 + i,
      };
      alerts.push(a, { ...a, acknowledged: { by: 'user-1', at: 3_000 + i } }, { ...a, acknowledged: { by: 'user-1', at: 3_000 + i }, resolvedAt: 4_000 + i });
    }
    await producer.send({ topic: topics.alerts, acks: -1, messages: alerts.map((a) => ({ key: `${a.site}/${a.alertId}`, value: JSON.stringify(a) })) });
  });

  afterAll(async () => {
    for (const s of running) await s.kill();
    await log?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function query(db: string, sql: string): Promise<Record<string, unknown>[]> {
    const inst = await DuckDBInstance.create(db);
    const c = await inst.connect();
    try {
      return (await c.runAndReadAll(sql)).getRowObjectsJS() as Record<string, unknown>[];
    } finally {
      c.closeSync();
      inst.closeSync();
    }
  }

  it('a clean run and a run killed twice mid-stream give identical tables', async () => {
    const clean = join(dir, 'clean.duckdb');
    // The clean run has a file and a group of its own: it runs while the faulty one is killed and restarted.
    const cleanDone = cleanWarehouse();
    cleanDone.catch(() => undefined); // awaited below, where a failure is reported

    const faulty = join(dir, 'faulty.duckdb');
    let consumedAtKill = -1;
    for (let kill = 1; kill <= 2; kill++) {
      // Debug logs name each committed batch; kill while later batches are still being folded.
      const committed = (s: RunningService) => s.logs.filter((l) => l.includes('insights batch committed')).length;
      const s = await start(faulty, (x) => committed(x) >= 4, { PFM_LOG_LEVEL: 'debug' });
      expect(caughtUp(s)).toBe(false);
      await s.kill();
      const [row] = await query(faulty, "SELECT coalesce(sum(next_offset), 0)::INTEGER AS n FROM _offsets WHERE topic LIKE '%flow-events%'");
      const n = Number(row!.n);
      // The kill landed part-way: some batches are in, the log is not finished.
      expect(n).toBeGreaterThan(consumedAtKill);
      expect(n).toBeLessThan(EVENTS);
      consumedAtKill = n;
    }
    const r = await start(faulty, caughtUp);
    await r.stop();
    const c = await cleanDone;

    const tables = [...TABLES.map((t) => t.name), '_patients', '_offsets', '_meta'];
    const inst = await DuckDBInstance.create(clean);
    const conn = await inst.connect();
    try {
      await conn.run(`ATTACH '${faulty}' AS f (READ_ONLY)`);
      for (const t of tables) {
        const counts = (await conn.runAndReadAll(`SELECT (SELECT count(*) FROM ${t})::INTEGER AS a, (SELECT count(*) FROM f.${t})::INTEGER AS b,
          (SELECT count(*) FROM (SELECT * FROM ${t} EXCEPT ALL SELECT * FROM f.${t}))::INTEGER AS only_clean,
          (SELECT count(*) FROM (SELECT * FROM f.${t} EXCEPT ALL SELECT * FROM ${t}))::INTEGER AS only_faulty`)).getRowObjectsJS()[0]!;
        expect({ t, ...counts }).toEqual({ t, a: counts.b, b: counts.a, only_clean: 0, only_faulty: 0 });
        if (t !== 'wards') expect({ t, rows: Number(counts.a) > 0 }).toEqual({ t, rows: true });
      }
      const offsets = (await conn.runAndReadAll("SELECT sum(next_offset)::INTEGER AS n FROM _offsets WHERE topic LIKE '%flow-events%'")).getRowObjectsJS()[0]!;
      expect(Number(offsets.n)).toBe(EVENTS);
      const notes = (await conn.runAndReadAll('SELECT count(*)::INTEGER AS n FROM improvement_notes')).getRowObjectsJS()[0]!;
      expect(notes.n).toBe(NOTES);
      const alerts = (await conn.runAndReadAll('SELECT count(*)::INTEGER AS n, count(resolved_at)::INTEGER AS resolved FROM alerts')).getRowObjectsJS()[0]!;
      expect(alerts).toEqual({ n: 300, resolved: 300 });
    } finally {
      conn.closeSync();
      inst.closeSync();
    }
    await waitFor(() => !c.running && !r.running, { what: 'services stopped' });
  });

  it('a new warehouse file folds the whole log even when the group has committed offsets at the end', async () => {
    // The clean run's group has committed the end of the log.
    await cleanWarehouse();
    // Same group, empty warehouse (lost file, or a rebuild): the warehouse's record wins.
    const second = join(dir, 'second.duckdb');
    await (await start(second, caughtUp, { PFM_INSIGHTS_GROUP: cleanGroup })).stop();
    const [row] = await query(second, "SELECT sum(next_offset)::INTEGER AS n, (SELECT count(*) FROM spells)::INTEGER AS spells FROM _offsets WHERE topic LIKE '%flow-events%'");
    const [ref] = await query(join(dir, 'clean.duckdb'), 'SELECT count(*)::INTEGER AS spells FROM spells');
    expect(row).toEqual({ n: EVENTS, spells: ref!.spells });
  });
});
