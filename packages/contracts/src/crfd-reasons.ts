// Clinically ready for discharge (CRFD) delay reasons: the code lists, their wording and
// the reason groups, shared by the board, the insights warehouse and its reports.
//
// Sources (facts only; the authority is the NHS Data Model and Dictionary attribute
// "Clinically Ready for Discharge Delay Reason"):
// - MHSDS v6 (from April 2024), table MHS518 ClinReadyforDischDelayReason, codes 01-37
//   and 98, with the wording and the reason groups ("Community", "Social care/local
//   authority", "Hospital", "Housing", "Not known") of NHS England's published MHSDS
//   analytical SQL for the acute inpatient dashboard (github.com/nhsengland/MHSDS,
//   "Mental Health Inpatient Dashboard/Acute Inpatient Dashboard 2025.sql",
//   Der_CRFD_Reason and Der_CRFD_ReasonGroup).
// - MHSDS v5 (to March 2024) delayed discharge reasons, with their wording, from NHS
//   England's (formerly NHS Digital's) published MHSDS monthly statistics code
//   (github.com/NHSDigital/mental-health-monthly-statistics,
//   "Mental_Health_Monthly_Statistics/menh_analysis/notebooks/01_Prepare/0.5_VersionChanges.py",
//   table delayeddischdim, reasons valid to month 1488 = March 2024).
// No v5 -> v6 mapping is assumed (the lists differ); the sources group v6 codes only, so a
// v5 code has no group.

/** The reason groups of MHSDS v6 codes, as NHS England's acute dashboard groups them. */
export const CRFD_GROUPS = ['community', 'social_care', 'hospital', 'housing', 'not_known'] as const;
export type CrfdGroup = (typeof CRFD_GROUPS)[number];
export const CRFD_GROUP_LABELS: Readonly<Record<CrfdGroup, string>> = {
  community: 'Community', social_care: 'Social care/local authority', hospital: 'Hospital', housing: 'Housing', not_known: 'Not known',
};

export interface CrfdCode {
  code: string;
  /** The wording of the published code list. */
  label: string;
  /** The v6 reason group; undefined for v5 codes (the sources group v6 codes only). */
  group?: CrfdGroup;
  /** The MHSDS version whose code list the code is from. */
  version: 5 | 6;
}

const v6: [code: string, label: string, group: CrfdGroup][] = [
  ['01', 'Awaiting care coordinator allocation', 'community'],
  ['02', 'Awaiting allocation of community psychiatrist', 'community'],
  ['03', 'Awaiting allocation of social worker', 'social_care'],
  ['04', 'Awaiting public funding or decision from funding panel', 'community'],
  ['05', 'Awaiting further community or mental health NHS services not delivered in an acute setting (including intermediate care, rehabilitation services, step-down service)', 'community'],
  ['06', 'Awaiting availability of placement in prison or Immigration Removal Centre', 'community'],
  ['07', 'Awaiting availability of placement in care home without nursing', 'social_care'],
  ['08', 'Awaiting availability of placement in care home with nursing', 'community'],
  ['09', 'Awaiting commencement of care package in usual or temporary place of residence', 'community'],
  ['10', 'Awaiting provision of community equipment and/or adaptations to own home', 'community'],
  ['11', 'Patient or family choice', 'hospital'],
  ['12', 'Disputes relating to responsible commissioner for post-discharge care', 'community'],
  ['13', 'Disputes relating to post-discharge care pathway between clinical teams and/or care panels', 'community'],
  ['14', 'Housing - awaiting availability of private rented accommodation', 'housing'],
  ['15', 'Housing - awaiting availability of social rented housing via council housing waiting list', 'housing'],
  ['16', 'Housing - awaiting purchase/sourcing of own home', 'housing'],
  ['17', 'Housing - patient not eligible for funded care or support', 'housing'],
  ['18', 'Housing - awaiting supported accommodation', 'housing'],
  ['19', 'Housing - awaiting temporary accommodation from the local authority under housing legislation', 'housing'],
  ['20', "Awaiting availability of residential children's home (non-secure)", 'social_care'],
  ['21', "Awaiting availability of secure children's home (welfare or non-welfare)", 'social_care'],
  ['22', 'Awaiting availability of placement in Young Offender Institution', 'community'],
  ['23', 'Child or young person awaiting foster placement', 'community'],
  ['24', 'Awaiting Ministry of Justice agreement to proposed placement', 'community'],
  ['25', 'Awaiting outcome of legal proceedings under relevant mental health legislation', 'community'],
  ['26', 'Awaiting Court of Protection proceedings', 'community'],
  ['27', 'Awaiting Deprivation of Liberty Safeguards (DoLS) application', 'community'],
  ['28', 'Delay due to consideration of specific court judgements', 'community'],
  ['29', 'Awaiting residential special school or college placement', 'community'],
  ['30', 'Lack of local education support', 'community'],
  ['31', 'Public safety concern unrelated to clinical treatment need (care team and/or Ministry of Justice)', 'community'],
  ['32', 'Highly bespoke housing and/or care arrangements not available in the community', 'housing'],
  ['33', 'No lawful support available in the community excluding social care', 'community'],
  ['34', 'No social care support including social care funded placement', 'social_care'],
  ['35', 'Delays to NHS-led assessments in the community', 'hospital'],
  ['36', 'Hospital staff shortages', 'hospital'],
  ['37', 'Delays to non-NHS-led assessments in the community', 'community'],
  ['98', 'Reason not known', 'not_known'],
];

const v5: [code: string, label: string][] = [
  ['A2', 'Awaiting care coordinator allocation'],
  ['B1', 'Awaiting public funding'],
  ['C1', 'Awaiting further non-acute (including community and mental health) NHS care (including intermediate care, rehabilitation services etc)'],
  ['D1', 'Awaiting care home without nursing placement or availability'],
  ['D2', 'Awaiting care home with nursing placement or availability'],
  ['E1', 'Awaiting care package in own home'],
  ['F2', 'Awaiting community equipment, telecare and/or adaptations'],
  ['G2', 'Patient or family choice (reason not stated by patient or family)'],
  ['G3', 'Patient or family choice - non-acute (including community and mental health) NHS care (including intermediate care, rehabilitation services etc)'],
  ['G4', 'Patient or family choice - care home without nursing placement'],
  ['G5', 'Patient or family choice - care home with nursing placement'],
  ['G6', 'Patient or family choice - care package in own home'],
  ['G7', 'Patient or family choice - community equipment, telecare and/or adaptations'],
  ['G8', 'Patient or family choice - general needs housing/private landlord acceptance as patient not covered by Housing Act/Care Act'],
  ['G9', 'Patient or family choice - supported accommodation'],
  ['G10', 'Patient or family choice - emergency accommodation from the local authority under the Housing Act'],
  ['G11', 'Patient or family choice - child or young person awaiting social care or family placement'],
  ['G12', 'Patient or family choice - Ministry of Justice agreement/permission of proposed placement'],
  ['H1', 'Disputes'],
  ['I2', 'Housing - awaiting availability of general needs housing/private landlord accommodation acceptance as patient not covered by Housing Act and/or Care Act'],
  ['I3', 'Housing - single homeless patients or asylum seekers not covered by Care Act'],
  ['J2', 'Housing - awaiting supported accommodation'],
  ['K2', 'Housing - awaiting emergency accommodation from the local authority under the Housing Act'],
  ['L1', 'Child or young person awaiting social care or family placement'],
  ['M1', 'Awaiting Ministry of Justice agreement/permission of proposed placement'],
  ['N1', 'Awaiting outcome of legal requirements (mental capacity/mental health legislation)'],
  ['P1', 'Awaiting residential special school or college placement or availability'],
  ['Q1', 'Lack of local education support'],
  ['R1', 'Public safety concern unrelated to clinical treatment need (care team)'],
  ['R2', 'Public safety concern unrelated to clinical treatment need (Ministry of Justice)'],
  ['S1', 'No lawful community care package available'],
  ['T1', 'Lack of health care service provision'],
  ['T2', 'Lack of social care support'],
];

/** MHSDS v6 MHS518 codes 01-37 and 98, in code order. */
export const CRFD_V6_CODES: readonly CrfdCode[] = v6.map(([code, label, group]) => ({ code, label, group, version: 6 }));
/**
 * MHSDS v5 delayed discharge reasons (letter codes) with their published wording. v5 also
 * had 98 "No reason given": it is the same code as v6 98 and reads as v6 98 here.
 */
export const CRFD_V5_CODES: readonly CrfdCode[] = v5.map(([code, label]) => ({ code, label, version: 5 }));

const BY_CODE = new Map<string, CrfdCode>([...CRFD_V6_CODES, ...CRFD_V5_CODES].map((c) => [c.code, c]));

/** The shape of a v5 code from history: a letter and one or two digits (A2 ... G12 ... T2). */
export const V5_CRFD_CODE = /^[A-Z]\d{1,2}$/;
/** The shape the flow-event contract accepts: a v6 code, or a v5 code from history (kept as sent, never refused). */
export const CRFD_CODE_PATTERN = /^(0[1-9]|[12]\d|3[0-7]|98|[A-Z]\d{1,2})$/;

/** "1", "01", " 01 " all mean code 01; letter codes (v5) are upper-cased. */
export function normaliseCrfdCode(raw: string): string {
  const t = raw.trim();
  return /^\d{1,2}$/.test(t) ? t.padStart(2, '0') : t.toUpperCase();
}

/** The published code, its wording and group (v6), or undefined for a code in neither list. */
export const crfdCode = (raw: string): CrfdCode | undefined => BY_CODE.get(normaliseCrfdCode(raw));

/** The v6 reason group of a code (undefined for v5 codes and unknown codes). */
export const crfdGroup = (raw: string): CrfdGroup | undefined => crfdCode(raw)?.group;
