/** @pfm-stack kafka registry */
// The simulator's trust through Kafka (Avro, the schema registry) and the insights
// consumer into a DuckDB warehouse, reconciled with the simulator's own ground truth:
// - the model's bed census at every midnight of the run (sim.census(), its own state,
//   not derived from events) against daily_ward_census and census_patient_days, ward by
//   ward and day by day: occupied including and excluding leave, CRFD, out of area;
// - the simulator's flow statistics of the same window (flowStats, from the event
//   stream) against the spells table and the measures: admissions, discharges, LOS
//   distribution by ward type, 72-hour follow-up, readmissions within 30 days, CRFD
//   periods by reason and referrals by team type.
// Everything is exact: same counts, same days, same medians.
// The run: `advance()` day by day from an empty window (the opening census first, then
// RECONCILE_DAYS days of live events), recording the census at each midnight.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FlowEvent, FlowEventInput } from '@pfm/contracts';
import { DEFAULT_THRESHOLDS } from '@pfm/flow-domain';
import { WardRegistry } from '@pfm/flow-store';
import { createLogger } from '@pfm/observability';
import { uniqueName } from '@pfm/testkit';
import { openScratch, type Scratch } from '../../../tests/support/scratch';
import { createSimulation, DEFAULT_RATES, distribution, flowStats, wardsOf, type Census } from '../../simulator/src';
import { InsightsConsumer } from './consumer';
import { loadCatalogue, measureSeries } from './measures';
import { LocalAreas, Pseudonymiser } from './pseudonym';
import type { RowContext } from './rows';
import { Warehouse } from './warehouse';

const DAY = 86_400_000;
/** Days of live events after the opening census: long enough for 30-day readmissions to be seen. */
const DAYS = Number(process.env.RECONCILE_DAYS ?? 120);
const START = Date.parse('2026-06-01T00:00:00Z');
const root = join(__dirname, '..', '..', '..');

jest.setTimeout(300_000);

describe(`warehouse reconciles with the simulator (${DAYS} days)`, () => {
  const dir = mkdtempSync(join(tmpdir(), 'pfm-insights-rec-'));
  const sim = createSimulation({ seed: 'reconcile', start: START, historyDays: 1 });
  const registry = new WardRegistry(wardsOf(sim.trust));
  const censuses: Census[] = [];
  const inputs: FlowEventInput[] = [];
  let log: Scratch | undefined;
  let w: Warehouse;

  beforeAll(async () => {
    for (let d = 0; d <= DAYS; d++) {
      inputs.push(...sim.advance(START + d * DAY));
      censuses.push(sim.census());
    }
    // As ingest writes them (every simulator event carries its id); recorded when they happened.
    const events = inputs.map((e) => ({ ...e, eventId: e.eventId!, recordedAt: e.occurredAt, sourceSystem: e.sourceSystem ?? 'SIM', channel: 'simulator' }) as FlowEvent);
    log = await openScratch('insights-rec');
    const { kafka, codec, topics } = log;
    await log.send(events);

    const ctx: RowContext = {
      thresholds: DEFAULT_THRESHOLDS, wardType: (site, ward) => registry.typeOf(site, ward),
      pseudo: new Pseudonymiser('reconcile-test-secret-0123456789abcdef'), areas: LocalAreas.fromFile(join(root, 'config/local-areas.csv'), 'locality'),
    };
    w = await Warehouse.open(join(dir, 'w.duckdb'), { wards: registry.wards(), thresholds: DEFAULT_THRESHOLDS });
    const logger = createLogger('insights-reconcile');
    logger.level = 'warn';
    const consumer = new InsightsConsumer({ kafka, codec, warehouse: w, ctx, logger, groupId: uniqueName('insights-rec-g'), topics: { flowEvents: topics.flowEvents, alerts: topics.alerts } });
    await consumer.start();
    await consumer.untilCaughtUp();
    await consumer.stop();
    expect(consumer.stats).toMatchObject({ events: events.length, undecodable: 0 });
  });

  afterAll(async () => {
    w?.close();
    await log?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const iso = (t: number) => new Date(t).toISOString().slice(0, 10);
  const num = (v: unknown) => Number(v);
  const dayMs = (v: unknown) => (v instanceof Date ? v.getTime() : Date.parse(`${String(v).slice(0, 10)}T00:00:00Z`));

  it('the census at every midnight equals the model\'s beds, ward by ward: occupied with and without leave, CRFD, out of area', async () => {
    // The census at midnight T is the row of the day ending at T; the warehouse has complete days only (before its latest event's day).
    const rows = await w.rows(`SELECT census_date, ward, occupied_incl_leave, occupied_excl_leave, crfd FROM daily_ward_census WHERE census_date >= ?::DATE ORDER BY ALL`, [iso(START - DAY)]);
    const oap = await w.rows(`SELECT census_date, count(*) FILTER (WHERE oap)::INTEGER AS oap FROM census_patient_days WHERE census_date >= ?::DATE GROUP BY ALL`, [iso(START - DAY)]);
    const got = new Map<string, Record<string, number>>();
    for (const r of rows) got.set(`${iso(dayMs(r.census_date))}/${String(r.ward)}`, { incl: num(r.occupied_incl_leave), excl: num(r.occupied_excl_leave), crfd: num(r.crfd) });
    const oapBy = new Map(oap.map((r) => [iso(dayMs(r.census_date)), num(r.oap)]));
    let compared = 0;
    const lastDay = Math.max(...rows.map((r) => dayMs(r.census_date)));
    for (const c of censuses) {
      const day = iso(c.at - DAY);
      if (c.at - DAY > lastDay) continue;
      for (const wc of c.wards) {
        expect({ day, ward: wc.ward, ...got.get(`${day}/${wc.ward}`) }).toEqual({ day, ward: wc.ward, incl: wc.occupied, excl: wc.occupied - wc.onLeave, crfd: wc.crfd });
        compared += 1;
      }
      expect({ day, oap: oapBy.get(day) ?? 0 }).toEqual({ day, oap: c.outOfArea });
    }
    // Every midnight but the last (its day is not complete in the log), every ward.
    expect(compared).toBe(DAYS * censuses[0]!.wards.length);
    expect(censuses.some((c) => c.outOfArea > 0) && censuses.some((c) => c.wards.some((x) => x.crfd > 0 && x.onLeave > 0))).toBe(true);
  });

  it('occupied bed days (the measure) equal the model\'s occupied beds summed over the midnights', async () => {
    const catalogue = loadCatalogue(join(root, 'config/measures.json'));
    const s = await w.read((r) => measureSeries(r, catalogue, { measure: 'occupied_bed_days', period: 'month', from: START - DAY, to: START + (DAYS - 1) * DAY }));
    const expected = censuses.slice(0, DAYS).reduce((a, c) => a + c.outOfArea + c.wards.reduce((b, x) => b + x.occupied, 0), 0);
    expect(s.points.reduce((a, p) => a + p.numerator, 0)).toBe(expected);
  });

  it('spells, discharges, LOS by ward type, follow-up, readmissions, CRFD by reason and referrals equal the simulator\'s statistics of the window', async () => {
    const from = START;
    const to = START + DAYS * DAY;
    const stats = flowStats(inputs, { trust: sim.trust, from, to });
    const typeOf = new Map<string, string>([...sim.trust.wards.map((x) => [x.code, x.type] as const), ...sim.trust.oapUnits.map((u) => [u.code, u.wardType] as const)]);
    const spells = await w.rows('SELECT patient_key, spell_id, epoch_ms(admitted_at) AS a, epoch_ms(discharged_at) AS d, last_ward, discharge_destination, followed_up_72h, readmitted_30d FROM spells');
    const ms = (v: unknown) => (v === null ? null : Number(v));
    const inWindow = (t: number | null) => t !== null && t >= from && t < to;
    expect(spells.filter((s) => inWindow(ms(s.a))).length).toBe(stats.admissions);
    const discharged = spells.filter((s) => inWindow(ms(s.d)));
    expect(discharged.length).toBe(stats.discharges);

    // LOS in days (exact, fractional) by the discharging ward's type, as the simulator types wards (out-of-area units included).
    const losBy = new Map<string, number[]>();
    for (const s of discharged) {
      const t = typeOf.get(String(s.last_ward)) ?? 'unknown';
      losBy.set(t, [...(losBy.get(t) ?? []), (ms(s.d)! - ms(s.a)!) / DAY]);
    }
    for (const [t, los] of Object.entries(stats.los)) {
      const mine = distribution(losBy.get(t) ?? []);
      expect({ t, n: mine.n, median: mine.median, p90: mine.p90 }).toEqual({ t, n: los!.n, median: los!.median, p90: los!.p90 });
    }

    // 72-hour follow-up, with the simulator's eligibility (discharges early enough for a late contact to be seen).
    const fu = { eligible: 0, within72h: 0 };
    const follow = DEFAULT_RATES.followUp;
    for (const s of discharged) {
      if (ms(s.d)! >= to - 14 * DAY || !follow.eligibleWardTypes.includes((typeOf.get(String(s.last_ward)) ?? 'unknown') as never) || follow.excludedDestinations.includes(String(s.discharge_destination ?? ''))) continue;
      fu.eligible += 1;
      if (s.followed_up_72h === true) fu.within72h += 1;
    }
    expect(fu).toEqual({ eligible: stats.followUp.eligible, within72h: stats.followUp.within72h });

    // Readmissions within 30 days (the simulator counts discharges 30 days before the end, not by death).
    const readmit = discharged.filter((s) => ms(s.d)! < to - 30 * DAY && s.discharge_destination !== '79');
    expect({ discharges: readmit.length, readmitted: readmit.filter((s) => s.readmitted_30d === true).length }).toEqual({ discharges: stats.readmission30d.discharges, readmitted: stats.readmission30d.readmitted });

    // CRFD periods started in the window by MHSDS reason (a reason change starts a new row, as it is a new crfd.started).
    const crfd = await w.rows('SELECT reason_code, count(*)::INTEGER AS n FROM crfd_periods WHERE started_at >= epoch_ms(?::BIGINT) AND started_at < epoch_ms(?::BIGINT) GROUP BY ALL', [from, to]);
    expect(Object.fromEntries(crfd.map((r) => [String(r.reason_code), num(r.n)]))).toEqual(stats.crfd.byReason);

    const refs = await w.rows('SELECT team_type, count(*)::INTEGER AS n FROM referrals WHERE received_at >= epoch_ms(?::BIGINT) AND received_at < epoch_ms(?::BIGINT) GROUP BY ALL', [from, to]);
    expect(Object.fromEntries(refs.map((r) => [String(r.team_type), num(r.n)]))).toEqual(stats.referrals.byTeamType);
    // Not an empty run: each family has something to compare.
    expect(Math.min(stats.admissions, stats.discharges, fu.eligible, stats.crfd.periods, stats.referrals.received)).toBeGreaterThan(10);
    expect(stats.readmission30d.discharges).toBeGreaterThan(0);
  });

  it('the measures count what the spells table holds: admissions and discharges by month over the window', async () => {
    const catalogue = loadCatalogue(join(root, 'config/measures.json'));
    const stats = flowStats(inputs, { trust: sim.trust, from: START, to: START + DAYS * DAY });
    const q = { period: 'month' as const, from: START, to: START + DAYS * DAY };
    const adm = await w.read((r) => measureSeries(r, catalogue, { ...q, measure: 'admissions' }));
    expect(adm.points.reduce((a, p) => a + p.numerator, 0)).toBe(stats.admissions);
    const byArea = await w.read((r) => measureSeries(r, catalogue, { ...q, measure: 'admissions', by: 'local_area' }));
    expect(byArea.points.reduce((a, p) => a + p.numerator, 0)).toBe(stats.admissions);
    const los = await w.read((r) => measureSeries(r, catalogue, { ...q, measure: 'los_median' }));
    expect(los.points.reduce((a, p) => a + (p.denominator ?? 0), 0)).toBe(stats.discharges);
  });
});
