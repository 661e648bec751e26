// The measures catalogue (config/measures.json) and the series query: one measure by
// period (ISO week or month) and by segment, with numerator and denominator, straight
// from the warehouse. The SPC package takes the values of each segment's points
// (`spcInput` below is the seam); this module does no SPC itself.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { WarehouseReads } from './warehouse';
import type { LocalAreas } from './pseudonym';
import { CRFD_GROUP_LABELS, CRFD_V6_CODES } from '@pfm/contracts';

export const SEGMENTS = ['site', 'ward', 'ward_type', 'local_area', 'age_band', 'sex', 'ethnic_group', 'deprivation_quintile', 'legal_status', 'crfd_reason', 'crfd_reason_group', 'team'] as const;
export type Segment = (typeof SEGMENTS)[number];

const measureSchema = z.strictObject({
  id: z.string().regex(/^[a-z0-9_]+$/), name: z.string(), definition: z.string(), numerator: z.string(), denominator: z.string().nullable(),
  unit: z.string(), direction: z.enum(['increase', 'decrease', 'neutral']), target: z.number().optional(), source: z.string(), by: z.array(z.enum(SEGMENTS)),
});
export type Measure = z.infer<typeof measureSchema>;
const catalogueSchema = z.strictObject({ version: z.literal(1), about: z.string(), measures: z.array(measureSchema) });
export type Catalogue = z.infer<typeof catalogueSchema>;

export function parseCatalogue(text: string, file = 'measures.json'): Catalogue {
  const r = catalogueSchema.safeParse(JSON.parse(text));
  if (!r.success) throw new Error(`${file} is invalid:\n${r.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`).join('\n')}`);
  return r.data;
}
export const loadCatalogue = (path: string): Catalogue => parseCatalogue(readFileSync(path, 'utf8'), path);

/** Population by segment (config/population.csv): local_area,age_band,sex,ethnic_group,population; deprivation_quintile joined from config/local-areas.csv (withDeprivation). */
export interface PopulationRow { local_area: string; age_band: string; sex: string; ethnic_group: string; population: number; deprivation_quintile?: string }
export function parsePopulation(text: string, file = 'population.csv'): PopulationRow[] {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() && !l.startsWith('#'));
  const header = lines.shift()?.split(',').map((h) => h.trim()) ?? [];
  const need = ['local_area', 'age_band', 'sex', 'ethnic_group', 'population'];
  if (need.some((h) => !header.includes(h))) throw new Error(`${file}: header must have ${need.join(',')}`);
  return lines.map((l, i) => {
    const cells = l.split(',').map((x) => x.trim());
    const get = (h: string) => cells[header.indexOf(h)] ?? '';
    const population = Number(get('population'));
    if (!Number.isFinite(population) || population < 0) throw new Error(`${file} line ${i + 2}: population must be a number >= 0, got "${get('population')}"`);
    return { local_area: get('local_area'), age_band: get('age_band'), sex: get('sex'), ethnic_group: get('ethnic_group'), population };
  });
}

/**
 * Each population row with its local area's deprivation quintile, so rates per 100,000 can be cut
 * by quintile. A row whose area has no quintile (or, at locality level, covers areas of more than
 * one quintile) gets none and counts in no quintile's denominator.
 */
export function withDeprivation(rows: readonly PopulationRow[], areas: LocalAreas): PopulationRow[] {
  return rows.map((r) => {
    const q = areas.quintileOf(r.local_area);
    return q === undefined ? { ...r } : { ...r, deprivation_quintile: String(q) };
  });
}

/** The population file, with deprivation quintiles from the local areas when given. */
export const loadPopulation = (path: string, areas?: LocalAreas): PopulationRow[] => {
  const rows = parsePopulation(readFileSync(path, 'utf8'), path);
  return areas ? withDeprivation(rows, areas) : rows;
};

/**
 * The v6 reason group of a census day's CRFD reason, as NHS England's acute inpatient
 * dashboard groups MHS518 codes (Community, Social care/local authority, Hospital, Housing,
 * Not known; list and source in @pfm/contracts crfd-reasons.ts). A v5 code from history has
 * no group in the sources: 'MHSDS v5 (no group)'. Not CRFD that day: null.
 */
const CRFD_REASON_GROUP = `CASE WHEN d.crfd_reason IS NULL THEN NULL ${CRFD_V6_CODES.map((c) => `WHEN d.crfd_reason = '${c.code}' THEN '${CRFD_GROUP_LABELS[c.group!]}'`).join(' ')} WHEN regexp_matches(d.crfd_reason, '^[A-Z][0-9]{1,2}$') THEN 'MHSDS v5 (no group)' ELSE 'Not known' END`;

const DETAINED = "(legal_status_at_admission IS NOT NULL AND legal_status_at_admission NOT IN ('01', '98', '99'))";
const DEMOGRAPHICS = "s.local_area, s.age_band, s.sex, s.ethnic_group, s.deprivation_quintile, CASE WHEN s.legal_status_at_admission IS NULL OR s.legal_status_at_admission IN ('98', '99') THEN 'not known' WHEN s.legal_status_at_admission = '01' THEN 'informal' ELSE 'detained' END AS legal_status";

/** Rows each family of measures counts, with `t` the instant that places a row in a period. */
const BASES = {
  admitted: `SELECT s.site, s.first_ward AS ward, s.first_ward_type AS ward_type, ${DEMOGRAPHICS}, s.admitted_at AS t, ${DETAINED} AS detained, s.los_days, NULL AS crfd_reason, NULL AS crfd_reason_group, NULL AS team FROM spells s`,
  discharged: `SELECT s.site, s.last_ward AS ward, s.last_ward_type AS ward_type, ${DEMOGRAPHICS}, s.discharged_at AS t, s.los_days, s.readmitted_30d, s.followup_eligible, s.followed_up_72h, NULL AS crfd_reason, NULL AS crfd_reason_group, NULL AS team FROM spells s WHERE s.discharged_at IS NOT NULL`,
  bed_days: `SELECT d.site, d.ward, d.ward_type, ${DEMOGRAPHICS}, d.census_date::TIMESTAMP AS t, d.crfd_reason, ${CRFD_REASON_GROUP} AS crfd_reason_group, d.oap, d.stranded, d.super_stranded, d.long_stay, NULL AS team FROM census_patient_days d JOIN spells s ON s.site = d.site AND s.spell_id = d.spell_id`,
  referrals: "SELECT r.site, r.team, r.local_area, r.received_at AS t, r.urgency, r.team_type, r.within_4h, r.within_24h FROM referrals r",
  census: 'SELECT c.site, c.ward, c.ward_type, c.census_date::TIMESTAMP AS t, c.occupied_incl_leave, c.beds FROM daily_ward_census c',
} as const;

interface Impl { base: keyof typeof BASES; where?: string; num: string; den?: string; kind: 'count' | 'percent' | 'value' | 'rate100k' }
const IMPL: Record<string, Impl> = {
  admissions: { base: 'admitted', num: 'count(*)', kind: 'count' },
  admissions_per_100k: { base: 'admitted', num: 'count(*)', kind: 'rate100k' },
  occupied_bed_days: { base: 'bed_days', num: 'count(*)', kind: 'count' },
  los_median: { base: 'discharged', num: 'quantile_cont(los_days, 0.5)', den: 'count(*)', kind: 'value' },
  los_p90: { base: 'discharged', num: 'quantile_cont(los_days, 0.9)', den: 'count(*)', kind: 'value' },
  stranded_bed_day_share: { base: 'bed_days', num: 'count(*) FILTER (WHERE stranded)', den: 'count(*)', kind: 'percent' },
  super_stranded_bed_day_share: { base: 'bed_days', num: 'count(*) FILTER (WHERE super_stranded)', den: 'count(*)', kind: 'percent' },
  long_stay_bed_day_share: { base: 'bed_days', num: 'count(*) FILTER (WHERE long_stay)', den: 'count(*)', kind: 'percent' },
  long_stay_bed_days: { base: 'bed_days', where: 'long_stay', num: 'count(*)', kind: 'count' },
  crfd_bed_days: { base: 'bed_days', where: 'crfd_reason IS NOT NULL', num: 'count(*)', kind: 'count' },
  oap_bed_days: { base: 'bed_days', where: 'oap', num: 'count(*)', kind: 'count' },
  readmission_30d: { base: 'discharged', num: 'count(*) FILTER (WHERE readmitted_30d)', den: 'count(*)', kind: 'percent' },
  followup_72h: { base: 'discharged', where: 'followup_eligible', num: 'count(*) FILTER (WHERE followed_up_72h)', den: 'count(*)', kind: 'percent' },
  crisis_response_4h: { base: 'referrals', where: "team_type = 'crisis' AND urgency = 'very_urgent'", num: 'count(*) FILTER (WHERE within_4h)', den: 'count(*)', kind: 'percent' },
  crisis_response_24h: { base: 'referrals', where: "team_type = 'crisis' AND urgency = 'urgent'", num: 'count(*) FILTER (WHERE within_24h)', den: 'count(*)', kind: 'percent' },
  detained_admission_share: { base: 'admitted', num: 'count(*) FILTER (WHERE detained)', den: 'count(*)', kind: 'percent' },
  occupancy_incl_leave: { base: 'census', num: 'sum(occupied_incl_leave)', den: 'sum(beds)', kind: 'percent' },
};
export const IMPLEMENTED = Object.keys(IMPL);

/** How a measure's value is made: a count, a percentage of its denominator, a statistic (median, percentile) or a rate per 100,000. */
export type MeasureKind = Impl['kind'];
export const measureKind = (id: string): MeasureKind | undefined => IMPL[id]?.kind;
/** Whether a measure's rows have a ward (referrals to teams do not): a ward's reader sees only measures that do. */
export const hasWard = (id: string): boolean => IMPL[id] !== undefined && IMPL[id].base !== 'referrals';

export interface SeriesQuery {
  measure: string; period: 'week' | 'month'; by?: Segment; site?: string;
  /** Only these sites (a reader's scope); an empty list matches nothing. */
  sites?: readonly string[];
  /** Only these wards (a ward reader's scope); an empty list matches nothing. */
  wards?: readonly string[];
  /** One ward, or one ward type (the view's scope). */
  ward?: string; wardType?: string;
  from?: number; to?: number;
}
/** Materialised copies of the computed views to read instead (many queries in a row, e.g. an export). */
export interface ViewSources { census_patient_days?: string; daily_ward_census?: string }
export interface SeriesPoint { periodStart: string; segment: string | null; numerator: number; denominator: number | null; value: number | null; complete: boolean }
export interface Series { measure: Measure; period: 'week' | 'month'; by: Segment | null; points: SeriesPoint[] }

export class QueryError extends Error {
  constructor(readonly field: string, message: string) { super(`${field}: ${message}`); }
}

const iso = (d: unknown): string => (d instanceof Date ? d.toISOString().slice(0, 10) : String(d).slice(0, 10));

/** One measure by period and segment. Bad input throws a QueryError naming the field. */
export async function measureSeries(w: WarehouseReads, catalogue: Catalogue, q: SeriesQuery, population: PopulationRow[] = [], sources: ViewSources = {}): Promise<Series> {
  const measure = catalogue.measures.find((m) => m.id === q.measure);
  if (!measure) throw new QueryError('measure', `unknown measure "${q.measure}" (one of ${catalogue.measures.map((m) => m.id).join(', ')})`);
  const impl = IMPL[measure.id];
  if (!impl) throw new QueryError('measure', `measure "${measure.id}" has no implementation`);
  if (q.period !== 'week' && q.period !== 'month') throw new QueryError('period', 'must be week or month');
  if (q.by !== undefined && !measure.by.includes(q.by)) throw new QueryError('by', `"${String(q.by)}" is not a segment of ${measure.id} (one of ${measure.by.join(', ')})`);
  if (impl.kind === 'rate100k' && !q.by) throw new QueryError('by', `${measure.id} needs a population segment (${measure.by.join(', ')})`);
  const segment = q.by ? `CAST(${q.by} AS VARCHAR)` : 'NULL';
  const params: (string | number)[] = [];
  const where: string[] = [];
  if (impl.where) where.push(impl.where);
  if (q.site) { where.push('site = ?'); params.push(q.site); }
  if (q.sites) { where.push(q.sites.length ? `site IN (${q.sites.map(() => '?').join(', ')})` : 'false'); params.push(...q.sites); }
  const byWard = q.wards !== undefined || q.ward !== undefined || q.wardType !== undefined;
  if (byWard && impl.base === 'referrals') throw new QueryError(q.wardType !== undefined && q.ward === undefined ? 'wardType' : 'ward', `${measure.id} is counted by team, not by ward`);
  if (q.wards) { where.push(q.wards.length ? `ward IN (${q.wards.map(() => '?').join(', ')})` : 'false'); params.push(...q.wards); }
  if (q.ward !== undefined) { where.push('ward = ?'); params.push(q.ward); }
  if (q.wardType !== undefined) { where.push('ward_type = ?'); params.push(q.wardType); }
  if (q.from !== undefined) { where.push('t >= epoch_ms(?::BIGINT)'); params.push(q.from); }
  if (q.to !== undefined) { where.push('t < epoch_ms(?::BIGINT)'); params.push(q.to); }
  const sql = `SELECT date_trunc('${q.period}', t)::DATE AS period_start, ${segment} AS segment, (${impl.num})::DOUBLE AS numerator, ${impl.den ? `(${impl.den})::DOUBLE` : 'NULL'} AS denominator
    FROM (${BASES[impl.base].replace(/\b(census_patient_days|daily_ward_census)\b/g, (v) => sources[v as keyof ViewSources] ?? v)}) b ${where.length ? `WHERE ${where.join(' AND ')}` : ''} GROUP BY ALL ORDER BY period_start, segment NULLS FIRST`;
  const rows = await w.rows(sql, params);
  const watermark = await w.watermark();
  const popBy = new Map<string, number>();
  if (impl.kind === 'rate100k' && q.by) {
    for (const p of population) {
      const k = p[q.by as keyof PopulationRow];
      if (k === undefined || k === '') continue;
      popBy.set(String(k), (popBy.get(String(k)) ?? 0) + p.population);
    }
  }
  const points = rows.map((r): SeriesPoint => {
    const periodStart = iso(r.period_start);
    const numerator = Number(r.numerator);
    const seg = r.segment === null ? null : String(r.segment);
    let denominator = r.denominator === null ? null : Number(r.denominator);
    let value: number | null;
    if (impl.kind === 'rate100k') {
      denominator = seg === null ? null : popBy.get(seg) ?? null;
      value = denominator ? (numerator / denominator) * 100_000 : null;
    } else if (impl.kind === 'percent') value = denominator ? (numerator / denominator) * 100 : null;
    else value = r.numerator === null ? null : numerator;
    const end = nextPeriod(periodStart, q.period);
    return { periodStart, segment: seg, numerator, denominator, value, complete: watermark !== undefined && end <= watermark };
  });
  return { measure, period: q.period, by: q.by ?? null, points };
}

/** The first instant after the period that starts on `start` (YYYY-MM-DD, UTC). */
export function nextPeriod(start: string, period: 'week' | 'month'): number {
  const d = new Date(`${start}T00:00:00Z`);
  if (period === 'week') d.setUTCDate(d.getUTCDate() + 7);
  else d.setUTCMonth(d.getUTCMonth() + 1);
  return d.getTime();
}

/**
 * The seam to SPC (packages/spc, built separately): each segment's complete points as
 * {date, value}, in date order, which is what an XmR chart takes.
 */
export function spcInput(s: Series): { group: string | null; points: { date: string; value: number }[] }[] {
  const groups = new Map<string | null, { date: string; value: number }[]>();
  for (const p of s.points) {
    if (!p.complete || p.value === null) continue;
    if (!groups.has(p.segment)) groups.set(p.segment, []);
    groups.get(p.segment)!.push({ date: p.periodStart, value: p.value });
  }
  return [...groups].map(([group, points]) => ({ group, points }));
}
