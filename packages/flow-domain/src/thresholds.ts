// Thresholds per ward type, with the national defaults from domain.md. A trust
// overrides them in configuration; every alert names the threshold and its source.
import type { TEAM_TYPES, URGENCIES, WardType } from '@pfm/contracts';
import { DEFAULT_ESCALATION, type EscalationPolicy } from './escalation';

export type LosConvention = 'elapsed' | 'inclusive';

export interface Thresholds {
  /** LOS day-counting: 'elapsed' = whole days since spell start; 'inclusive' = MHSDS closed-spell style (days + 1). */
  losConvention: LosConvention;
  /** Generic LOS review triggers (acute programmes); per ward type they can be re-timed or switched off in `wardTypes`. */
  strandedDays: number;
  superStrandedDays: number;
  /** Long-stay tiers in days per ward type; a ward type not listed has no long-stay rule (national definitions cover adult and older adult acute only). */
  longStayDays: Partial<Record<WardType, number[]>>;
  /** Per ward type: a threshold in days, or null to switch that rule off there. */
  wardTypes: Partial<Record<WardType, WardTypeRules>>;
  /** Per site (organisation code): any of these settings for that site only. */
  sites?: Record<string, Partial<Omit<Thresholds, 'sites'>>>;
  occupancyPct: number;
  /** Response targets in hours by team type and urgency; `default` for team types not listed. */
  referralResponseHours: Partial<Record<TeamType, UrgencyHours>> & { default: UrgencyHours };
  followUpHours: number;
  /** Events for an unknown spell wait this long for the spell to appear, then go to rejects. */
  parkMinutes: number;
  /**
   * Discharge destinations (PV1-37 / MHSDS DischDestCodeHospProvSpell) that do not start a 72h
   * follow-up timer: the NHS Standard Contract indicator's exclusions (death, penal
   * establishment, court or police custody, transfer to another inpatient unit). Codes
   * unconfirmed against the NHS Data Dictionary: a configurable default (FOLLOW_UP_EXCLUSIONS).
   */
  followUpExemptDestinations: string[];
  /** Discharge methods (PV1-36) that do not start it: 4 = patient died. */
  followUpExemptMethods: string[];
  /**
   * Areas of residence (the patient's `area`: ZMH-5 / JSON `area`) outside England, whose
   * discharges the indicator excludes (domain.md: "patients not resident in England").
   * Default: the ONS country codes of Wales, Scotland and Northern Ireland; a trust adds
   * its own catchment codes for areas over the border.
   */
  followUpExemptAreas?: string[];
  /** Ward types whose discharges start the 72h follow-up timer. */
  followUpWardTypes: WardType[];
  /** Mental Health Act clocks by legal status code (ZMH-1 / MHSDS legal status classification): duration, and how long before expiry to alert. */
  mhaClocks: Record<string, MhaClock>;
  /** Hours an under-18 may be on an adult ward before the CQC must be notified, and the ward types that count as adult. */
  under18Hours: number;
  under18WardTypes: WardType[];
  /** Who an unacknowledged alert goes to next, per severity (escalation.ts). */
  escalation: EscalationPolicy;
  /** Hours from decision to admit after which a wait for a bed is a breach (RCEM 12-hour waits). */
  admissionWaitHours: number;
  /**
   * Referring team types whose decisions to admit are emergency admissions, so the
   * 12-hour clock applies (domain.md: 12-hour A&E waits from the decision to admit). A
   * planned admission (e.g. a community team's referral to a rehab bed) waits in the
   * queue without it. A decision with no referral keeps the clock (fails safe).
   */
  admissionWaitTeamTypes: string[];
  /**
   * Admission types / methods (PV1-4 of an A04/A05, `admissionMethod` of a decision to admit)
   * that mean a planned admission, so no 12-hour clock runs whatever the referral: NHS Data
   * Dictionary admission method 11 (waiting list), 12 (booked), 13 (planned), and HL7 table
   * 0007 C (elective) and R (routine). Any other value, or none, keeps the clock (fails safe).
   */
  plannedAdmissionMethods: string[];
  /** Catchment area -> the team responsible for follow-up after discharge (routes 72h follow-up alerts and the due worklist). */
  teamsByArea: Record<string, string>;
  /** Leave types that mean the patient is absent without leave (recorded by the ward; no ADT trigger exists for AWOL). */
  awolLeaveTypes: string[];
}

export const SOURCES = {
  stranded: 'NHS Improvement/ECIP stranded patient (LOS >= 7 days); SAFER "R" review',
  super_stranded: 'NHS England "Reducing length of stay": super-stranded (LOS >= 21 days)',
  long_stay: 'NHS England MHSDS analytics: mental-health long stay (60 days adult acute, 90 days older adult acute)',
  edd_passed: 'Expected date of discharge passed (PV2-9 / MHSDS EstimatedDischDateHospProvSpell)',
  referral_response: 'Proposed national crisis standards (2022): very urgent 4h, urgent 24h, A&E liaison 1h',
  followup_due: 'NHS Standard Contract: follow-up within 72 hours of discharge from adult acute care',
  followup_missed: 'NHS Standard Contract: follow-up within 72 hours of discharge from adult acute care',
  occupancy: 'RCPsych: bed occupancy at most 85%',
  leave_overdue: 'Mental Health Act 1983 s17 leave: expected return passed without a return (A22)',
  awol: 'Mental Health Act 1983 s18: absent without leave, recorded by the ward',
  under18_adult_ward: 'CQC: notify when a person under 18 is on an adult psychiatric ward for more than 48 hours',
  admission_wait: 'RCEM: 12-hour waits from decision to admit (23% of mental-health patients in A&E in 2023)',
  mha_expiry: 'Mental Health Act 1983 (as amended): s5(2) 72 h (from the s5(4) record when reported during it, s5(5)), s5(4) 6 h, s2 28 days, s3 6 months (renewable), s136 24 h (+12 h)',
} as const;

/**
 * The 72h follow-up indicator's exclusions (domain.md, NHS Standard Contract technical
 * definition) as discharge destination codes, grouped by why. Codes unconfirmed.
 */
export const FOLLOW_UP_EXCLUSIONS = {
  /** 'exp' ("Expired"): FHIR R4 Encounter.hospitalization.dischargeDisposition (terminology.hl7.org discharge-disposition). */
  died: ['79', 'died', 'death', 'exp'],
  /** Penal establishment, court or police custody. */
  custody: ['37', '38', '40', '42', 'prison', 'police_custody', 'court'],
  /**
   * Another inpatient unit: NHS (high secure, medium secure, general, psychiatric) or independent hospital;
   * 'psy' ("Psychiatric hospital") as a FHIR R4 dischargeDisposition.
   */
  inpatient: ['48', '49', '50', '51', '52', '53', '84', '87', 'psychiatric_unit', 'psy'],
} as const;

export type Urgency = (typeof URGENCIES)[number];
export type TeamType = (typeof TEAM_TYPES)[number];
export type UrgencyHours = Record<Urgency, number>;

/** The response target in hours for a referral to a team type at an urgency. */
export function responseHoursFor(t: Thresholds, teamType: string, urgency: string): number {
  const table = t.referralResponseHours[teamType as TeamType] ?? t.referralResponseHours.default;
  return table[urgency as Urgency] ?? t.referralResponseHours.default[urgency as Urgency] ?? t.referralResponseHours.default.routine;
}

/**
 * A Mental Health Act detention's limit. `hours` runs from the moment the status began
 * (holding powers, s136). `days` and `months` are periods "beginning with the day" the
 * status began (s2 28 days, s3 6 months), so they end at the local midnight (Europe/London)
 * that closes the period's last day, whatever the time of admission. Exactly one is set.
 * `extends`: this status extends the detention of that status (s136 extended by 12 h):
 * entered while that one runs, the clock keeps counting from the original start, to its
 * own length, instead of starting again.
 * `countsFrom`: entered while that status's clock still runs, this clock counts from that
 * status's start (s5(2) reported during a nurse's s5(4): the 72 h run from the nurse's
 * record, s5(5)); entered after it ran out, it is a power of its own from its own start.
 */
export interface MhaClock { label: string; hours?: number; days?: number; months?: number; warnBeforeHours: number; extends?: string; countsFrom?: string }

export interface WardTypeRules { strandedDays?: number | null; superStrandedDays?: number | null }

export const DEFAULT_THRESHOLDS: Thresholds = {
  losConvention: 'elapsed',
  strandedDays: 7,
  superStrandedDays: 21,
  // MHSDS analytics count stays over 60 and over 90 days for adult acute and older adult acute beds.
  longStayDays: { adult_acute: [60, 90], older_adult_acute: [60, 90] },
  // Rehabilitation, forensic and learning-disability stays are planned to be long: the acute
  // 7/21-day review triggers mean nothing there (a trust can switch them on with its own days).
  wardTypes: {
    rehab: { strandedDays: null, superStrandedDays: null },
    forensic: { strandedDays: null, superStrandedDays: null },
    learning_disability: { strandedDays: null, superStrandedDays: null },
    // A s136 suite holds people for hours: its clock is the s136 limit (mhaClocks '20').
    place_of_safety: { strandedDays: null, superStrandedDays: null },
  },
  occupancyPct: 85,
  // Proposed national crisis standards (2022): very urgent community crisis 4 h, urgent 24 h,
  // routine community 4 weeks; Core 24 liaison: emergency (A&E) 1 h, urgent (ward) 24 h.
  referralResponseHours: {
    default: { emergency: 4, very_urgent: 4, urgent: 24, routine: 24 * 28 },
    crisis: { emergency: 4, very_urgent: 4, urgent: 24, routine: 24 * 28 },
    liaison: { emergency: 1, very_urgent: 1, urgent: 24, routine: 24 * 28 },
  },
  followUpHours: 72,
  parkMinutes: 60,
  followUpExemptDestinations: Object.values(FOLLOW_UP_EXCLUSIONS).flat(),
  followUpExemptMethods: ['4'],
  followUpExemptAreas: ['W92000004', 'S92000003', 'N92000002'],
  followUpWardTypes: ['adult_acute', 'older_adult_acute', 'picu', 'unknown'],
  // Mental Health Act 1983 (as amended; Policing and Crime Act 2017 for s136). Status codes
  // are the NHS Data Dictionary legal status classification (unconfirmed: configurable).
  mhaClocks: {
    // A doctor's report made while a nurse's s5(4) runs: the 72 h run from the nurse's record (s5(5)).
    '05': { label: 'section 5(2) holding power', hours: 72, warnBeforeHours: 0, countsFrom: '06' },
    '06': { label: 'section 5(4) nurse holding power', hours: 6, warnBeforeHours: 0 },
    '02': { label: 'section 2 (28 days, not renewable)', days: 28, warnBeforeHours: 72 },
    // Renewable for 6 months, then a year at a time (s20): the feed carries no renewal, so the
    // clock warns before the first period ends (H-19); a renewal is the clinician's to record.
    '03': { label: 'section 3 (6 months; renewal due before it ends)', months: 6, warnBeforeHours: 28 * 24 },
    '20': { label: 'section 136 place of safety (24 h; extendable by 12 h)', hours: 24, warnBeforeHours: 0 },
    // A registered medical practitioner's 12-hour extension (Policing and Crime Act 2017):
    // a local status code (ZMH-1 / legal_status) the PAS sends while s136 runs; 36 h from arrival.
    '20X': { label: 'section 136 place of safety, extended by 12 h (36 h from arrival)', hours: 36, warnBeforeHours: 0, extends: '20' },
  },
  under18Hours: 48,
  under18WardTypes: ['adult_acute', 'older_adult_acute', 'picu', 'rehab', 'forensic', 'learning_disability', 'unknown'],
  awolLeaveTypes: ['AWOL'],
  teamsByArea: {},
  admissionWaitHours: 12,
  admissionWaitTeamTypes: ['liaison', 'crisis', 'home_treatment'],
  plannedAdmissionMethods: ['11', '12', '13', 'C', 'R'],
  escalation: DEFAULT_ESCALATION,
};

export interface LosRules { strandedDays: number | null; superStrandedDays: number | null; longStayDays: number[] }

/** The LOS rules that run on a ward type (null = switched off there). */
export function losRulesFor(t: Thresholds, wardType: WardType): LosRules {
  const w = t.wardTypes[wardType] ?? {};
  return {
    strandedDays: w.strandedDays === undefined ? t.strandedDays : w.strandedDays,
    superStrandedDays: w.superStrandedDays === undefined ? t.superStrandedDays : w.superStrandedDays,
    longStayDays: [...(t.longStayDays[wardType] ?? [])].sort((a, b) => a - b),
  };
}

/** The settings of one site: the trust's, with that site's own settings over them. */
export function thresholdsForSite(t: Thresholds, site: string): Thresholds {
  const own = t.sites?.[site];
  if (!own) return t;
  return {
    ...t, ...own,
    longStayDays: { ...t.longStayDays, ...own.longStayDays },
    wardTypes: { ...t.wardTypes, ...own.wardTypes },
    referralResponseHours: mergeResponseHours(t.referralResponseHours, own.referralResponseHours),
  };
}

export const DAY_MS = 24 * 3600 * 1000;
export const HOUR_MS = 3600 * 1000;

/** The instant at which a spell that started at `start` reaches a LOS of `days`. */
export function losCrossingAt(t: Thresholds, start: number, days: number): number {
  return start + (t.losConvention === 'inclusive' ? days - 1 : days) * DAY_MS;
}

/** LOS in days at `now`, counted from the start of the hospital provider spell (transfers do not reset it). */
export function losDays(t: Thresholds, start: number, now: number): number {
  const elapsed = Math.max(0, Math.floor((now - start) / DAY_MS));
  return t.losConvention === 'inclusive' ? elapsed + 1 : elapsed;
}

/** Settings over defaults, per team type and urgency (a file may name only the targets it changes). */
export function mergeResponseHours(base: Thresholds['referralResponseHours'], over?: Partial<Record<TeamType | 'default', Partial<UrgencyHours>>>): Thresholds['referralResponseHours'] {
  const out: Thresholds['referralResponseHours'] = { ...base };
  for (const [k, v] of Object.entries(over ?? {})) {
    const key = k as TeamType | 'default';
    out[key] = { ...(base[key] ?? base.default), ...v } as UrgencyHours;
  }
  return out;
}
