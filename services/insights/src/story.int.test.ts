/** @pfm-stack none */
// The simulator's planted change, read the way the product reads it: 120 days of the
// synthetic trust (fixed seed) folded into a warehouse with the insights rules, the
// change recorded as an improvement note, and the note's outcome from the weekly CRFD
// bed days of its ward. The coordinator's ward shows special-cause improvement; the
// control ward (comparable, no change) shows no special cause at all. DuckDB in memory,
// no stack: the generator and the warehouse's own measure maths. Weekly delayed bed days
// of one 20-bed ward are lumpy (a delay lasts weeks): with this seed, of the other three
// adult acute wards one shows a chance improvement and one a concern, which is why the
// control is a named ward and the seed is fixed.
import { join } from 'node:path';
import { flowEventSchema, type FlowEvent } from '@pfm/contracts';
import { DEFAULT_THRESHOLDS, emptyPatient, evolve, type PatientState } from '@pfm/flow-domain';
import { changeOutcome, spc } from '@pfm/spc';
import { createSimulation, defaultTrust, wardsOf } from '@pfm/simulator';
import { coverageFrom, noteEvent, noteRow, outcomePoints, readNotes } from './improvements';
import { loadCatalogue, loadPopulation, measureSeries } from './measures';
import { LocalAreas, Pseudonymiser } from './pseudonym';
import { patientRows, type RowContext } from './rows';
import { Warehouse } from './warehouse';

const root = join(__dirname, '..', '..', '..');
const SEED = 42;
const START = Date.UTC(2026, 5, 1);
const DAYS = 120;

describe('the simulator\'s planted change, through the warehouse and SPC', () => {
  const sim = createSimulation({ seed: SEED, start: START, historyDays: DAYS, burnInDays: 200 });
  const story = sim.story!;
  const catalogue = loadCatalogue(join(root, 'config', 'measures.json'));
  const population = loadPopulation(join(root, 'config', 'population.csv'));
  const wards = wardsOf(defaultTrust);
  const ctx: RowContext = {
    thresholds: DEFAULT_THRESHOLDS, wardType: (_site, ward) => wards.find((w) => w.code === ward)?.type ?? 'unknown',
    pseudo: new Pseudonymiser('s'.repeat(40)), areas: LocalAreas.fromFile(join(root, 'config', 'local-areas.csv'), 'locality'),
  };
  let w: Warehouse;

  beforeAll(async () => {
    const states = new Map<string, PatientState>();
    for (const input of sim.history(DAYS)) {
      const e = flowEventSchema.parse({ ...input, recordedAt: input.recordedAt ?? input.occurredAt, channel: input.channel ?? 'simulator' }) as FlowEvent;
      states.set(e.patientId, evolve(states.get(e.patientId) ?? emptyPatient(e.site, e.patientId), e, e.recordedAt).state);
    }
    w = await Warehouse.open(':memory:', { thresholds: DEFAULT_THRESHOLDS, wards });
    const records = [...states].map(([id, state]) => ({ recordKey: ctx.pseudo.recordKey('RXT', id), state, rows: patientRows(state, ctx) }));
    const note = noteRow(noteEvent(story.note, 'simulator', START));
    await w.commit({ records, alerts: [], offsets: [], watermark: START, notes: [note] });
  }, 300_000);
  afterAll(() => w?.close());

  it('plants the coordinator 60 days before the start, on a ward with a comparable control', () => {
    expect(story).toMatchObject({ ward: 'RV-CEDAR', controlWard: 'RV-DOVE', from: START - 60 * 86_400_000, note: { effectiveDate: '2026-04-02', measures: ['crfd_bed_days'], expectedDirection: 'down' } });
    const type = (code: string) => wards.find((x) => x.code === code)!.type;
    expect(type(story.ward)).toBe(type(story.controlWard));
  });

  it('the note on the coordinator\'s ward reads as special-cause improvement', async () => {
    const [n] = await w.read((r) => readNotes(r, catalogue, population, { sites: ['RXT'] }));
    expect(n).toMatchObject({ noteId: story.note.noteId, ward: 'RV-CEDAR', effectiveDate: '2026-04-02' });
    expect(n!.outcomes).toEqual([{ measure: 'crfd_bed_days', verdict: 'improvement', pointsSince: 8, detail: expect.stringMatching(/^ward RV-CEDAR, weekly: \d+ of 8 points since the change are special cause in the expected direction \(down\)/) }]);
  });

  it('the control ward shows no special cause: none since the same date, none anywhere in its chart', async () => {
    // The weeks the log covers (from its first discharge), as the note's outcome reads them.
    const from = await w.read((r) => coverageFrom(r, 'RXT'));
    expect(new Date(from!).toISOString().slice(0, 10)).toBe('2026-02-02');
    const s = await w.read((r) => measureSeries(r, catalogue, { measure: 'crfd_bed_days', period: 'week', site: 'RXT', by: 'ward', from }, population));
    const control = outcomePoints(s.points, story.controlWard, true, story.note.effectiveDate);
    expect(changeOutcome(control, { since: story.note.effectiveDate, expected: 'down' })).toMatchObject({ verdict: 'no-signal', pointsSince: 8 });
    const chart = spc(control, { improvement: 'decrease' });
    expect(chart.points.length).toBeGreaterThanOrEqual(15);
    expect(chart.points.filter((p) => p.pointType !== 'common_cause')).toEqual([]);
    // The coordinator's ward charted the same way (one set of limits over all its weeks):
    // every week since the change is special-cause improvement.
    const treated = spc(outcomePoints(s.points, story.ward, true, story.note.effectiveDate), { improvement: 'decrease' });
    const since = treated.points.filter((p) => p.date >= story.note.effectiveDate);
    expect(since.map((p) => p.pointType)).toEqual(Array(8).fill('special_cause_improvement'));
  });
});
