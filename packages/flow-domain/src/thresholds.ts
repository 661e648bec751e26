// Thresholds per ward type, with the national defaults from domain.md. A trust
// overrides them in configuration; every alert names the threshold and its source.
import type { WardType } from '@pfm/contracts';

export type LosConvention = 'elapsed' | 'inclusive';

export interface Thresholds {
  /** LOS day-counting: 'elapsed' = whole days since spell start; 'inclusive' = MHSDS closed-spell style (days + 1). */
  losConvention: LosConvention;
  strandedDays: number;
  superStrandedDays: number;
  longStayDays: Partial<Record<WardType, number>> & { default: number };
  occupancyPct: number;
  referralResponseHours: { emergency: number; very_urgent: number; urgent: number; routine: number };
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
  /** Ward types whose discharges start the 72h follow-up timer. */
  followUpWardTypes: WardType[];
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
} as const;

/**
 * The 72h follow-up indicator's exclusions (domain.md, NHS Standard Contract technical
 * definition) as discharge destination codes, grouped by why. Codes unconfirmed.
 */
export const FOLLOW_UP_EXCLUSIONS = {
  died: ['79', 'died', 'death'],
  /** Penal establishment, court or police custody. */
  custody: ['37', '38', '40', '42', 'prison', 'police_custody', 'court'],
  /** Another inpatient unit: NHS (high secure, medium secure, general, psychiatric) or independent hospital. */
  inpatient: ['48', '49', '50', '51', '52', '53', '84', '87', 'psychiatric_unit'],
} as const;

export const DEFAULT_THRESHOLDS: Thresholds = {
  losConvention: 'elapsed',
  strandedDays: 7,
  superStrandedDays: 21,
  longStayDays: { adult_acute: 60, older_adult_acute: 90, default: 60 },
  occupancyPct: 85,
  referralResponseHours: { emergency: 1, very_urgent: 4, urgent: 24, routine: 24 * 28 },
  followUpHours: 72,
  parkMinutes: 60,
  followUpExemptDestinations: Object.values(FOLLOW_UP_EXCLUSIONS).flat(),
  followUpExemptMethods: ['4'],
  followUpWardTypes: ['adult_acute', 'older_adult_acute', 'picu', 'unknown'],
};

export const longStayDaysFor = (t: Thresholds, wardType: WardType): number => t.longStayDays[wardType] ?? t.longStayDays.default;

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
