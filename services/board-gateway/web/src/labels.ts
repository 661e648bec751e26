// Words for rules, flags and pressure levels. Every status shown in colour is also
// shown as text and an icon shape (never colour alone).
import type { Alert, AlertRule, WardSummary } from '@pfm/contracts';

export const RULE_LABELS: Record<AlertRule, string> = {
  stranded: 'Stranded',
  super_stranded: 'Super-stranded',
  long_stay: 'Long stay',
  edd_passed: 'Expected discharge date passed',
  referral_response: 'Referral response time',
  followup_due: '72-hour follow-up due',
  followup_missed: '72-hour follow-up missed',
  occupancy: 'Bed occupancy',
  leave_overdue: 'Overdue back from leave',
  awol: 'Absent without leave',
  under18_adult_ward: 'Under 18 on an adult ward',
  mha_expiry: 'Mental Health Act time limit',
  admission_wait: '12-hour wait for a bed',
};

/** Roles of the escalation chain as people say them (a trust may name others: shown humanised). */
export const ROLE_LABELS: Record<string, string> = {
  ward: 'ward staff',
  crisis_team: 'crisis team',
  bed_manager: 'bed manager',
  ops: 'ops (on call)',
};
export const roleLabel = (role: string): string => ROLE_LABELS[role] ?? humanise(role).toLowerCase();

/** "Escalated to bed manager (level 1)": who an unacknowledged alert went to when nobody acknowledged it in time. */
export function escalationText(e: NonNullable<Alert['escalated']>): string {
  return `Escalated to ${roleLabel(e.role)} (level ${e.level})`;
}

/** Every rule (the Record type above makes the compiler check none is missing). */
export const ALERT_RULE_ORDER = Object.keys(RULE_LABELS) as AlertRule[];

export const ruleLabel = (rule: string): string => (RULE_LABELS as Record<string, string>)[rule] ?? humanise(rule);

export function thresholdText(t: Alert['threshold']): string {
  const unit = t.unit === 'percent' ? '%' : ` ${t.value === 1 ? t.unit.replace(/s$/, '') : t.unit}`;
  return `${t.value}${unit}`;
}

/** Flow event types as a timeline shows them. */
const EVENT_LABELS: Record<string, string> = {
  'patient.admitted': 'Admitted', 'patient.transferred': 'Transferred', 'patient.discharged': 'Discharged',
  'patient.updated': 'Details updated', 'leave.started': 'Leave started', 'leave.ended': 'Returned from leave',
  'crfd.started': 'Clinically ready for discharge', 'crfd.ended': 'No longer ready for discharge',
  'edd.set': 'Expected discharge date set', 'followup.made': 'Follow-up contact made', 'alert.acknowledged': 'Alert acknowledged', 'alert.owned': 'Alert owned',
  'admission.decided': 'Admission decided', 'referral.received': 'Referral received', 'referral.assessed': 'Referral assessed',
  'referral.accepted': 'Referral accepted', 'referral.closed': 'Referral closed',
};
export const eventTypeLabel = (type: string): string => EVENT_LABELS[type] ?? humanise(type.replace(/\./g, ' '));

export function humanise(s: string): string {
  const w = s.replace(/[_-]+/g, ' ').trim();
  return w.charAt(0).toUpperCase() + w.slice(1);
}

/** Patient flags as the server sends them (same words as GET /api/v1/patients?flag=...). */
export const FLAG_LABELS: Record<string, string> = {
  stranded: 'Stranded 7d+',
  super_stranded: 'Super-stranded 21d+',
  long_stay: 'Long stay',
  crfd: 'Ready for discharge',
  edd_passed: 'EDD passed',
  oap: 'Out of area',
  on_leave: 'On leave',
};

/** Length-of-stay tiers: only the highest one is shown as a chip (each implies the ones below). */
export const LOS_TIERS = ['long_stay', 'super_stranded', 'stranded'] as const;

// ---- Ward pressure (client-side, for ordering the site board) ----
// The contracts give no per-ward pressure, so the board derives one from occupancy
// including leave (RCPsych: at most 85%), and breaks ties by the flow problems on the
// ward. The rule is shown on screen so nobody has to guess why a ward is on top.

export type PressureLevel = 1 | 2 | 3 | 4;
export const PRESSURE_LABELS: Record<PressureLevel, string> = { 1: 'Normal', 2: 'Elevated', 3: 'High', 4: 'Critical' };
export const PRESSURE_RULE_TEXT = 'Ward pressure from occupancy including leave: Normal up to 85%, Elevated over 85%, High from 95%, Critical from 100% or no free bed.';

export interface WardPressure { level: PressureLevel; label: string; reason: string }

export function wardPressure(w: WardSummary): WardPressure {
  const pct = w.occupancyInclLeavePct;
  const available = w.beds - w.closed;
  let level: PressureLevel = 1;
  let reason = `Occupancy incl. leave ${Math.round(pct)}%`;
  if (pct >= 100 || (available > 0 && w.free <= 0)) {
    level = 4;
    if (w.free <= 0 && pct < 100) reason += ', no free bed';
  } else if (pct >= 95) level = 3;
  else if (pct > 85) level = 2;
  return { level, label: PRESSURE_LABELS[level], reason };
}

/** Highest pressure first; then occupancy incl. leave; then stuck patients; then ward code. */
export function compareWardsByPressure(a: WardSummary, b: WardSummary): number {
  const pa = wardPressure(a).level;
  const pb = wardPressure(b).level;
  return pb - pa
    || b.occupancyInclLeavePct - a.occupancyInclLeavePct
    || (b.superStranded + b.crfd) - (a.superStranded + a.crfd)
    || a.ward.localeCompare(b.ward, 'en-GB', { numeric: true });
}
