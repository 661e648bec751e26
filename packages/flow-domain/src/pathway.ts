// The pathway state machine. A patient's state is the fold of their accepted events in
// event-time order; cancels remove exactly the event they cancel before the fold, so
// "undo" can never drift from "do". Pure: no I/O, no clock.
import type { FlowEvent, FlowEventOf, FlowEventType } from '@pfm/contracts';

export type SpellStatus = 'admitted' | 'on_leave' | 'discharged';

/** `outOfArea` is what the sender said of this stay; the ward registry, when it knows the unit, decides (see `stayOutOfArea`). */
export interface WardStay { ward: string; bed?: string; from: number; outOfArea?: boolean }

export interface Spell {
  spellId: string;
  status: SpellStatus;
  admittedAt: number;
  ward: string;
  bed?: string;
  stays: WardStay[];
  leave?: { startedAt: number; leaveType?: string; expectedReturnAt?: number };
  crfd?: { startedAt: number; reasonCode: string };
  crfdPeriods: number;
  /** Every reason period of every CRFD period of the spell ("to" unset while open), so delay days go to the right reason. */
  crfdReasons: CrfdReasonPeriod[];
  expectedDischargeAt?: number;
  eddChanges: number;
  outOfArea?: boolean;
  oapReason?: string;
  distanceFromHomeKm?: number;
  legalStatus?: string;
  /** When the current legal status began (its Mental Health Act clock runs from here). */
  legalSince?: number;
  /** The legal status before the current one and when it began (an extension's clock runs from there). */
  legalBefore?: { status: string; since: number };
  admissionMethod?: string;
  admissionSource?: string;
  dischargedAt?: number;
  destination?: string;
  dischargeMethod?: string;
  /** When the post-discharge follow-up happened: the first follow-up contact, or a readmission (a new spell) before any contact. */
  followUpAt?: number;
  /** What stopped the follow-up clock: a contact (followup.made) or a readmission. */
  followUpBy?: 'contact' | 'readmission';
}

export interface CrfdReasonPeriod { reasonCode: string; from: number; to?: number }

export interface Referral {
  referralId: string;
  team: string;
  teamType: string;
  urgency: string;
  receivedAt: number;
  status: 'waiting' | 'assessed' | 'accepted' | 'closed';
  respondedAt?: number;
}

export interface PatientView {
  spells: Record<string, Spell>;
  referrals: Record<string, Referral>;
  /** `spellId`: the visit the decision came with (A04/A05 PV1-19), when the sender gave one. */
  awaitingAdmission?: { decidedAt: number; ward?: string; referralId?: string; gender?: string; spellId?: string; admissionMethod?: string };
  initials?: string;
  ageBand?: string;
  gender?: string;
  ethnicity?: string;
  area?: string;
  closedBeds: Record<string, string>; // ward pseudo-patients only: "ward|bed" -> reason
  acknowledged: Record<string, { by: string; at: number; note?: string }>;
  mergedFrom: string[];
  unmapped: number;
}

export type StepResult = { ok: true } | { ok: false; kind: 'unknown_spell' | 'invalid'; reason: string };

export const emptyView = (): PatientView => ({ spells: {}, referrals: {}, closedBeds: {}, acknowledged: {}, mergedFrom: [], unmapped: 0 });

const CANCELS: Partial<Record<FlowEventType, FlowEventType>> = {
  'admission.cancelled': 'patient.admitted',
  'transfer.cancelled': 'patient.transferred',
  'discharge.cancelled': 'patient.discharged',
};

/** Event-time order; ties broken by arrival (recordedAt) then id so the order is total and stable. */
export function compareEvents(a: FlowEvent, b: FlowEvent): number {
  return a.occurredAt - b.occurredAt || a.recordedAt - b.recordedAt || (a.eventId < b.eventId ? -1 : a.eventId > b.eventId ? 1 : 0);
}

function targetType(c: FlowEvent): FlowEventType | undefined {
  if (c.type === 'leave.cancelled') return c.payload.which === 'start' ? 'leave.started' : 'leave.ended';
  return CANCELS[c.type];
}

/** The events between a cancelled event and its cancel, in the same spell: they may have depended on it. */
export interface CancelShadow { spellId: string; fromIndex: number; toIndex: number; cancelled: FlowEventType }

/**
 * Pairs each cancel with the latest earlier, not yet cancelled event of the type it
 * cancels in the same spell. An admission cancel (A11, A38) that finds no admission of
 * its spell cancels the decision to admit of that visit (an A04 registration or A05
 * pre-admission sent with the same PV1-19), so the patient leaves the queue for a bed.
 * Returns the ids of both sides, the cancels that found nothing to cancel, and each
 * pair's shadow (the events of that spell between them).
 */
export function resolveCancels(events: readonly FlowEvent[]): { removed: Set<string>; orphans: FlowEvent[]; shadows: CancelShadow[] } {
  const removed = new Set<string>();
  const orphans: FlowEvent[] = [];
  const shadows: CancelShadow[] = [];
  for (let i = 0; i < events.length; i++) {
    const c = events[i]!;
    const tt = targetType(c);
    if (!tt) continue;
    const spellId = (c.payload as { spellId: string }).spellId;
    const found = pairCancel(events, i, tt, spellId, removed, shadows) || (tt === 'patient.admitted' && pairCancel(events, i, 'admission.decided', spellId, removed, shadows));
    if (!found) orphans.push(c);
  }
  return { removed, orphans, shadows };
}

/** Pairs the cancel at `i` with the latest earlier, not yet cancelled event of type `tt` in its spell. */
function pairCancel(events: readonly FlowEvent[], i: number, tt: FlowEventType, spellId: string, removed: Set<string>, shadows: CancelShadow[]): boolean {
  for (let j = i - 1; j >= 0; j--) {
    const t = events[j]!;
    if (t.type === tt && !removed.has(t.eventId) && (t.payload as { spellId?: string }).spellId === spellId) {
      removed.add(t.eventId);
      removed.add(events[i]!.eventId);
      shadows.push({ spellId, fromIndex: j, toIndex: i, cancelled: tt });
      return true;
    }
  }
  return false;
}

function closeCrfdReason(s: Spell, at: number): void {
  const open = s.crfdReasons[s.crfdReasons.length - 1];
  if (s.crfd && open && open.to === undefined) open.to = at;
}

/** CRFD delay days so far, in total and by reason (days to one decimal; open periods count up to `now`). */
export function crfdDelayDays(s: Spell, now: number): { total: number; byReason: Record<string, number> } {
  const byReason: Record<string, number> = {};
  let total = 0;
  for (const p of s.crfdReasons ?? []) {
    const ms = Math.max(0, (p.to ?? s.dischargedAt ?? now) - p.from);
    byReason[p.reasonCode] = (byReason[p.reasonCode] ?? 0) + ms;
    total += ms;
  }
  const d = (ms: number) => Math.round((ms / 86_400_000) * 10) / 10;
  return { total: d(total), byReason: Object.fromEntries(Object.entries(byReason).map(([k, v]) => [k, d(v)])) };
}

const isOpen = (s: Spell | undefined): boolean => !!s && s.status !== 'discharged';

function needSpell(v: PatientView, spellId: string, what: string): Spell | StepResult {
  const s = v.spells[spellId];
  if (!s) return { ok: false, kind: 'unknown_spell', reason: `${what} for unknown spell ${spellId}` };
  return s;
}

/** Applies one (non-cancel) event to the view in place. */
export function step(v: PatientView, e: FlowEvent): StepResult {
  const at = e.occurredAt;
  switch (e.type) {
    case 'referral.received': {
      const p = e.payload;
      if (v.referrals[p.referralId]) return { ok: false, kind: 'invalid', reason: `referral ${p.referralId} already received` };
      v.referrals[p.referralId] = { referralId: p.referralId, team: p.team, teamType: p.teamType, urgency: p.urgency, receivedAt: at, status: 'waiting' };
      if (p.area) v.area = p.area;
      return { ok: true };
    }
    case 'referral.assessed':
    case 'referral.accepted':
    case 'referral.closed': {
      const r = v.referrals[e.payload.referralId];
      if (!r) return { ok: false, kind: 'unknown_spell', reason: `${e.type} for unknown referral ${e.payload.referralId}` };
      if (r.status === 'closed') return { ok: false, kind: 'invalid', reason: `referral ${r.referralId} is closed` };
      r.status = e.type === 'referral.assessed' ? 'assessed' : e.type === 'referral.accepted' ? 'accepted' : 'closed';
      r.respondedAt ??= at;
      return { ok: true };
    }
    case 'admission.decided':
      v.awaitingAdmission = { decidedAt: at, ward: e.payload.ward, referralId: e.payload.referralId, gender: e.payload.gender, ...(e.payload.spellId ? { spellId: e.payload.spellId } : {}), ...(e.payload.admissionMethod ? { admissionMethod: e.payload.admissionMethod } : {}) };
      if (e.payload.gender) v.gender = e.payload.gender;
      return { ok: true };
    case 'patient.admitted': {
      const p = e.payload;
      if (v.spells[p.spellId]) return { ok: false, kind: 'invalid', reason: `spell ${p.spellId} is already admitted` };
      const open = Object.values(v.spells).find(isOpen);
      if (open) return { ok: false, kind: 'invalid', reason: `patient already has open spell ${open.spellId}` };
      v.spells[p.spellId] = {
        spellId: p.spellId, status: 'admitted', admittedAt: at, ward: p.ward, bed: p.bed, stays: [{ ward: p.ward, bed: p.bed, from: at, ...(p.outOfArea !== undefined ? { outOfArea: p.outOfArea } : {}) }],
        crfdPeriods: 0, crfdReasons: [], expectedDischargeAt: p.expectedDischargeAt, eddChanges: 0, outOfArea: p.outOfArea, oapReason: p.oapReason,
        distanceFromHomeKm: p.distanceFromHomeKm, legalStatus: p.legalStatus, legalSince: p.legalStatus ? at : undefined, admissionMethod: p.admissionMethod, admissionSource: p.admissionSource,
      };
      if (p.initials) v.initials = p.initials;
      if (p.ageBand) v.ageBand = p.ageBand;
      if (p.gender) v.gender = p.gender;
      if (p.ethnicity) v.ethnicity = p.ethnicity;
      if (p.area) v.area = p.area;
      v.awaitingAdmission = undefined;
      // A readmission is follow-up activity: NHS England's 72-hour follow-up measure (MHSDS
      // MHS78/MHS79, "Discharges from adult acute beds followed up within 72 hours") counts
      // the start of a new hospital provider spell at the same provider as a follow-up
      // contact, as its published code does (github.com/NHSDigital/mental-health-monthly-statistics,
      // menh_publications/notebooks/02_72HOURS/01_Prepare/PrepViews.py, view "Follow": care
      // contacts UNION ALL StartDateHospProvSpell; likewise NHS England's acute dashboard,
      // github.com/nhsengland/MHSDS "Acute dashboard/Discharges", activity type 'Spell').
      // So it stops the 72 h clock of every earlier discharge not yet followed up: met when
      // within the 72 h (followUpOutcome), and a missed-follow-up alert already raised ends.
      for (const d of Object.values(v.spells)) {
        if (d.status === 'discharged' && d.followUpAt === undefined && d.dischargedAt !== undefined && d.dischargedAt <= at) {
          d.followUpAt = at;
          d.followUpBy = 'readmission';
        }
      }
      return { ok: true };
    }
    case 'patient.transferred': {
      const s = needSpell(v, e.payload.spellId, 'transfer');
      if (!('spellId' in s)) return s;
      if (!isOpen(s)) return { ok: false, kind: 'invalid', reason: `transfer of discharged spell ${s.spellId}` };
      s.ward = e.payload.ward;
      s.bed = e.payload.bed;
      s.stays.push({ ward: e.payload.ward, bed: e.payload.bed, from: at, ...(e.payload.outOfArea !== undefined ? { outOfArea: e.payload.outOfArea } : {}) });
      // An A02 rarely says whether the new unit is out of area: the ward registry decides
      // (stayOutOfArea); this is only the sender's word, used for units the registry lacks.
      s.outOfArea = e.payload.outOfArea;
      if (e.payload.oapReason) s.oapReason = e.payload.oapReason;
      return { ok: true };
    }
    case 'leave.started': {
      const s = needSpell(v, e.payload.spellId, 'leave start');
      if (!('spellId' in s)) return s;
      if (s.status !== 'admitted') return { ok: false, kind: 'invalid', reason: `leave start while spell ${s.spellId} is ${s.status}` };
      s.status = 'on_leave';
      s.leave = { startedAt: at, leaveType: e.payload.leaveType, expectedReturnAt: e.payload.expectedReturnAt };
      return { ok: true };
    }
    case 'leave.ended': {
      const s = needSpell(v, e.payload.spellId, 'leave end');
      if (!('spellId' in s)) return s;
      if (s.status !== 'on_leave') return { ok: false, kind: 'invalid', reason: `leave end while spell ${s.spellId} is ${s.status}` };
      s.status = 'admitted';
      s.leave = undefined;
      return { ok: true };
    }
    case 'crfd.started': {
      const s = needSpell(v, e.payload.spellId, 'CRFD start');
      if (!('spellId' in s)) return s;
      if (!isOpen(s)) return { ok: false, kind: 'invalid', reason: `CRFD start on discharged spell ${s.spellId}` };
      if (!s.crfd) s.crfdPeriods += 1;
      if (s.crfd?.reasonCode !== e.payload.reasonCode) {
        closeCrfdReason(s, at);
        s.crfdReasons.push({ reasonCode: e.payload.reasonCode, from: at });
      }
      s.crfd = { startedAt: s.crfd?.startedAt ?? at, reasonCode: e.payload.reasonCode };
      return { ok: true };
    }
    case 'crfd.ended': {
      const s = needSpell(v, e.payload.spellId, 'CRFD end');
      if (!('spellId' in s)) return s;
      if (!s.crfd) return { ok: false, kind: 'invalid', reason: `CRFD end with no open CRFD period on spell ${s.spellId}` };
      closeCrfdReason(s, at);
      s.crfd = undefined;
      return { ok: true };
    }
    case 'edd.set': {
      const s = needSpell(v, e.payload.spellId, 'EDD');
      if (!('spellId' in s)) return s;
      // After the discharge an EDD says nothing (a PAS's A08 repeats PV2-9 on every update,
      // also after the patient has gone): kept in the history, changes nothing, and is not
      // a reject for the ops queue to chase.
      if (!isOpen(s)) return { ok: true };
      if (s.expectedDischargeAt !== undefined && s.expectedDischargeAt !== e.payload.expectedDischargeAt) s.eddChanges += 1;
      s.expectedDischargeAt = e.payload.expectedDischargeAt;
      return { ok: true };
    }
    case 'patient.discharged': {
      // The end (A03) of a visit that never became an inpatient spell (registered with A04,
      // e.g. in a decision unit, then sent home): the decision to admit it carried is over.
      if (!v.spells[e.payload.spellId] && v.awaitingAdmission?.spellId === e.payload.spellId) {
        v.awaitingAdmission = undefined;
        return { ok: true };
      }
      const s = needSpell(v, e.payload.spellId, 'discharge');
      if (!('spellId' in s)) return s;
      if (!isOpen(s)) return { ok: false, kind: 'invalid', reason: `discharge of already discharged spell ${s.spellId}` };
      s.status = 'discharged';
      s.dischargedAt = at;
      s.destination = e.payload.destination;
      s.dischargeMethod = e.payload.dischargeMethod;
      s.leave = undefined;
      closeCrfdReason(s, at);
      s.crfd = undefined;
      return { ok: true };
    }
    case 'followup.made': {
      const s = needSpell(v, e.payload.spellId, 'follow-up');
      if (!('spellId' in s)) return s;
      if (s.status !== 'discharged') return { ok: false, kind: 'invalid', reason: `follow-up contact before discharge of spell ${s.spellId}` };
      if (s.followUpAt === undefined) {
        s.followUpAt = at;
        s.followUpBy = 'contact';
      }
      return { ok: true };
    }
    case 'bed.opened':
    case 'bed.closed': {
      const k = `${e.payload.ward}|${e.payload.bed}`;
      if (e.type === 'bed.closed') v.closedBeds[k] = e.payload.reason ?? 'closed';
      else delete v.closedBeds[k];
      return { ok: true };
    }
    case 'alert.acknowledged':
      v.acknowledged[e.payload.alertId] ??= { by: e.payload.by, at, note: e.payload.note };
      return { ok: true };
    // Who owns an alert lives on the alert (the engine writes it there), not in the patient's view.
    case 'alert.owned':
      return { ok: true };
    case 'patient.updated': {
      const p = e.payload;
      if (p.initials) v.initials = p.initials;
      const s = p.spellId ? v.spells[p.spellId] : Object.values(v.spells).find(isOpen);
      if (s && isOpen(s)) {
        if (p.legalStatus && p.legalStatus !== s.legalStatus) {
          if (s.legalStatus !== undefined && s.legalSince !== undefined) s.legalBefore = { status: s.legalStatus, since: s.legalSince };
          s.legalStatus = p.legalStatus;
          s.legalSince = at;
        }
        if (p.expectedDischargeAt !== undefined) {
          if (s.expectedDischargeAt !== undefined && s.expectedDischargeAt !== p.expectedDischargeAt) s.eddChanges += 1;
          s.expectedDischargeAt = p.expectedDischargeAt;
        }
      }
      return { ok: true };
    }
    case 'patient.merged':
      if (!v.mergedFrom.includes(e.payload.mergedPatientId)) v.mergedFrom.push(e.payload.mergedPatientId);
      return { ok: true };
    case 'message.unmapped':
      v.unmapped += 1;
      return { ok: true };
    case 'park.expired':
    case 'improvement.noted':
      return { ok: true };
    case 'admission.cancelled':
    case 'transfer.cancelled':
    case 'discharge.cancelled':
    case 'leave.cancelled':
      return { ok: false, kind: 'invalid', reason: `${e.type} found nothing to cancel` };
  }
}

/**
 * An A13 names where the patient is after the cancellation (PV1-3): when that is not where
 * they were discharged from (the bed was given away meanwhile), they move there at the
 * cancel's time, as by a transfer. No place, or the same place: nothing moves.
 */
function placeAfterCancelledDischarge(v: PatientView, c: FlowEventOf<'discharge.cancelled'>): void {
  const { spellId, ward, bed } = c.payload;
  const s = v.spells[spellId];
  if (!ward || !isOpen(s) || !s || (ward === s.ward && (bed === undefined || bed === s.bed))) return;
  s.ward = ward;
  s.bed = bed;
  s.stays.push({ ward, bed, from: c.occurredAt });
  s.outOfArea = undefined;
}

export type FoldResult = {
  view: PatientView;
  failures: { event: FlowEvent; result: Exclude<StepResult, { ok: true }> }[];
  /** Events made void by a cancel: they lay between a cancelled event and its cancel and no longer apply. */
  voided: string[];
};

/** The spell an event names, if any. */
export const spellOf = (e: FlowEvent): string | undefined => (e.payload as { spellId?: string }).spellId;

/**
 * Folds sorted events into a view; cancels (and what they cancel) are removed first.
 * A cancel also voids what depended on what it cancels: an A11 voids every event of the
 * spell up to the cancel (the admission never happened), an A12/A13 voids events of the
 * spell between the transfer/discharge and the cancel that no longer apply without it
 * (a follow-up contact after a cancelled discharge). The cancel is never refused for them.
 */
export function fold(events: readonly FlowEvent[]): FoldResult {
  const { removed, orphans, shadows } = resolveCancels(events);
  const v = emptyView();
  const failures: FoldResult['failures'] = [];
  const voided: string[] = [];
  const orphanIds = new Set(orphans.map((o) => o.eventId));
  const shadowOf = (e: FlowEvent, i: number): CancelShadow | undefined => {
    const spellId = spellOf(e);
    return spellId === undefined ? undefined : shadows.find((sh) => sh.spellId === spellId && sh.fromIndex < i && i < sh.toIndex);
  };
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    if (removed.has(e.eventId)) {
      if (e.type === 'discharge.cancelled') placeAfterCancelledDischarge(v, e);
      continue;
    }
    if (orphanIds.has(e.eventId)) {
      failures.push({ event: e, result: { ok: false, kind: 'invalid', reason: `${e.type} found nothing to cancel` } });
      continue;
    }
    const shadow = shadowOf(e, i);
    if (shadow?.cancelled === 'patient.admitted') { voided.push(e.eventId); continue; }
    const r = step(v, e);
    if (r.ok) continue;
    if (shadow) voided.push(e.eventId);
    else failures.push({ event: e, result: r });
  }
  return { view: v, failures, voided };
}

export type { FlowEventOf };
