// What the engine publishes (pfm.board-updates.v1, pfm.alerts.v1), what ingest keeps
// (pfm.ingest-rejects.v1), and what the read API and socket.io serve. These derived
// topics carry JSON validated by these schemas, so ops can read them with kcat.
import { z } from 'zod';

/** `place_of_safety`: a s136 suite (spaces, not inpatient beds: shown apart from bed occupancy). */
export const WARD_TYPES = ['adult_acute', 'older_adult_acute', 'picu', 'rehab', 'forensic', 'learning_disability', 'place_of_safety', 'unknown'] as const;
export type WardType = (typeof WARD_TYPES)[number];

export const wardSchema = z.strictObject({
  site: z.string().min(1),
  code: z.string().min(1),
  name: z.string().min(1),
  hospital: z.string().optional(),
  type: z.enum(WARD_TYPES),
  beds: z.number().int().min(0),
  /** A unit outside the trust (independent sector, another trust): patients there are out-of-area placements, never local occupancy. */
  external: z.boolean().optional(),
});
export type Ward = z.infer<typeof wardSchema>;

export const ALERT_RULES = [
  'stranded', 'super_stranded', 'long_stay', 'edd_passed', 'referral_response',
  'followup_due', 'followup_missed', 'occupancy',
  // Mental-health clocks (domain.md: Mental Health Act 1983, CQC).
  'leave_overdue', 'awol', 'under18_adult_ward', 'mha_expiry',
  // 12-hour wait from decision to admit (RCEM).
  'admission_wait',
] as const;
export type AlertRule = (typeof ALERT_RULES)[number];

export const alertSchema = z.strictObject({
  alertId: z.string(),
  rule: z.enum(ALERT_RULES),
  severity: z.enum(['info', 'warning', 'critical']),
  threshold: z.strictObject({ value: z.number(), unit: z.enum(['days', 'hours', 'percent']) }),
  source: z.string(),
  message: z.string(),
  site: z.string(),
  ward: z.string().optional(),
  team: z.string().optional(),
  /** The patient's catchment area: crisis scopes are by team and area. */
  area: z.string().optional(),
  patientId: z.string().optional(),
  nhsNumber: z.string().optional(),
  spellId: z.string().optional(),
  referralId: z.string().optional(),
  becameTrueAt: z.number(),
  raisedAt: z.number(),
  acknowledged: z.strictObject({ by: z.string(), at: z.number(), note: z.string().optional() }).optional(),
  /** The named person who owns acting on the alert (alert.owned), who gave it to them, and when. */
  owner: z.strictObject({ name: z.string(), by: z.string(), at: z.number() }).optional(),
  /**
   * Set when nobody acknowledged the alert in time and it went up the escalation chain
   * (thresholds `escalation`): the level reached (1 = the chain's second role), the role
   * now responsible, and when that level fell due. Written by the engine as a new version;
   * acknowledgement or resolution stops it. Absent: not escalated (older alerts too).
   */
  escalated: z.strictObject({ level: z.number().int().positive(), role: z.string(), at: z.number() }).optional(),
  /** When the condition stopped holding (discharge, follow-up made, referral answered, EDD moved): no longer shown as active. */
  resolvedAt: z.number().optional(),
  /**
   * 1 when raised, +1 at each later change (acknowledged, owned, escalated, resolved). Delivery to the
   * alerts topic is at least once; readers keep the highest version of each alert.
   * Absent only on alerts raised before versions existed (read as 1).
   */
  version: z.number().int().positive().optional(),
});
export type Alert = z.infer<typeof alertSchema>;

export const wardSummarySchema = z.strictObject({
  site: z.string(),
  ward: z.string(),
  name: z.string(),
  wardType: z.enum(WARD_TYPES),
  beds: z.number(),
  occupied: z.number(),
  onLeave: z.number(),
  present: z.number(),
  free: z.number(),
  closed: z.number(),
  crfd: z.number(),
  crfdReasons: z.record(z.string(), z.number()),
  stranded: z.number(),
  superStranded: z.number(),
  longStay: z.number(),
  eddPassed: z.number(),
  outOfArea: z.number(),
  occupancyPct: z.number(),
  occupancyInclLeavePct: z.number(),
  seq: z.number(),
  /** Set on units outside the trust (ward registry): their patients are out-of-area placements, not local occupancy. */
  external: z.boolean().optional(),
});
export type WardSummary = z.infer<typeof wardSummarySchema>;

export const boardUpdateSchema = z.strictObject({
  site: z.string(),
  ward: z.string(),
  seq: z.number(),
  at: z.number(),
  summary: wardSummarySchema,
  change: z.strictObject({ eventId: z.string(), type: z.string(), spellId: z.string().optional() }).optional(),
});
export type BoardUpdate = z.infer<typeof boardUpdateSchema>;

export const fieldErrorSchema = z.strictObject({ path: z.string(), message: z.string() });
export type FieldError = z.infer<typeof fieldErrorSchema>;

export const rejectSchema = z.strictObject({
  rejectId: z.string(),
  stage: z.enum(['ingest', 'engine']),
  channel: z.string(),
  sourceSystem: z.string().optional(),
  receivedAt: z.number(),
  reason: z.string(),
  errors: z.array(fieldErrorSchema),
  raw: z.string(),
  rawEncoding: z.enum(['utf8', 'base64']),
  eventId: z.string().optional(),
  redriveOf: z.string().optional(),
  /** Where a dead-lettered flow event sits in the log (engine dead letters only). */
  source: z.strictObject({ topic: z.string(), partition: z.number().int(), offset: z.string() }).optional(),
  /** Present when `raw` is sealed (AES-256-GCM, base64 of iv | ciphertext | tag, the rejectId as associated data) with key `kid`. */
  sealed: z.strictObject({ alg: z.literal('A256GCM'), kid: z.string().max(64) }).optional(),
});
export type Reject = z.infer<typeof rejectSchema>;

/** A patient row on a ward board: minimum identifiable data only. */
export const patientRowSchema = z.strictObject({
  site: z.string(),
  patientId: z.string(),
  nhsNumber: z.string().optional(),
  spellId: z.string(),
  initials: z.string().optional(),
  ward: z.string(),
  bed: z.string().optional(),
  admittedAt: z.number(),
  losDays: z.number(),
  status: z.enum(['admitted', 'on_leave', 'discharged']),
  flags: z.array(z.string()),
  expectedDischargeAt: z.number().optional(),
  crfdReason: z.string().optional(),
  /** CRFD delay days in this spell so far (all periods and reasons). */
  crfdDays: z.number().optional(),
  legalStatus: z.string().optional(),
  outOfArea: z.boolean().optional(),
  /** When the current out-of-area placement began (moves between external units continue it). */
  oapSince: z.number().optional(),
  distanceFromHomeKm: z.number().optional(),
});
export type PatientRow = z.infer<typeof patientRowSchema>;
