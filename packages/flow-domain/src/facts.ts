// What a patient contributes to shared aggregates, and which clocks they have running.
// The store never increments a counter by hand: it diffs the facts before and after an
// event and applies the difference, so ward counters always equal the sum of patients.
import type { Alert, AlertRule, FlowEvent, WardType } from '@pfm/contracts';
import { period, ukLimitText } from './calendar';
import type { PatientView, Spell, WardStay } from './pathway';
import { DAY_MS, DEFAULT_THRESHOLDS, HOUR_MS, losCrossingAt, losRulesFor, responseHoursFor, SOURCES, type MhaClock, type Thresholds } from './thresholds';

export interface DomainContext {
  thresholds: Thresholds;
  wardType(ward: string): WardType;
  /**
   * From the ward registry: true for a unit outside the trust (an out-of-area placement),
   * false for a registered local ward, undefined when the registry does not know the code.
   */
  external?(ward: string): boolean | undefined;
}

/** Whether a ward stay is an out-of-area placement: the registry decides; the sender's flag only for units it lacks. */
export function stayOutOfArea(stay: Pick<WardStay, 'ward' | 'outOfArea'>, ctx?: Pick<DomainContext, 'external'>): boolean {
  return ctx?.external?.(stay.ward) ?? stay.outOfArea ?? false;
}

/** The current stay of a spell is out of area (see `stayOutOfArea`). */
export function spellOutOfArea(s: Spell, ctx?: Pick<DomainContext, 'external'>): boolean {
  const last = s.stays[s.stays.length - 1];
  return last ? stayOutOfArea(last, ctx) : false;
}

/** Start of the unbroken run of out-of-area stays that the spell is in now (moves between external units continue it). */
export function oapSince(s: Spell, ctx?: Pick<DomainContext, 'external'>): number | undefined {
  let since: number | undefined;
  for (let i = s.stays.length - 1; i >= 0 && stayOutOfArea(s.stays[i]!, ctx); i--) since = s.stays[i]!.from;
  return since;
}

/**
 * Start of the unbroken run of stays on adult wards (`under18WardTypes`) the spell is in
 * now, undefined when the current ward is not one: the CQC's 48 hours count time on an
 * adult ward, not an earlier stay in a s136 suite (moves between adult wards continue it).
 */
export function adultWardSince(s: Spell, ctx: DomainContext): number | undefined {
  let since: number | undefined;
  for (let i = s.stays.length - 1; i >= 0 && ctx.thresholds.under18WardTypes.includes(ctx.wardType(s.stays[i]!.ward)); i--) since = s.stays[i]!.from;
  return since;
}

/** A counter contribution: scope is "ward:<code>" or "team:<code>". */
export interface CountFact { kind: 'count'; scope: string; name: string; value: number }
/** Membership of a time-indexed set: "los" (score = spell start) and "edd" (score = EDD) per ward; "dta" (score = decision to admit, member = patient) per site. */
export type IndexName = 'los' | 'edd' | 'dta';
export interface IndexFact { kind: 'index'; scope: string; index: IndexName; member: string; score: number }
/** A bed held by a spell. */
export interface BedFact { kind: 'bed'; scope: string; bed: string; member: string }
export type Fact = CountFact | IndexFact | BedFact;

export const factKey = (f: Fact): string =>
  f.kind === 'count' ? `c|${f.scope}|${f.name}` : f.kind === 'index' ? `i|${f.scope}|${f.index}|${f.member}` : `b|${f.scope}|${f.bed}`;

export const spellMember = (patientId: string, spellId: string): string => `${patientId}|${spellId}`;

const openSpells = (v: PatientView): Spell[] => Object.values(v.spells).filter((s) => s.status !== 'discharged');

/** `ctx.external` (the ward registry) decides which stays are out-of-area placements. */
/** One counter contribution (a module function, not a closure per call: this runs for every event). */
function count(out: Fact[], scope: string, name: string): void {
  out.push({ kind: 'count', scope, name, value: 1 });
}

export function facts(patientId: string, v: PatientView, ctx?: Pick<DomainContext, 'external'>): Fact[] {
  const out: Fact[] = [];
  for (const s of openSpells(v)) {
    const scope = `ward:${s.ward}`;
    const member = spellMember(patientId, s.spellId);
    count(out, scope, 'occupied');
    if (s.status === 'on_leave') count(out, scope, 'onLeave');
    if (s.crfd) {
      count(out, scope, 'crfd');
      count(out, scope, `crfd:${s.crfd.reasonCode}`);
    }
    if (spellOutOfArea(s, ctx)) count(out, scope, 'outOfArea');
    out.push({ kind: 'index', scope, index: 'los', member, score: s.admittedAt });
    if (s.expectedDischargeAt !== undefined) out.push({ kind: 'index', scope, index: 'edd', member, score: s.expectedDischargeAt });
    if (s.bed) out.push({ kind: 'bed', scope, bed: s.bed, member });
  }
  for (const k in v.closedBeds) count(out, `ward:${k.split('|')[0]}`, 'closed');
  for (const id in v.referrals) if (v.referrals[id]!.status === 'waiting') count(out, `team:${v.referrals[id]!.team}`, 'waiting');
  if (v.awaitingAdmission) {
    count(out, v.awaitingAdmission.ward ? `ward:${v.awaitingAdmission.ward}` : 'site', 'awaitingAdmission');
    out.push({ kind: 'index', scope: 'site', index: 'dta', member: patientId, score: v.awaitingAdmission.decidedAt });
  }
  return out;
}

/** Merges facts with the same key (sums counts; a patient holds at most one of each index/bed entry). */
function byKey(fs: Fact[]): Map<string, Fact> {
  const m = new Map<string, Fact>();
  for (const f of fs) {
    const k = factKey(f);
    const prev = m.get(k);
    if (prev && prev.kind === 'count' && f.kind === 'count') m.set(k, { ...prev, value: prev.value + f.value });
    else m.set(k, f);
  }
  return m;
}

export type FactOp =
  | { op: 'incr'; scope: string; name: string; by: number }
  | { op: 'zadd'; scope: string; index: IndexName; member: string; score: number }
  | { op: 'zrem'; scope: string; index: IndexName; member: string }
  | { op: 'bedset'; scope: string; bed: string; member: string }
  | { op: 'beddel'; scope: string; bed: string; member: string };

/** The smallest set of operations turning `before` aggregates into `after`. */
export function diffFacts(before: Fact[], after: Fact[]): FactOp[] {
  const b = byKey(before);
  const a = byKey(after);
  const ops: FactOp[] = [];
  for (const [k, f] of b) {
    const g = a.get(k);
    if (f.kind === 'count') {
      const by = (g && g.kind === 'count' ? g.value : 0) - f.value;
      if (by !== 0) ops.push({ op: 'incr', scope: f.scope, name: f.name, by });
    } else if (f.kind === 'index') {
      if (!g) ops.push({ op: 'zrem', scope: f.scope, index: f.index, member: f.member });
      else if (g.kind === 'index' && g.score !== f.score) ops.push({ op: 'zadd', scope: g.scope, index: g.index, member: g.member, score: g.score });
    } else if (!g || (g.kind === 'bed' && g.member !== f.member)) {
      ops.push({ op: 'beddel', scope: f.scope, bed: f.bed, member: f.member });
      if (g && g.kind === 'bed') ops.push({ op: 'bedset', scope: g.scope, bed: g.bed, member: g.member });
    }
  }
  for (const [k, g] of a) {
    if (b.has(k)) continue;
    if (g.kind === 'count') ops.push({ op: 'incr', scope: g.scope, name: g.name, by: g.value });
    else if (g.kind === 'index') ops.push({ op: 'zadd', scope: g.scope, index: g.index, member: g.member, score: g.score });
    else ops.push({ op: 'bedset', scope: g.scope, bed: g.bed, member: g.member });
  }
  return ops;
}

/** A clock that will make an alert true at `dueAt` unless an event stops it first. */
export interface Timer {
  alertId: string;
  rule: AlertRule;
  dueAt: number;
  threshold: Alert['threshold'];
  ward?: string;
  team?: string;
  spellId?: string;
  referralId?: string;
  /** What the clock is about, for the alert's message (e.g. the Mental Health Act section). */
  detail?: string;
  /** The patient's catchment area, for routing (crisis scopes are by team and area). */
  area?: string;
}

/** Where an alert is routed: the ward, team and catchment area its clock names. */
export interface AlertPlace { ward?: string; team?: string; area?: string }

/**
 * Clocks that run on across an event but now name another ward, team or area: a transfer
 * (A02) moves the patient's length-of-stay, EDD, leave, under-18 and Mental Health Act
 * clocks to the new ward; a new catchment area moves a follow-up clock to that area's
 * team. The alert such a clock raised follows the patient there (same alert: its
 * acknowledgement, owner and escalation stay), so the new ward's board and the roles
 * routed by ward, team and area see it, and the old ward's no longer does.
 */
export function movedClocks(before: readonly Timer[], after: readonly Timer[]): { alertId: string; place: AlertPlace }[] {
  const out: { alertId: string; place: AlertPlace }[] = [];
  for (let i = 0; i < after.length; i++) {
    const t = after[i]!;
    // With a repeated id the last one counts (as the store's clock diff reads them).
    if (after.findLastIndex((x) => x.alertId === t.alertId) !== i) continue;
    const b = before.findLast((x) => x.alertId === t.alertId);
    if (!b || (b.ward === t.ward && b.team === t.team && b.area === t.area)) continue;
    out.push({ alertId: t.alertId, place: { ...(t.ward !== undefined ? { ward: t.ward } : {}), ...(t.team !== undefined ? { team: t.team } : {}), ...(t.area !== undefined ? { area: t.area } : {}) } });
  }
  return out;
}

const spellAlertId = (rule: AlertRule, site: string, patientId: string, spellId: string, tail: string | number): string => `${rule}:${site}:${patientId}:${spellId}:${tail}`;

/** A length-of-stay clock of an open spell. */
function losTimer(out: Timer[], t: Thresholds, site: string, patientId: string, s: Spell, rule: AlertRule, days: number): void {
  out.push({ alertId: spellAlertId(rule, site, patientId, s.spellId, `${days}d`), rule, dueAt: losCrossingAt(t, s.admittedAt, days), threshold: { value: days, unit: 'days' }, ward: s.ward, spellId: s.spellId });
}

export function timers(site: string, patientId: string, v: PatientView, ctx: DomainContext): Timer[] {
  const out: Timer[] = [];
  for (const s of Object.values(v.spells)) spellTimers(out, site, patientId, v, s, ctx);
  waitTimer(out, site, patientId, v, ctx);
  for (const r of Object.values(v.referrals)) referralTimer(out, site, r, ctx);
  return out;
}

/**
 * What one event can change of a patient's clocks: the clocks of its own spell (a
 * transfer, leave, CRFD, EDD or follow-up contact: each writes into its spell alone, as
 * `copyViewFor` copies) or of its own referral; undefined when it may change anything (an
 * admission ends a decision to admit and stops an earlier spell's follow-up clock, a
 * discharge may end a decision, an update or a new referral may move the patient's area
 * or age band, cancels and merges re-shape the history).
 */
export type ClockScope = { spellId: string; referralId?: undefined } | { referralId: string; spellId?: undefined };

export function clockScope(e: FlowEvent): ClockScope | undefined {
  switch (e.type) {
    case 'patient.transferred': case 'leave.started': case 'leave.ended': case 'crfd.started': case 'crfd.ended':
    case 'edd.set': case 'followup.made':
      return { spellId: e.payload.spellId };
    case 'referral.assessed': case 'referral.accepted': case 'referral.closed':
      return { referralId: e.payload.referralId };
    default:
      return undefined;
  }
}

/**
 * The patient's clocks after an event of `scope`, from the clocks before it: that spell's
 * or referral's computed again, the decision-to-admit clock computed again (a referral's
 * team type decides whether it runs), every other clock as it was; in the order `timers`
 * gives. Equal to `timers(site, patientId, v, ctx)` when `prior` is the clocks of the view
 * before the event and the event changed nothing outside its scope (`clockScope`);
 * `properties.test.ts` checks it on random pathways. Without a scope: `timers`.
 */
export function timersAfter(site: string, patientId: string, v: PatientView, ctx: DomainContext, prior: readonly Timer[], scope: ClockScope | undefined): Timer[] {
  if (!scope) return timers(site, patientId, v, ctx);
  const out: Timer[] = [];
  for (const s of Object.values(v.spells)) {
    if (s.spellId === scope.spellId) spellTimers(out, site, patientId, v, s, ctx);
    else for (const t of prior) if (t.spellId === s.spellId) out.push(t);
  }
  waitTimer(out, site, patientId, v, ctx);
  for (const r of Object.values(v.referrals)) {
    if (r.referralId === scope.referralId) referralTimer(out, site, r, ctx);
    else for (const t of prior) if (t.referralId === r.referralId) out.push(t);
  }
  return out;
}

/** The clocks of one spell: length of stay, leave, under-18s, Mental Health Act, EDD while open; the 72 h follow-up once discharged. */
function spellTimers(out: Timer[], site: string, patientId: string, v: PatientView, s: Spell, ctx: DomainContext): void {
  const t = ctx.thresholds;
  if (s.status !== 'discharged') {
    const ward = s.ward;
    const rules = losRulesFor(t, ctx.wardType(ward));
    if (rules.strandedDays !== null) losTimer(out, t, site, patientId, s, 'stranded', rules.strandedDays);
    if (rules.superStrandedDays !== null) losTimer(out, t, site, patientId, s, 'super_stranded', rules.superStrandedDays);
    for (const d of rules.longStayDays) losTimer(out, t, site, patientId, s, 'long_stay', d);
    if (s.status === 'on_leave' && s.leave) {
      if (s.leave.leaveType && t.awolLeaveTypes.includes(s.leave.leaveType.toUpperCase())) {
        out.push({ alertId: spellAlertId('awol', site, patientId, s.spellId, s.leave.startedAt), rule: 'awol', dueAt: s.leave.startedAt, threshold: { value: 0, unit: 'hours' }, ward, spellId: s.spellId });
      } else if (s.leave.expectedReturnAt !== undefined) {
        out.push({ alertId: spellAlertId('leave_overdue', site, patientId, s.spellId, s.leave.expectedReturnAt), rule: 'leave_overdue', dueAt: s.leave.expectedReturnAt, threshold: { value: 0, unit: 'hours' }, ward, spellId: s.spellId });
      }
    }
    const adultSince = v.ageBand === '0-17' ? adultWardSince(s, ctx) : undefined;
    if (adultSince !== undefined) {
      out.push({ alertId: spellAlertId('under18_adult_ward', site, patientId, s.spellId, adultSince), rule: 'under18_adult_ward', dueAt: adultSince + t.under18Hours * HOUR_MS, threshold: { value: t.under18Hours, unit: 'hours' }, ward, spellId: s.spellId });
    }
    const mha = mhaClock(s, t.mhaClocks);
    if (mha) {
      out.push({
        alertId: spellAlertId('mha_expiry', site, patientId, s.spellId, `${s.legalStatus}:${s.legalSince}`), rule: 'mha_expiry', dueAt: mha.endsAt - mha.clock.warnBeforeHours * HOUR_MS,
        threshold: mha.threshold, ward, spellId: s.spellId,
        detail: `${mha.clock.label} expires ${ukLimitText(mha.endsAt)}`,
      });
    }
    if (s.expectedDischargeAt !== undefined) {
      out.push({ alertId: `edd_passed:${site}:${patientId}:${s.spellId}:${s.expectedDischargeAt}`, rule: 'edd_passed', dueAt: s.expectedDischargeAt, threshold: { value: 0, unit: 'days' }, ward, spellId: s.spellId });
    }
  } else if (s.followUpAt === undefined && followUpOutcome(s, ctx, v.area)?.eligible) {
    const team = v.area ? t.teamsByArea[v.area] : undefined;
    out.push({
      // One alert per discharge, not per spell: after an A13 and a real discharge the new clock's alert is a new one.
      alertId: `followup_missed:${site}:${patientId}:${s.spellId}:${s.dischargedAt}`, rule: 'followup_missed', dueAt: followUpOutcome(s, ctx, v.area)!.dueAt,
      threshold: { value: t.followUpHours, unit: 'hours' }, ward: s.ward, spellId: s.spellId, ...(team ? { team } : {}), ...(v.area ? { area: v.area } : {}),
    });
  }
}

/** The 12-hour clock of an emergency decision to admit still waiting for a bed. */
function waitTimer(out: Timer[], site: string, patientId: string, v: PatientView, ctx: DomainContext): void {
  const t = ctx.thresholds;
  if (!v.awaitingAdmission || !emergencyAdmission(v, t)) return;
  const h = t.admissionWaitHours;
  out.push({ alertId: `admission_wait:${site}:${patientId}:${v.awaitingAdmission.decidedAt}`, rule: 'admission_wait', dueAt: v.awaitingAdmission.decidedAt + h * HOUR_MS, threshold: { value: h, unit: 'hours' }, ...(v.awaitingAdmission.ward ? { ward: v.awaitingAdmission.ward } : {}), ...(v.area ? { area: v.area } : {}) });
}

/** A waiting referral's response clock. */
function referralTimer(out: Timer[], site: string, r: PatientView['referrals'][string], ctx: DomainContext): void {
  if (r.status !== 'waiting') return;
  const hours = responseHoursFor(ctx.thresholds, r.teamType, r.urgency);
  out.push({ alertId: `referral_response:${site}:${r.referralId}:${hours}h`, rule: 'referral_response', dueAt: r.receivedAt + hours * HOUR_MS, threshold: { value: hours, unit: 'hours' }, team: r.team, referralId: r.referralId });
}

/** Where a decision to admit came from, by the referring team's type. */
const DTA_SOURCE: Record<string, string> = { liaison: 'A&E', crisis: 'crisis team', home_treatment: 'crisis team', community: 'community' };

/**
 * Whether the patient's decision to admit is an emergency admission, so the 12-hour wait
 * clock applies: the decision's admission method is not a planned one (`plannedAdmissionMethods`,
 * e.g. an A05 pre-admission booked from the waiting list), and the referring team's type is
 * one of `admissionWaitTeamTypes`, or there is no referral to tell (fails safe).
 */
export function emergencyAdmission(v: PatientView, t: Pick<Thresholds, 'admissionWaitTeamTypes'> & Partial<Pick<Thresholds, 'plannedAdmissionMethods'>>): boolean {
  const a = v.awaitingAdmission;
  if (a?.admissionMethod && (t.plannedAdmissionMethods ?? []).includes(a.admissionMethod.toUpperCase())) return false;
  const ref = a?.referralId ? v.referrals[a.referralId] : undefined;
  return !ref || t.admissionWaitTeamTypes.includes(ref.teamType);
}

/** `emergency`: the 12-hour clock applies (`emergencyAdmission`); a planned admission waits without it. */
export interface AdmissionWaiting { patientId: string; decidedAt: number; waitedHours: number; source: string; emergency: boolean; sex?: string; referralId?: string; ward?: string }

/** A patient in the decision-to-admit queue (undefined when not waiting for a bed). */
export function admissionWaiting(patientId: string, v: PatientView, now: number, t: Pick<Thresholds, 'admissionWaitTeamTypes'> & Partial<Pick<Thresholds, 'plannedAdmissionMethods'>> = DEFAULT_THRESHOLDS): AdmissionWaiting | undefined {
  const a = v.awaitingAdmission;
  if (!a) return undefined;
  const ref = a.referralId ? v.referrals[a.referralId] : undefined;
  const sex = a.gender ?? v.gender;
  return {
    patientId, decidedAt: a.decidedAt, waitedHours: Math.floor(Math.max(0, now - a.decidedAt) / HOUR_MS), source: ref ? DTA_SOURCE[ref.teamType] ?? ref.teamType : 'unknown',
    emergency: emergencyAdmission(v, t),
    ...(sex ? { sex } : {}), ...(a.referralId ? { referralId: a.referralId } : {}), ...(a.ward ? { ward: a.ward } : {}),
  };
}

/** One discharge waiting for its 72h follow-up contact (negative hoursLeft = overdue). */
export interface FollowUpDue {
  site: string; patientId: string; spellId: string; ward: string; area?: string; team?: string;
  dischargedAt: number; dueAt: number; hoursLeft: number;
}

/** The follow-up worklist entries of one patient: discharges with a running 72h clock, whatever their time left. */
export function followUpDue(site: string, patientId: string, v: PatientView, ctx: DomainContext, now: number): FollowUpDue[] {
  return timers(site, patientId, v, ctx)
    .filter((t) => t.rule === 'followup_missed' && t.spellId)
    .map((t) => ({
      site, patientId, spellId: t.spellId!, ward: t.ward ?? '', ...(t.area ? { area: t.area } : {}), ...(t.team ? { team: t.team } : {}),
      dischargedAt: v.spells[t.spellId!]!.dischargedAt!, dueAt: t.dueAt, hoursLeft: Math.floor((t.dueAt - now) / HOUR_MS),
    }));
}

/**
 * The Mental Health Act clock a spell's legal status runs: from when the status began, or,
 * for an extension (s136 + 12 h) entered while the detention it extends still ran, from
 * that detention's start to the extension's hours. An extension recorded after the
 * detention expired extends nothing: the detention's own expiry stands. A status that
 * counts from another (s5(2) reported during a s5(4)) counts from that one's start when
 * entered while it ran, else from its own.
 */
export function mhaClock(s: Spell, clocks: Thresholds['mhaClocks']): { clock: MhaClock; since: number; endsAt: number; threshold: { value: number; unit: 'hours' | 'days' } } | undefined {
  const clock = s.legalStatus ? clocks[s.legalStatus] : undefined;
  if (!clock || s.legalSince === undefined) return undefined;
  const own = { clock, since: s.legalSince, ...clockEnd(clock, s.legalSince) };
  const before = s.legalBefore;
  const linked = clock.extends ?? clock.countsFrom;
  const base = linked !== undefined && before?.status === linked ? clocks[linked] : undefined;
  if (!base || !before) return own;
  const inTime = s.legalSince < clockEnd(base, before.since).endsAt;
  if (clock.extends === undefined) return inTime ? { clock, since: before.since, ...clockEnd(clock, before.since) } : own;
  return { clock, since: before.since, ...clockEnd(inTime ? clock : base, before.since) };
}

/** When a clock started at `since` runs out, and its length as an alert's threshold (days for calendar periods). */
function clockEnd(clock: MhaClock, since: number): { endsAt: number; threshold: { value: number; unit: 'hours' | 'days' } } {
  if (clock.days === undefined && clock.months === undefined) {
    const hours = clock.hours ?? 0;
    return { endsAt: since + hours * HOUR_MS, threshold: { value: hours, unit: 'hours' } };
  }
  const p = period(since, { days: clock.days, months: clock.months });
  return { endsAt: p.endsAt, threshold: { value: p.days, unit: 'days' } };
}

/** Whether a discharge starts the 72 h follow-up clock; `area` is the patient's area of residence (catchment code) when known. */
export function followUpEligible(s: Spell, ctx: DomainContext, area?: string): boolean {
  const t = ctx.thresholds;
  // Not resident in England: outside the indicator (domain.md).
  if (area && (t.followUpExemptAreas ?? []).includes(area.toUpperCase())) return false;
  if (s.destination && t.followUpExemptDestinations.includes(s.destination.toLowerCase())) return false;
  if (s.dischargeMethod && t.followUpExemptMethods.includes(s.dischargeMethod)) return false;
  return t.followUpWardTypes.includes(ctx.wardType(s.ward));
}

/**
 * The 72 h follow-up of a closed spell, as the live board and the warehouse both count it
 * (one rule, so the board's clock and the reported measure mean the same thing):
 * `eligible` when the discharge starts the clock (`followUpEligible`, with the patient's
 * area of residence), `dueAt` when the clock runs out, `within` when a follow-up contact
 * was recorded by then. Undefined while the spell is open.
 */
export function followUpOutcome(s: Spell, ctx: DomainContext, area?: string): { eligible: boolean; dueAt: number; within: boolean } | undefined {
  if (s.dischargedAt === undefined) return undefined;
  const dueAt = s.dischargedAt + ctx.thresholds.followUpHours * HOUR_MS;
  return { eligible: followUpEligible(s, ctx, area), dueAt, within: s.followUpAt !== undefined && s.followUpAt <= dueAt };
}

const SEVERITY: Record<AlertRule, Alert['severity']> = {
  stranded: 'info', super_stranded: 'warning', long_stay: 'warning', edd_passed: 'info',
  referral_response: 'critical', followup_due: 'warning', followup_missed: 'critical', occupancy: 'warning',
  leave_overdue: 'warning', awol: 'critical', under18_adult_ward: 'critical', mha_expiry: 'critical', admission_wait: 'critical',
};

function describe(timer: Timer, who: string): string {
  const th = `${timer.threshold.value} ${timer.threshold.unit}`;
  switch (timer.rule) {
    case 'stranded': return `${who} has been in hospital ${th} (stranded)`;
    case 'super_stranded': return `${who} has been in hospital ${th} (super-stranded)`;
    case 'long_stay': return `${who} has been in hospital ${th} (long stay)`;
    case 'edd_passed': return `${who} is past their expected date of discharge`;
    case 'referral_response': return `Referral ${timer.referralId} not responded to within ${th}`;
    case 'followup_missed': return `${who}: no follow-up contact within ${th} of discharge`;
    case 'followup_due': return `${who}: 72h follow-up due`;
    case 'occupancy': return `Occupancy above ${th}`;
    case 'leave_overdue': return `${who} is overdue back from leave`;
    case 'awol': return `${who} is absent without leave`;
    case 'under18_adult_ward': return `${who} is under 18 and has been on an adult ward ${th}: notify the CQC`;
    case 'mha_expiry': return `${who}: ${timer.detail ?? 'Mental Health Act detention'}`;
    case 'admission_wait': return `${who} has waited ${th} for a bed since the decision to admit`;
  }
}

/**
 * The alert for a timer that has fired, if its condition still holds in the current view
 * (an event may have stopped the clock after the timer was scheduled).
 */
export function alertFor(site: string, patientId: string, nhsNumber: string | undefined, v: PatientView, ctx: DomainContext, timer: Timer, now: number, running?: readonly Timer[]): Alert | null {
  // `running`: the view's clocks when the caller has them (timers(site, patientId, v, ctx)), so they are not computed again.
  const live = (running ?? timers(site, patientId, v, ctx)).find((x) => x.alertId === timer.alertId);
  if (!live || live.dueAt > now) return null;
  const who = nhsNumber ? `NHS ${nhsNumber.slice(0, 3)} ${nhsNumber.slice(3, 6)} ${nhsNumber.slice(6)}` : `Patient ${patientId}`;
  return {
    alertId: live.alertId, rule: live.rule, severity: SEVERITY[live.rule], threshold: live.threshold, source: SOURCES[live.rule as keyof typeof SOURCES],
    message: describe(live, who), site, ward: live.ward, team: live.team, ...(live.area ? { area: live.area } : {}), patientId, nhsNumber, spellId: live.spellId, referralId: live.referralId,
    becameTrueAt: live.dueAt, raisedAt: now,
  };
}

export { DAY_MS };
