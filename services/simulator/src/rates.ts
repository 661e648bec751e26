// Every number the model draws from, in one place, each with where it comes from.
// "domain.md" figures are the product's sourced facts; the rest are illustrative
// defaults marked (illustrative) - plausible, documented in README.md, and overridable
// through createSimulation({ rates }).
import type { Ward, WardType } from '@pfm/contracts';
import type { Lognormal, Weighted } from './rng';
import type { TeamType } from './trust';

export type Urgency = 'emergency' | 'very_urgent' | 'urgent' | 'routine';
/** Ward types the model admits to (the registry may hold others; they are left empty). */
export const MODEL_WARD_TYPES = ['adult_acute', 'older_adult_acute', 'picu', 'rehab'] as const;
export type ModelWardType = (typeof MODEL_WARD_TYPES)[number];
export const isModelWardType = (t: WardType): t is ModelWardType => (MODEL_WARD_TYPES as readonly string[]).includes(t);

/** MHSDS v6 MHS518 reason-code groups used in reporting (domain.md). */
export const CRFD_GROUPS: Record<string, string> = {
  '14': 'housing', '15': 'housing', '16': 'housing', '17': 'housing', '18': 'housing', '19': 'housing', '32': 'housing',
  '07': 'care_home', '08': 'care_home',
};
export const crfdGroupOf = (code: string): string => CRFD_GROUPS[code] ?? code;

export interface Rates {
  /**
   * Offered demand per ward type: admission-bound referrals in bed-days as a share of
   * bed-days, before gatekeeping. Above 1 for the acute types, so with gatekeeping and
   * bed-meeting discharges occupancy sits in the 90s with some spill-over into
   * out-of-area placements (domain.md: adult acute occupancy 94%, NHS Benchmarking 2016;
   * RCPsych ceiling 85%).
   */
  load: Record<ModelWardType, number>;
  /** Total length of a spell that starts on a ward of this type, days (lognormal); for PICU the PICU stay. */
  los: Record<ModelWardType, Lognormal>;
  /** Shortest spell, hours (a lognormal draw below it is raised to it). */
  minLosHours: number;
  picu: {
    /** Share of adult acute spells escalated to PICU part-way (illustrative). */
    escalationProb: number;
    /** Share of direct PICU admissions stepped down to adult acute, not discharged from PICU (illustrative). */
    stepDownProb: number;
    /** Adult acute stay after step-down, days (illustrative). */
    afterStepDown: Lognormal;
  };
  referrals: {
    /** Referrals that do not lead to admission, per day per 100 local beds (illustrative). */
    perDayPer100Beds: Record<'crisis' | 'liaison' | 'community', number>;
    /** Where admissions come from (illustrative; domain.md: A&E waits, crisis pathway). */
    admissionSource: Weighted<'crisis' | 'liaison'>;
    /** Urgency mix of referrals that do not lead to admission, per team type (illustrative). */
    urgency: Record<'crisis' | 'liaison' | 'community' | 'home_treatment', Weighted<Urgency>>;
    /** Urgency mix of referrals that end in admission (sicker, so more urgent; illustrative). */
    admissionUrgency: Record<'crisis' | 'liaison', Weighted<Urgency>>;
    /** Share of referrals about a person aged 65+ (illustrative). */
    olderShare: number;
    /** Time to assessment: lognormal with median = fraction x target (see responseTargetHours). */
    response: { medianFraction: number; sigma: number };
    /** Outcome of crisis / liaison referrals not admitted (illustrative). */
    outcomes: Record<'crisis' | 'liaison' | 'community', Weighted<'home_treatment' | 'accepted' | 'closed'>>;
    /** How long an accepted referral stays open (caseload / home treatment episode), days. */
    episodeDays: Lognormal;
    /** Share of referrals not leading to admission that are about someone seen before in the run (illustrative). */
    knownPatientShare: number;
    /**
     * Share of acute admissions that are readmissions of someone discharged in the last 30 days
     * (illustrative; the NHS Digital 30-day readmission indicator, figure not in domain.md).
     */
    readmissionShare: number;
  };
  admission: {
    /** Decision to admit after assessment, hours. */
    decisionHours: Lognormal;
    /** Bed found -> patient on the ward (transport, clerking), hours. */
    arrivalHours: Lognormal;
    /** Longest wait for a local bed before an out-of-area placement, hours [min, max] uniform (illustrative). */
    maxWaitHours: Record<ModelWardType, [number, number]>;
    /** Distance of an out-of-area placement from home, km [min, max] uniform (brief: 30-200). */
    oapDistanceKm: [number, number];
    /**
     * Crisis teams gatekeep acute beds: above `from` occupancy, an admission-bound referral is
     * offered home treatment instead with rising probability, down to minAdmitProb when full
     * (illustrative; keeps occupancy in the 90s as in domain.md without runaway queues).
     */
    gatekeeping: { wardTypes: ModelWardType[]; from: number; to: number; minAdmitProb: number };
    /** With someone waiting, a discharge due within this many days is brought forward (bed meeting). */
    expediteWithinDays: number;
    /** How often an out-of-area patient is offered a freed local bed (repatriation). */
    repatriateProb: number;
    /** Legal status at admission: MHSDS Mental Health Act legal status code (01 informal, 02 s2, 03 s3; illustrative mix). */
    legalStatus: Record<ModelWardType, Weighted<string>>;
    /** Share of s2 detentions (28 days) still in hospital that convert to s3, the rest become informal. */
    s2ToS3: number;
    /** By NHS top-level ethnic group: the chance an admission drawn as informal is a detention instead (story.ts). */
    detentionUplift: Record<string, number>;
  };
  edd: {
    /** First consultant review (sets the EDD), hours after admission, uniform [min, max]. */
    firstReviewHours: [number, number];
    /** First EDD estimate = true LOS x factor (lognormal; clinicians are optimistic). */
    estimateFactor: Lognormal;
    /** Review cadence, days. */
    reviewEveryDays: number;
    /** At a review with the EDD passed or due within 2 days but discharge not close, the chance it is re-set. */
    resetProb: number;
  };
  leave: {
    /** Mean gap between leave periods, days, by ward type (0 = none; illustrative). */
    meanGapDays: Record<ModelWardType, number>;
    /** No leave in the first days of a spell. */
    notBeforeDays: number;
    /** Leave duration, hours (lognormal), capped at maxHours. */
    durationHours: Lognormal;
    maxHours: number;
    /** Share of returns later than expected, and by how much (hours, uniform). */
    lateReturnProb: number;
    lateReturnHours: [number, number];
  };
  crfd: {
    /** Chance that a spell ends with a CRFD period, by total LOS in days: [upToDays, prob] (illustrative). */
    probByLos: [number, number][];
    /** CRFD period length, days (lognormal), scaled per reason group below. */
    duration: Lognormal;
    /** Never more than this share of the spell. */
    maxShareOfSpell: number;
    /** MHSDS v6 reason codes (domain.md), weights in % of periods; housing (14-19, 32) the largest group. */
    reasons: Weighted<string>;
    /** Duration multiplier per reason group (illustrative: housing and care homes take longer). */
    durationFactor: Record<string, number>;
    /** Reason weight multipliers on older adult wards (care homes more, housing less; illustrative). */
    olderAdultFactor: Record<string, number>;
    /** Share of CRFD periods broken by deterioration (period ends, restarts later). */
    deteriorationProb: number;
  };
  discharge: {
    /** NHS Data Dictionary discharge destination codes by ward type (illustrative mix). */
    destination: Record<ModelWardType, Weighted<string>>;
    /** Share of informal patients who discharge themselves (method 2). */
    selfDischargeProb: number;
  };
  followUp: {
    /** Ward types whose discharges start a 72h timer (domain.md: adult acute; configurable). */
    eligibleWardTypes: WardType[];
    /** Destinations excluded (domain.md: death 79, another psychiatric unit 50/53/84/87, prison/police 38/40/42). */
    excludedDestinations: string[];
    /** Outcome mix: within 72h / late / missed (domain.md: national ambition 80% within 72h). */
    outcome: Weighted<'within' | 'late' | 'missed'>;
    /** Time to a follow-up made within 72h, hours (lognormal, redrawn until < 72). */
    withinHours: Lognormal;
    /** Late follow-up, hours after discharge, uniform. */
    lateHours: [number, number];
  };
  beds: {
    /** Bed closures per ward per year (repairs, infection control; illustrative). */
    closuresPerWardPerYear: number;
    closureDays: Lognormal;
    reasons: string[];
  };
}

export const DEFAULT_RATES: Rates = {
  load: { adult_acute: 1.15, older_adult_acute: 1.15, picu: 1.3, rehab: 1.1 },
  los: {
    // domain.md: adult acute average LOS 32 days (2014) -> 39 (2023), King's Fund.
    // median 30, sigma 0.6: mean 36, P(>60d) ~13%, P(>90d) ~3.5%.
    adult_acute: { median: 30, sigma: 0.6 },
    // Longer than adult acute (illustrative; domain.md has no figure).
    older_adult_acute: { median: 45, sigma: 0.6 },
    // The PICU stay, direct or escalated (illustrative); a direct admission's spell goes on
    // after step-down (picu.afterStepDown).
    picu: { median: 14, sigma: 0.55 },
    // Months (illustrative).
    rehab: { median: 120, sigma: 0.55 },
  },
  minLosHours: 8,
  picu: {
    escalationProb: 0.1,
    stepDownProb: 0.8,
    afterStepDown: { median: 20, sigma: 0.6 },
  },
  referrals: {
    perDayPer100Beds: { crisis: 9, liaison: 5, community: 10 },
    admissionSource: [['crisis', 0.5], ['liaison', 0.5]],
    urgency: {
      crisis: [['emergency', 0.05], ['very_urgent', 0.3], ['urgent', 0.5], ['routine', 0.15]],
      liaison: [['emergency', 0.8], ['urgent', 0.2]],
      community: [['urgent', 0.15], ['routine', 0.85]],
      home_treatment: [['urgent', 0.8], ['very_urgent', 0.2]],
    },
    admissionUrgency: {
      crisis: [['emergency', 0.15], ['very_urgent', 0.6], ['urgent', 0.25]],
      liaison: [['emergency', 1]],
    },
    olderShare: 0.12,
    // median at 35% of the target, sigma 0.8: ~10% breach the 1h / 4h / 24h targets.
    response: { medianFraction: 0.35, sigma: 0.8 },
    outcomes: {
      crisis: [['home_treatment', 0.3], ['accepted', 0.2], ['closed', 0.5]],
      liaison: [['home_treatment', 0.15], ['accepted', 0.15], ['closed', 0.7]],
      community: [['accepted', 0.6], ['closed', 0.4]],
    },
    episodeDays: { median: 21, sigma: 0.5 },
    knownPatientShare: 0.12,
    readmissionShare: 0.1,
  },
  admission: {
    decisionHours: { median: 1.5, sigma: 0.6 },
    arrivalHours: { median: 2.5, sigma: 0.5 },
    maxWaitHours: { adult_acute: [4, 24], older_adult_acute: [12, 48], picu: [6, 30], rehab: [24 * 60, 24 * 180] },
    oapDistanceKm: [30, 200],
    gatekeeping: { wardTypes: ['adult_acute', 'older_adult_acute'], from: 0.94, to: 1, minAdmitProb: 0.5 },
    expediteWithinDays: 3,
    repatriateProb: 0.8,
    legalStatus: {
      adult_acute: [['01', 0.45], ['02', 0.35], ['03', 0.2]],
      older_adult_acute: [['01', 0.55], ['02', 0.3], ['03', 0.15]],
      picu: [['02', 0.5], ['03', 0.5]],
      rehab: [['01', 0.6], ['03', 0.4]],
    },
    s2ToS3: 0.6,
    // National data: Black people are detained under the Mental Health Act at several
    // times the rate of White people; here about half of their informal admissions are detentions.
    detentionUplift: { 'Black or Black British': 0.5 },
  },
  edd: {
    firstReviewHours: [12, 72],
    estimateFactor: { median: 0.85, sigma: 0.25 },
    reviewEveryDays: 7,
    resetProb: 0.6,
  },
  leave: {
    meanGapDays: { adult_acute: 10, older_adult_acute: 14, picu: 0, rehab: 7 },
    notBeforeDays: 4,
    durationHours: { median: 20, sigma: 0.8 },
    maxHours: 24 * 7,
    lateReturnProb: 0.08,
    lateReturnHours: [1, 24],
  },
  crfd: {
    probByLos: [[14, 0.08], [30, 0.18], [60, 0.3], [Infinity, 0.45]],
    duration: { median: 10, sigma: 0.8 },
    maxShareOfSpell: 0.6,
    reasons: [
      // housing (14-19, 32): 19% of adult periods (fewer on older adult wards), ~19% of
      // CRFD days overall (domain.md: housing the largest group, ~17-19% of delays).
      ['14', 4], ['15', 3], ['16', 3], ['17', 3], ['18', 2], ['19', 2], ['32', 2],
      ['04', 10], // awaiting funding decision
      ['09', 10], // care package
      ['07', 4], ['08', 4], // care home without / with nursing
      ['01', 9], // awaiting care coordinator
      ['35', 9], // NHS-led community assessments
      ['11', 8], // patient or family choice
      ['25', 5], // Mental Health Act legal proceedings
      ['27', 4], // DoLS
      ['36', 4], // hospital staff shortages
      ['98', 5], // not known
    ],
    durationFactor: { housing: 1.1, care_home: 1.1, '04': 1.0, '09': 1.0, '11': 0.8, '36': 0.6, '98': 0.8 },
    olderAdultFactor: { care_home: 2.5, housing: 0.5, '27': 2, '09': 1.5 },
    deteriorationProb: 0.08,
  },
  discharge: {
    // NHS Data Dictionary DISCHARGE DESTINATION CODE (HOSPITAL PROVIDER SPELL):
    // 19 usual residence, 29 temporary residence, 40 penal establishment, 51 NHS general ward,
    // 53 NHS psychiatric ward (other provider), 55/56 care home with/without nursing,
    // 79 died, 87 independent sector hospital.
    destination: {
      adult_acute: [['19', 84], ['29', 7], ['53', 3], ['87', 2], ['56', 1.5], ['40', 1.5], ['79', 1]],
      older_adult_acute: [['19', 60], ['55', 14], ['56', 12], ['51', 6], ['79', 4], ['29', 2], ['53', 2]],
      picu: [['19', 60], ['53', 20], ['87', 10], ['29', 6], ['40', 4]],
      rehab: [['19', 55], ['29', 35], ['53', 5], ['56', 5]],
    },
    selfDischargeProb: 0.06,
  },
  followUp: {
    eligibleWardTypes: ['adult_acute', 'older_adult_acute', 'picu'],
    excludedDestinations: ['79', '50', '53', '84', '87', '38', '40', '42'],
    outcome: [['within', 0.79], ['late', 0.11], ['missed', 0.1]],
    withinHours: { median: 30, sigma: 0.5 },
    lateHours: [73, 240],
  },
  beds: {
    closuresPerWardPerYear: 3,
    closureDays: { median: 3, sigma: 0.7 },
    reasons: ['estates repair', 'infection control', 'staffing'],
  },
};

/** Response targets (domain.md: proposed crisis standards, 2022 consultation). */
export function responseTargetHours(teamType: TeamType, urgency: Urgency): number {
  if (urgency === 'emergency') return teamType === 'liaison' ? 1 : 4;
  if (urgency === 'very_urgent') return 4;
  if (urgency === 'urgent') return 24;
  return 24 * 28; // routine community care within 4 weeks
}

type DeepPartial<T> = T extends readonly unknown[] ? T : T extends object ? { [K in keyof T]?: DeepPartial<T[K]> } : T;
export type RatesInput = DeepPartial<Rates>;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function merge(base: unknown, over: unknown): unknown {
  if (over === undefined) return base;
  if (!isPlainObject(base) || !isPlainObject(over)) return over;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = merge(base[k], v);
  return out;
}

/** Defaults overlaid with the caller's overrides (arrays and weights replace, objects merge). */
export function resolveRates(input?: RatesInput): Rates {
  return merge(DEFAULT_RATES, input) as Rates;
}

/** Mean of a lognormal given by median and sigma. */
export const lognormalMean = (p: Lognormal): number => p.median * Math.exp((p.sigma * p.sigma) / 2);

/** Admissions per day per ward type that produce the configured load on the trust's beds. */
export function admissionRates(rates: Rates, wards: readonly Ward[]): Record<ModelWardType, number> {
  const beds: Record<ModelWardType, number> = { adult_acute: 0, older_adult_acute: 0, picu: 0, rehab: 0 };
  for (const w of wards) if (isModelWardType(w.type)) beds[w.type] += w.beds;
  const picuStay = lognormalMean(rates.los.picu);
  // Adult acute and PICU share patients: escalations take PICU bed-days out of adult
  // acute spells, step-downs bring direct PICU admissions onto adult acute wards.
  const aaBedDaysPerAdmission = lognormalMean(rates.los.adult_acute) - rates.picu.escalationProb * picuStay;
  const stepDownBedDays = rates.picu.stepDownProb * lognormalMean(rates.picu.afterStepDown);
  let aa = (rates.load.adult_acute * beds.adult_acute) / aaBedDaysPerAdmission;
  let picu = 0;
  for (let i = 0; i < 50; i++) {
    picu = Math.max(0, (rates.load.picu * beds.picu - aa * rates.picu.escalationProb * picuStay) / picuStay);
    aa = Math.max(0, (rates.load.adult_acute * beds.adult_acute - picu * stepDownBedDays) / aaBedDaysPerAdmission);
  }
  return {
    adult_acute: aa,
    older_adult_acute: (rates.load.older_adult_acute * beds.older_adult_acute) / lognormalMean(rates.los.older_adult_acute),
    picu,
    rehab: (rates.load.rehab * beds.rehab) / lognormalMean(rates.los.rehab),
  };
}
