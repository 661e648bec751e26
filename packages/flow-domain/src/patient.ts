// evolve(state, event): the patient's accepted event log, kept in event-time order,
// plus events parked while their spell is unknown. Duplicates (same eventId) are
// no-ops; a late event is accepted when the re-folded history stays valid; an event
// for an unknown spell is parked and retried whenever the patient's history grows.
import type { FlowEvent } from '@pfm/contracts';
import { compareEvents, fold, spellOf, step, type FoldResult, type PatientView, type Spell } from './pathway';

export interface ParkedEvent { event: FlowEvent; parkedAt: number; reason: string }

export interface PatientState {
  site: string;
  patientId: string;
  nhsNumber?: string;
  events: FlowEvent[];
  parked: ParkedEvent[];
  /**
   * Ids of events rejected for this patient (the latest REJECTED_MEMORY), so a
   * re-delivery of a rejected message is a duplicate too and cannot be applied later
   * in a different state. Absent in states written before it existed.
   */
  rejected?: string[];
  /** Set on a record retired by an A40 merge: its history now lives under this identifier. */
  mergedInto?: string;
}

export const REJECTED_MEMORY = 200;

export type Outcome =
  | { kind: 'applied' }
  | { kind: 'duplicate' }
  | { kind: 'parked'; reason: string }
  | { kind: 'rejected'; reason: string }
  /** A parked event whose wait ran out: it leaves the state and goes to the rejects topic. */
  | { kind: 'expired'; event: FlowEvent; reason: string };

export interface EvolveResult {
  state: PatientState;
  view: PatientView;
  outcome: Outcome;
  /** Parked events that this event made applicable (applied now, in order). */
  released: FlowEvent[];
}

export const emptyPatient = (site: string, patientId: string): PatientState => ({ site, patientId, events: [], parked: [] });

function insertSorted(events: readonly FlowEvent[], e: FlowEvent): FlowEvent[] {
  const out = events.slice();
  let i = out.length;
  while (i > 0 && compareEvents(out[i - 1]!, e) > 0) i--;
  out.splice(i, 0, e);
  return out;
}

type TryResult = { ok: true; events: FlowEvent[]; view: PatientView } | { ok: false; park: boolean; reason: string };

const CANCEL_TYPES: ReadonlySet<string> = new Set(['admission.cancelled', 'transfer.cancelled', 'discharge.cancelled', 'leave.cancelled']);

/** Every key of T, optional ones included (a copy written field by field cannot leave one out). */
type AllKeys<T> = { [K in keyof Required<T>]: T[K] };

/**
 * A spell copied field by field: one object shape for every copy, which V8 copies far
 * faster than a spread of spells whose optional fields were added in different orders
 * (measured alone: ~13x). Absent fields become `undefined` ones (JSON and equality alike).
 */
function copySpell(s: Spell): Spell {
  const out: AllKeys<Spell> = {
    spellId: s.spellId, status: s.status, admittedAt: s.admittedAt, ward: s.ward, bed: s.bed, stays: s.stays.slice(), leave: s.leave, crfd: s.crfd,
    crfdPeriods: s.crfdPeriods, crfdReasons: s.crfdReasons.map((p) => ({ ...p })), expectedDischargeAt: s.expectedDischargeAt, eddChanges: s.eddChanges,
    outOfArea: s.outOfArea, oapReason: s.oapReason, distanceFromHomeKm: s.distanceFromHomeKm, legalStatus: s.legalStatus, legalSince: s.legalSince,
    legalBefore: s.legalBefore, admissionMethod: s.admissionMethod, admissionSource: s.admissionSource, dischargedAt: s.dischargedAt,
    destination: s.destination, dischargeMethod: s.dischargeMethod, followUpAt: s.followUpAt, followUpBy: s.followUpBy,
  };
  return out;
}

/** The top level of a view copied field by field (as copySpell), its records and arrays shared unless given. */
function copyTop(v: PatientView, over: Partial<Pick<PatientView, 'spells' | 'referrals' | 'closedBeds' | 'acknowledged' | 'mergedFrom'>> = {}): PatientView {
  const out: AllKeys<PatientView> = {
    spells: over.spells ?? v.spells, referrals: over.referrals ?? v.referrals, awaitingAdmission: v.awaitingAdmission, initials: v.initials, ageBand: v.ageBand,
    gender: v.gender, ethnicity: v.ethnicity, area: v.area, closedBeds: over.closedBeds ?? v.closedBeds, acknowledged: over.acknowledged ?? v.acknowledged,
    mergedFrom: over.mergedFrom ?? v.mergedFrom, unmapped: v.unmapped,
  };
  return out;
}

/**
 * A copy of a view that step() can change without touching the original: records and
 * arrays step writes into are copied, values it only replaces are shared.
 */
export function copyView(v: PatientView): PatientView {
  const spells: PatientView['spells'] = {};
  for (const id in v.spells) {
    const s = v.spells[id]!;
    spells[id] = copySpell(s);
  }
  const referrals: PatientView['referrals'] = {};
  for (const id in v.referrals) referrals[id] = { ...v.referrals[id]! };
  return { ...v, spells, referrals, closedBeds: { ...v.closedBeds }, acknowledged: { ...v.acknowledged }, mergedFrom: v.mergedFrom.slice() };
}

/**
 * The copy step() needs for this one event: the top level always (it replaces fields
 * there), and of the records and arrays only those this event's type writes into (the
 * one spell an event about a spell changes, every spell for an admission or a patient
 * update, the referral of a referral's reply, closed beds, acknowledgements, merges).
 * Everything else is shared with `v`, which step() then leaves as it was. An event type
 * not named here gets the whole copy (copyView).
 */
export function copyViewFor(v: PatientView, e: FlowEvent): PatientView {
  switch (e.type) {
    case 'patient.transferred': case 'leave.started': case 'leave.ended': case 'crfd.started': case 'crfd.ended':
    case 'edd.set': case 'patient.discharged': case 'followup.made': {
      const s = v.spells[e.payload.spellId];
      if (!s) return copyTop(v);
      const spells = { ...v.spells };
      spells[e.payload.spellId] = copySpell(s);
      return copyTop(v, { spells });
    }
    case 'admission.decided': case 'message.unmapped': case 'alert.owned': case 'park.expired': case 'improvement.noted':
      return copyTop(v);
    case 'referral.received':
      return copyTop(v, { referrals: { ...v.referrals } });
    case 'referral.assessed': case 'referral.accepted': case 'referral.closed': {
      const r = v.referrals[e.payload.referralId];
      if (!r) return copyTop(v);
      const referrals = { ...v.referrals };
      referrals[e.payload.referralId] = { ...r };
      return copyTop(v, { referrals });
    }
    case 'bed.opened': case 'bed.closed':
      return copyTop(v, { closedBeds: { ...v.closedBeds } });
    case 'alert.acknowledged':
      return copyTop(v, { acknowledged: { ...v.acknowledged } });
    case 'patient.merged':
      return copyTop(v, { mergedFrom: v.mergedFrom.slice() });
    case 'patient.admitted': case 'patient.updated': {
      const spells: PatientView['spells'] = {};
      for (const id in v.spells) spells[id] = copySpell(v.spells[id]!);
      return copyTop(v, { spells });
    }
    default:
      return copyView(v);
  }
}

/**
 * The incremental step: when `e` sorts after every event of the history and cancels
 * nothing, folding the history with `e` is folding the history and then stepping `e`
 * (no cancel pairs or shadows change). `known` must be the view of `events` folded
 * with no failures. Undefined when this shortcut does not apply or `e` fails (the full
 * fold then decides how, so the outcome is the same either way).
 */
function tryStep(events: readonly FlowEvent[], e: FlowEvent, known: PatientView): TryResult | undefined {
  if (CANCEL_TYPES.has(e.type)) return undefined;
  const last = events[events.length - 1];
  if (last && compareEvents(last, e) >= 0) return undefined;
  // Only what this event writes into is copied: `known` stays as it was (the engine keeps it as the view before).
  const view = copyViewFor(known, e);
  if (!step(view, e).ok) return undefined;
  const out = events.slice();
  out.push(e);
  return { ok: true, events: out, view };
}

function tryAccept(events: readonly FlowEvent[], e: FlowEvent, known?: PatientView): TryResult {
  const quick = known ? tryStep(events, e, known) : undefined;
  if (quick) return quick;
  const candidate = insertSorted(events, e);
  const { view, failures } = fold(candidate);
  if (failures.length === 0) return { ok: true, events: candidate, view };
  const own = failures.find((f) => f.event.eventId === e.eventId);
  if (own) {
    const spellId = (e.payload as { spellId?: string }).spellId;
    const unknownSpell = own.result.kind === 'unknown_spell' || (!!spellId && !view.spells[spellId] && own.result.reason.includes('nothing to cancel'));
    return { ok: false, park: unknownSpell, reason: own.result.reason };
  }
  const first = failures[0]!;
  const asLate = dischargeAfterSpellEvents(events, e, failures);
  if (asLate) return asLate;
  return { ok: false, park: false, reason: `out of order: would invalidate later event ${first.event.eventId} (${first.result.reason})` };
}

/**
 * A discharge dated before events of its spell that are already applied (an A03 stamped
 * minutes before the A02 the ward sent first: two systems' clocks, or a transfer keyed in
 * late) still ends the spell: a bed is released on a real discharge, never kept because
 * of its time stamp. It is taken as at the latest of those events (the spell's stays and
 * leave end there, not before they began: a millisecond after it); the event keeps its id
 * and everything else.
 * Only when every event it would invalidate is of its own spell and dated after it, and
 * the history then folds clean; otherwise undefined and the discharge is refused as before.
 */
function dischargeAfterSpellEvents(events: readonly FlowEvent[], e: FlowEvent, failures: FoldResult['failures']): TryResult | undefined {
  if (e.type !== 'patient.discharged') return undefined;
  const spellId = e.payload.spellId;
  let latest = e.occurredAt;
  for (const f of failures) {
    if (spellOf(f.event) !== spellId || f.event.occurredAt < e.occurredAt) return undefined;
    latest = Math.max(latest, f.event.occurredAt);
  }
  // A millisecond after the latest, so it sorts after it whatever the two were recorded at.
  const taken: FlowEvent = { ...e, occurredAt: latest + 1 };
  const candidate = insertSorted(events, taken);
  const { view, failures: left } = fold(candidate);
  return left.length === 0 ? { ok: true, events: candidate, view } : undefined;
}

/**
 * Event types that are on the log but are about no patient and move no live state (an
 * improvement note): the engine records their offset only, never folds or dead-letters them.
 */
export const NOT_LIVE_STATE_TYPES: readonly FlowEvent['type'][] = ['improvement.noted'];
export const movesLiveState = (e: Pick<FlowEvent, 'type'>): boolean => !NOT_LIVE_STATE_TYPES.includes(e.type);

/** The view of a state's history: the known one when given, else folded. */
const currentView = (state: PatientState, known: PatientView | undefined): PatientView => known ?? fold(state.events).view;

/**
 * Adds one event to a patient's state. `known`, when given, must be the view of
 * `state.events` folded with no failures (what the previous evolve returned for an
 * applied event): an event that sorts last is then stepped onto a copy of it instead of
 * re-folding the whole history, with the same result.
 */
export function evolve(state: PatientState, e: FlowEvent, now: number = e.recordedAt, known?: PatientView): EvolveResult {
  if (state.events.some((x) => x.eventId === e.eventId) || state.parked.some((p) => p.event.eventId === e.eventId) || state.rejected?.includes(e.eventId)) {
    return { state, view: currentView(state, known), outcome: { kind: 'duplicate' }, released: [] };
  }
  if (state.mergedInto) {
    const rejected = [...(state.rejected ?? []), e.eventId].slice(-REJECTED_MEMORY);
    return {
      state: { ...state, rejected }, view: currentView(state, known), released: [],
      outcome: { kind: 'rejected', reason: `patient ${state.patientId} was merged into ${state.mergedInto} (A40): send events for ${state.mergedInto}` },
    };
  }
  if (e.type === 'park.expired') {
    // Control event: never part of the history; drops the parked event it names.
    const gone = state.parked.find((p) => p.event.eventId === e.payload.parkedEventId);
    const view = currentView(state, known);
    if (!gone) return { state, view, outcome: { kind: 'duplicate' }, released: [] };
    return {
      state: { ...state, parked: state.parked.filter((p) => p !== gone) }, view,
      outcome: { kind: 'expired', event: gone.event, reason: `${gone.reason}; no matching spell arrived within the wait` }, released: [],
    };
  }
  const r = tryAccept(state.events, e, known);
  if (!r.ok) {
    const view = currentView(state, known);
    if (r.park) {
      const parked = [...state.parked, { event: e, parkedAt: now, reason: r.reason }];
      return { state: { ...state, parked }, view, outcome: { kind: 'parked', reason: r.reason }, released: [] };
    }
    const rejected = [...(state.rejected ?? []), e.eventId].slice(-REJECTED_MEMORY);
    return { state: { ...state, rejected }, view, outcome: { kind: 'rejected', reason: r.reason }, released: [] };
  }
  const rel = releaseParked(r.events, r.view, state.parked);
  const nhsNumber = e.nhsNumber ?? state.nhsNumber;
  return { state: { ...state, nhsNumber, events: rel.events, parked: rel.parked }, view: rel.view, outcome: { kind: 'applied' }, released: rel.released };
}

/** Applies every parked event the history now allows, in order, until none more applies. */
function releaseParked(events: FlowEvent[], view: PatientView, parked: ParkedEvent[]): { events: FlowEvent[]; view: PatientView; parked: ParkedEvent[]; released: FlowEvent[] } {
  const released: FlowEvent[] = [];
  for (let progress = true; progress && parked.length > 0; ) {
    progress = false;
    for (const p of parked) {
      const t = tryAccept(events, p.event);
      if (t.ok) {
        events = t.events;
        view = t.view;
        released.push(p.event);
        parked = parked.filter((x) => x !== p);
        progress = true;
        break;
      }
    }
  }
  return { events, view, parked, released };
}

export interface MergeResult {
  survivor: PatientState;
  retired: PatientState;
  /** Events moved from the retired record (0 when it was merged before). */
  moved: number;
  /** Parked events of the survivor that the moved history made applicable. */
  released: FlowEvent[];
  /** Moved events the survivor's history cannot apply (e.g. two open spells): kept, listed for ops. */
  conflicts: string[];
}

/**
 * A40 merge: the surviving record takes the retired record's history (spells, state,
 * acknowledgements) and parked events, re-attributed to the survivor; parked events
 * that now apply are released; the retired record keeps only a pointer, so later events
 * under its identifier are refused with the surviving one named. Moving is once: a
 * retired record already pointing at the survivor moves nothing.
 */
export function mergePatients(survivor: PatientState, retired: PatientState): MergeResult {
  if (retired.mergedInto === survivor.patientId || retired.patientId === survivor.patientId) {
    return { survivor, retired, moved: 0, released: [], conflicts: [] };
  }
  const have = new Set(survivor.events.map((x) => x.eventId));
  const moved = retired.events.filter((x) => !have.has(x.eventId)).map((x) => ({ ...x, patientId: survivor.patientId }) as FlowEvent);
  let events = survivor.events.slice();
  for (const x of moved) events = insertSorted(events, x);
  const { view, failures } = fold(events);
  const parked = [...survivor.parked, ...retired.parked.map((p) => ({ ...p, event: { ...p.event, patientId: survivor.patientId } as FlowEvent }))];
  const rel = releaseParked(events, view, parked);
  return {
    survivor: { ...survivor, nhsNumber: survivor.nhsNumber ?? retired.nhsNumber, events: rel.events, parked: rel.parked },
    retired: { site: retired.site, patientId: retired.patientId, events: [], parked: [], rejected: retired.rejected, mergedInto: survivor.patientId },
    moved: moved.length, released: rel.released,
    conflicts: failures.filter((f) => moved.some((m) => m.eventId === f.event.eventId)).map((f) => `${f.event.eventId}: ${f.result.reason}`),
  };
}
