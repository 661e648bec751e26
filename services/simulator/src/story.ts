// The story the synthetic trust tells, so the Insights views have something worth
// learning from (all figures invented, shaped like the national pattern):
// - Local areas differ in population, deprivation, need and ethnic mix (the same figures
//   as config/local-areas.csv and config/population.csv, checked by story.test.ts): the
//   most deprived area (CITY) sends more patients per head and has the most housing
//   delays, which hold patients longer.
// - Black and Black British people are admitted more often per head and, once admitted,
//   are more often detained (rates.admission.detentionUplift): the national pattern of
//   Mental Health Act detention rates several times those of White people.
// - A planted change: a discharge coordinator on one ward from 60 days before the
//   simulation's start shortens its clinically-ready-for-discharge delays; a comparable
//   ward has none (the control). The demo records it as an improvement note.
import type { Weighted } from './rng';

export const ETHNIC_GROUPS = ['White', 'Mixed', 'Asian or Asian British', 'Black or Black British', 'Other', 'Not stated'] as const;
export type EthnicGroup = (typeof ETHNIC_GROUPS)[number];

/** NHS Data Dictionary ETHNIC CATEGORY codes within each top-level group (illustrative mix within the group). */
export const ETHNIC_CODES: Record<EthnicGroup, Weighted<string>> = {
  White: [['A', 66], ['B', 1], ['C', 5]],
  Mixed: [['D', 1], ['E', 0.5], ['F', 1], ['G', 1]],
  'Asian or Asian British': [['H', 3], ['J', 3], ['K', 1], ['L', 2]],
  'Black or Black British': [['M', 3], ['N', 4], ['P', 1.5]],
  Other: [['R', 0.5], ['S', 2]],
  'Not stated': [['Z', 1]],
};

/** The top-level group of an ethnic category code. */
export function ethnicGroupOf(code: string): EthnicGroup {
  for (const g of ETHNIC_GROUPS) if (ETHNIC_CODES[g].some(([c]) => c === code)) return g;
  return 'Not stated';
}

export interface AreaProfile {
  code: string;
  name: string;
  /** Adults (18+), the denominator of rates per 100,000 (config/population.csv). */
  population: number;
  /** 1 = most deprived (config/local-areas.csv). */
  deprivationQuintile: number;
  /** Referrals and admissions per head, relative (deprivation raises need). */
  need: number;
  /** Adult population by ethnic group, % (config/population.csv). */
  ethnicMix: Record<EthnicGroup, number>;
  /**
   * Housing delays: multiplies the weight of the housing CRFD reasons, and above 1 also how
   * long they hold the patient (the trust-wide mix stays near the national ~1 in 5 delays).
   */
  housingDelay: number;
}

const SUBURBAN_MIX: Record<EthnicGroup, number> = { White: 78, Mixed: 3, 'Asian or Asian British': 9, 'Black or Black British': 6, Other: 2, 'Not stated': 2 };

export const AREA_PROFILES: readonly AreaProfile[] = [
  { code: 'NORTH', name: 'North', population: 120_000, deprivationQuintile: 2, need: 1.1, ethnicMix: SUBURBAN_MIX, housingDelay: 0.7 },
  { code: 'SOUTH', name: 'South', population: 150_000, deprivationQuintile: 4, need: 0.75, ethnicMix: SUBURBAN_MIX, housingDelay: 0.4 },
  {
    code: 'CITY', name: 'City', population: 210_000, deprivationQuintile: 1, need: 1.5,
    ethnicMix: { White: 62, Mixed: 5, 'Asian or Asian British': 15, 'Black or Black British': 13, Other: 3, 'Not stated': 2 }, housingDelay: 1.4,
  },
];

/** How much more often a group's members become patients than their share of the population says (per head). */
export const ETHNIC_NEED: Partial<Record<EthnicGroup, number>> = { 'Black or Black British': 2 };

/** Where a new patient lives: areas weighted by population x need. */
export function areaWeights(profiles: readonly AreaProfile[]): Weighted<string> {
  return profiles.map((a) => [a.code, a.population * a.need] as const);
}

/** A new patient's ethnic category in an area: population mix x ETHNIC_NEED, then a code within the group. */
export function ethnicGroupWeights(profile: AreaProfile): Weighted<EthnicGroup> {
  return ETHNIC_GROUPS.map((g) => [g, profile.ethnicMix[g] * (ETHNIC_NEED[g] ?? 1)] as const);
}

/** The planted change (a discharge coordinator) and its control ward. */
export interface StoryOptions {
  /** The ward that gets the coordinator. */
  ward: string;
  /** A comparable ward that does not (the test's control). */
  controlWard: string;
  /** The change starts at the UTC midnight this many days before the simulation's start. */
  daysBeforeStart: number;
  /** Remaining CRFD delay (time to discharge) on the ward is cut to this share. */
  delayFactor: number;
}

export const DEFAULT_STORY: StoryOptions = { ward: 'RV-CEDAR', controlWard: 'RV-DOVE', daysBeforeStart: 60, delayFactor: 0.2 };

/** The improvement note the change is recorded as (the body of POST /api/v1/insights/improvements). */
export interface StoryNote {
  noteId: string;
  title: string;
  site: string;
  ward: string;
  effectiveDate: string;
  measures: string[];
  expectedDirection: 'up' | 'down';
}

export interface PlantedChange {
  ward: string;
  controlWard: string;
  /** Epoch ms the coordinator starts. */
  from: number;
  delayFactor: number;
  note: StoryNote;
}

const DAY_MS = 86_400_000;

export function plantedChange(site: string, start: number, o: StoryOptions): PlantedChange {
  const from = Math.floor((start - o.daysBeforeStart * DAY_MS) / DAY_MS) * DAY_MS;
  const effectiveDate = new Date(from).toISOString().slice(0, 10);
  return {
    ward: o.ward, controlWard: o.controlWard, from, delayFactor: o.delayFactor,
    note: {
      noteId: `sim-${site}-${o.ward}-coordinator-${effectiveDate}`.slice(0, 64), site, ward: o.ward, effectiveDate,
      title: `Discharge coordinator on ${o.ward}: daily review of every patient ready for discharge`,
      measures: ['crfd_bed_days'], expectedDirection: 'down',
    },
  };
}
