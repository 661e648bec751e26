// The improvement loop: a change recorded as an improvement.noted event on the flow log
// (so it replays and survives rebuilds), kept in the warehouse's improvement_notes, and
// read back with its outcome so far on each measure it aims to move. The verdict is
// @pfm/spc's changeOutcome over the measure's weekly series in the note's scope (the
// note's ward when the measure has a ward cut, its team likewise, else its site).
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { improvementPatientId, type FlowEvent, type FlowEventOf } from '@pfm/contracts';
import { changeOutcome, isIsoDate, type ChangeVerdict } from '@pfm/spc';
import { IMPLEMENTED, measureSeries, nextPeriod, type Catalogue, type Measure, type PopulationRow, type Segment } from './measures';
import type { Row } from './rows';
import type { WarehouseReads } from './warehouse';

/** The period outcomes are read in. */
export const OUTCOME_PERIOD = 'week' as const;

export interface NoteOut {
  noteId: string; title: string; site: string; ward?: string; team?: string; effectiveDate: string; author: string;
  measures: string[]; expectedDirection: 'up' | 'down'; recordedAt: string;
  outcomes: { measure: string; verdict: ChangeVerdict; pointsSince: number; detail: string }[];
}

const CODE = /^[A-Za-z0-9_-]{1,32}$/;
const day = z.string().refine(isIsoDate, 'must be a date, YYYY-MM-DD');

/** What a client POSTs; every problem comes back with its field. */
export function noteInputSchema(catalogue: Catalogue) {
  // A note is read at its site (or ward, or team): measures without a site cut (rates per 100,000 by population segment) cannot be.
  const served = catalogue.measures.filter((m) => IMPLEMENTED.includes(m.id) && m.by.includes('site')).map((m) => m.id);
  return z.strictObject({
    noteId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, _ and -, at most 64').optional(),
    title: z.string().trim().min(3, 'at least 3 characters').max(200, 'at most 200 characters'),
    site: z.string().regex(/^[A-Za-z0-9_-]{1,16}$/, 'must be a site code'),
    ward: z.string().regex(CODE, 'must be a ward code').optional(),
    team: z.string().regex(CODE, 'must be a team code').optional(),
    effectiveDate: day,
    measures: z.array(z.string().refine((id) => served.includes(id), { message: `unknown measure (one of ${served.join(', ')})` }), { error: 'must be a list of measure ids' })
      .min(1, 'name at least one measure').max(20, 'at most 20 measures')
      .refine((ms) => new Set(ms).size === ms.length, 'a measure is named twice'),
    expectedDirection: z.enum(['up', 'down'], { error: 'must be up or down' }),
  });
}
export type NoteInput = z.infer<ReturnType<typeof noteInputSchema>>;

/** The event the API writes: author from the verified token, never from the body. */
export function noteEvent(input: NoteInput, author: string, now: number): FlowEventOf<'improvement.noted'> {
  const noteId = input.noteId ?? randomUUID();
  return {
    eventId: `improvement:${noteId}`, type: 'improvement.noted', occurredAt: Date.parse(`${input.effectiveDate}T00:00:00Z`), recordedAt: now,
    site: input.site, patientId: improvementPatientId(noteId), sourceSystem: 'pfm-insights', channel: 'ui',
    payload: {
      noteId, title: input.title, effectiveDate: input.effectiveDate, author: author.slice(0, 120), measures: input.measures, expectedDirection: input.expectedDirection,
      ...(input.ward ? { ward: input.ward } : {}), ...(input.team ? { team: input.team } : {}),
    },
  };
}

/** The improvement_notes row of a note event. */
export function noteRow(e: FlowEvent): Row {
  if (e.type !== 'improvement.noted') throw new TypeError(`not an improvement note: ${e.type}`);
  const p = e.payload;
  return {
    note_id: p.noteId, site: e.site, ward: p.ward ?? null, team: p.team ?? null, title: p.title, effective_date: p.effectiveDate,
    measures: p.measures.join(','), expected_direction: p.expectedDirection, author: p.author, recorded_at: e.recordedAt,
  };
}

/** Which cut of a measure the note is read in: its ward, its team, or its whole site. */
export function noteScope(m: Measure, note: { ward?: string; team?: string }): { by?: Segment; segment: string | null } {
  if (note.ward && m.by.includes('ward')) return { by: 'ward', segment: note.ward };
  if (note.team && m.by.includes('team')) return { by: 'team', segment: note.team };
  return { segment: null };
}

/**
 * The points an outcome is read from: complete weeks of the scope; weeks with no rows are
 * 0 for a count (no denominator) and left out otherwise; the week the change falls inside
 * (started before it, ends after it) belongs to neither side and is dropped.
 */
export function outcomePoints(points: { periodStart: string; segment: string | null; value: number | null; complete: boolean }[], segment: string | null, countMeasure: boolean, effectiveDate: string): { date: string; value: number }[] {
  const mine = points.filter((p) => p.segment === segment && p.complete);
  const byDate = new Map(mine.filter((p) => p.value !== null).map((p) => [p.periodStart, p.value!]));
  let dates = [...byDate.keys()].sort();
  if (countMeasure) {
    // Every week of the scope's span of complete weeks (the span of the whole query, so a ward with no delays at all still has weeks).
    const all = points.filter((p) => p.complete).map((p) => p.periodStart).sort();
    dates = [];
    if (all.length) for (let t = Date.parse(`${all[0]}T00:00:00Z`); t <= Date.parse(`${all[all.length - 1]}T00:00:00Z`); t = nextPeriod(new Date(t).toISOString().slice(0, 10), OUTCOME_PERIOD)) dates.push(new Date(t).toISOString().slice(0, 10));
  }
  const change = Date.parse(`${effectiveDate}T00:00:00Z`);
  return dates
    .filter((d) => !(Date.parse(`${d}T00:00:00Z`) < change && nextPeriod(d, OUTCOME_PERIOD) > change))
    .map((date) => ({ date, value: byDate.get(date) ?? 0 }));
}

/**
 * Where a site's log covers its flow: the first whole week from its first discharge. A
 * feed that starts mid-stream (go-live, or the simulator's history window) sends the
 * patients already in beds with their real admission times, so the weeks before it hold
 * only those patients: a baseline read from them would be too low.
 */
export async function coverageFrom(r: WarehouseReads, site: string): Promise<number | undefined> {
  const [row] = await r.rows('SELECT min(discharged_at) AS first FROM spells WHERE site = ?', [site]);
  if (!(row?.first instanceof Date)) return undefined;
  const first = row.first.getTime();
  const day = new Date(Math.ceil(first / 86_400_000) * 86_400_000);
  day.setUTCDate(day.getUTCDate() + ((8 - day.getUTCDay()) % 7)); // the Monday on or after
  return day.getTime();
}

const iso = (d: unknown): string => (d instanceof Date ? d.toISOString().slice(0, 10) : String(d).slice(0, 10));

/** The notes of some sites (optionally those aiming at one measure), newest change first, each with its outcomes. */
export async function readNotes(r: WarehouseReads, catalogue: Catalogue, population: PopulationRow[], q: { sites: readonly string[]; wards?: readonly string[]; measure?: string }): Promise<NoteOut[]> {
  if (!q.sites.length || q.wards?.length === 0) return [];
  const params: string[] = [...q.sites];
  let where = `site IN (${q.sites.map(() => '?').join(', ')})`;
  if (q.wards) { where += ` AND ward IN (${q.wards.map(() => '?').join(', ')})`; params.push(...q.wards); }
  if (q.measure) { where += " AND list_contains(string_split(measures, ','), ?)"; params.push(q.measure); }
  const rows = await r.rows(`SELECT note_id, site, ward, team, title, effective_date, measures, expected_direction, author, recorded_at FROM improvement_notes WHERE ${where} ORDER BY effective_date DESC, recorded_at DESC, note_id`, params);
  // One series per measure, site and cut, shared by the notes that need it.
  const series = new Map<string, Promise<Awaited<ReturnType<typeof measureSeries>>>>();
  const covered = new Map<string, Promise<number | undefined>>();
  const seriesFor = (measure: string, site: string, by?: Segment) => {
    const k = `${measure}|${site}|${by ?? ''}`;
    if (!covered.has(site)) covered.set(site, coverageFrom(r, site));
    if (!series.has(k)) series.set(k, covered.get(site)!.then((from) => measureSeries(r, catalogue, { measure, period: OUTCOME_PERIOD, site, by, from }, population)));
    return series.get(k)!;
  };
  const out: NoteOut[] = [];
  for (const row of rows) {
    const note = {
      noteId: String(row.note_id), title: String(row.title), site: String(row.site),
      ...(row.ward !== null ? { ward: String(row.ward) } : {}), ...(row.team !== null ? { team: String(row.team) } : {}),
      effectiveDate: iso(row.effective_date), author: String(row.author), measures: String(row.measures).split(',').filter(Boolean),
      expectedDirection: String(row.expected_direction) as 'up' | 'down', recordedAt: (row.recorded_at as Date).toISOString(),
    };
    const outcomes: NoteOut['outcomes'] = [];
    for (const id of note.measures) {
      const m = catalogue.measures.find((x) => x.id === id);
      if (!m || !IMPLEMENTED.includes(id)) { outcomes.push({ measure: id, verdict: 'too-early', pointsSince: 0, detail: 'the measure is no longer in the catalogue' }); continue; }
      const scope = noteScope(m, note);
      const s = await seriesFor(id, note.site, scope.by);
      const pts = outcomePoints(s.points, scope.segment, m.denominator === null, note.effectiveDate);
      const o = changeOutcome(pts, { since: note.effectiveDate, expected: note.expectedDirection });
      const where = scope.by ? `${scope.by} ${scope.segment}` : `site ${note.site}`;
      outcomes.push({ measure: id, verdict: o.verdict, pointsSince: o.pointsSince, detail: `${where}, weekly: ${o.detail}` });
    }
    out.push({ ...note, outcomes });
  }
  return out;
}
