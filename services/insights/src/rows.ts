// Pure: one patient record's accepted events -> its warehouse rows. The events are
// walked with the engine's own rules (resolveCancels + step from flow-domain), so
// cancels, leave, late and duplicate events mean here what they mean on the board; the
// walk only watches each step to record the periods the live view keeps no history of
// (leave, CRFD reasons, out-of-area stays, legal status changes).
import type { FlowEvent, WardType } from '@pfm/contracts';
import { DAY_MS, emptyView, followUpOutcome, HOUR_MS, losDays, resolveCancels, step, type PatientState, type Thresholds } from '@pfm/flow-domain';
import { ethnicGroup, type LocalAreas, type Pseudonymiser } from './pseudonym';

export type Cell = string | number | boolean | null;
export type Row = Record<string, Cell>;
export interface PatientRows { spells: Row[]; ward_stays: Row[]; leave_periods: Row[]; crfd_periods: Row[]; referrals: Row[] }

export interface RowContext {
  thresholds: Thresholds;
  wardType(site: string, ward: string): WardType;
  pseudo: Pseudonymiser;
  areas: LocalAreas;
}

/** Legal status codes that are not a detention (MHSDS: 01 informal, 98 not applicable, 99 not known). */
const NOT_DETAINED = new Set(['01', '98', '99']);
export const isDetention = (code?: string): boolean => !!code && !NOT_DETAINED.has(code);

interface Open<T> { value: T; seq: number }
interface LeaveRec { seq: number; ward: string; leaveType?: string; startedAt: number; expectedReturnAt?: number; endedAt?: number; endReason?: string }
interface CrfdRec { periodSeq: number; reasonSeq: number; reasonCode: string; ward: string; startedAt: number; endedAt?: number; endReason?: string }
interface SpellTrack {
  leaves: LeaveRec[]; crfd: CrfdRec[]; openLeave?: Open<LeaveRec>; openCrfd?: CrfdRec;
  stayOap: { outOfArea: boolean; oapReason?: string }[]; legalAtAdmission?: string; detained: boolean;
  /** The spell as the walk last saw it (after the previous applied event): what each step changed is read against these. */
  seenStatus?: string; seenCrfd?: string; seenStays: number;
}

const days = (from: number, to: number | undefined): number | null => (to === undefined ? null : (to - from) / DAY_MS);
const n = <T>(v: T | undefined): T | null => (v === undefined ? null : v);

type View = ReturnType<typeof emptyView>;
/** What one walk of a record's history gives the rows: the view at the end, and what each spell's steps showed. */
interface Walk { v: View; track: Map<string, SpellTrack>; referralExtra: Map<string, { source?: string; area?: string }> }

export function patientRows(state: PatientState, ctx: RowContext): PatientRows {
  const { removed } = resolveCancels(state.events);
  return rowsOf(state, ctx, walk(state.events, removed, false)!);
}

/**
 * The rows of `state` when its history has no cancel and every one of its events applies
 * in turn (what `fold` finds with no failures): one walk serves both, so the caller need
 * not fold the history first (src/fold.ts, evolveAllWithRows). Undefined as soon as an
 * event is a cancel or does not apply; the rows are then patientRows' (the same walk,
 * since without cancels nothing is removed).
 */
export function rowsIfEveryStepApplies(state: PatientState, ctx: RowContext): PatientRows | undefined {
  const w = walk(state.events, undefined, true);
  return w && rowsOf(state, ctx, w);
}

const isCancel = (e: FlowEvent): boolean => e.type.endsWith('.cancelled');

/**
 * Steps `events` with the engine's rules (`removed` left out), watching each applied step.
 * A failed step changes nothing and is passed over, unless `strict`: then a failed step
 * or a cancel ends the walk with undefined.
 */
function walk(events: readonly FlowEvent[], removed: ReadonlySet<string> | undefined, strict: boolean): Walk | undefined {
  const w: Walk = { v: emptyView(), track: new Map(), referralExtra: new Map() };
  // Each applied step is compared with the spells as the walk saw them after the previous
  // applied step (a failed step changes nothing; removed events are never stepped): a spell
  // with no track yet is one this step created.
  for (const e of events) {
    if (removed?.has(e.eventId)) continue;
    if (strict && isCancel(e)) return undefined;
    if (!step(w.v, e).ok) {
      if (strict) return undefined;
      continue;
    }
    observe(w, e);
  }
  return w;
}

function observe({ v, track, referralExtra }: Walk, e: FlowEvent): void {
  const at = e.occurredAt;
  if (e.type === 'referral.received') referralExtra.set(e.payload.referralId, { source: e.payload.referralSource, area: e.payload.area });
  for (const id in v.spells) {
    const s = v.spells[id]!;
    let t = track.get(s.spellId);
    if (!t) {
      t = { leaves: [], crfd: [], stayOap: [], detained: false, seenStays: 0 };
      track.set(s.spellId, t);
      if (e.type === 'patient.admitted') t.legalAtAdmission = e.payload.legalStatus;
    }
    const b = { status: t.seenStatus, crfd: t.seenCrfd, stays: t.seenStays };
    t.seenStatus = s.status;
    t.seenCrfd = s.crfd?.reasonCode;
    t.seenStays = s.stays.length;
    if (isDetention(s.legalStatus)) t.detained = true;
    for (let i = b.stays; i < s.stays.length; i++) t.stayOap[i] = { outOfArea: !!s.outOfArea, oapReason: s.outOfArea ? s.oapReason : undefined };
    // Leave: a period opens on admitted -> on_leave and closes on return or discharge.
    if (b.status !== 'on_leave' && s.status === 'on_leave' && s.leave) {
      const rec: LeaveRec = { seq: t.leaves.length + 1, ward: s.ward, leaveType: s.leave.leaveType, startedAt: s.leave.startedAt, expectedReturnAt: s.leave.expectedReturnAt };
      t.leaves.push(rec);
      t.openLeave = { value: rec, seq: rec.seq };
    } else if (b.status === 'on_leave' && s.status !== 'on_leave' && t.openLeave) {
      t.openLeave.value.endedAt = at;
      t.openLeave.value.endReason = s.status === 'discharged' ? 'discharged' : 'returned';
      t.openLeave = undefined;
    }
    // CRFD: a reason change inside a period closes one row and opens the next.
    const now = s.crfd?.reasonCode;
    if (b.crfd !== now) {
      if (t.openCrfd) {
        t.openCrfd.endedAt = at;
        t.openCrfd.endReason = now ? 'reason_changed' : s.status === 'discharged' ? 'discharged' : 'ended';
      }
      const prev = t.openCrfd;
      t.openCrfd = undefined;
      if (now) {
        const rec: CrfdRec = {
          periodSeq: s.crfdPeriods, reasonSeq: prev && prev.periodSeq === s.crfdPeriods ? prev.reasonSeq + 1 : 1,
          reasonCode: now, ward: s.ward, startedAt: prev && prev.periodSeq === s.crfdPeriods ? at : s.crfd!.startedAt,
        };
        t.crfd.push(rec);
        t.openCrfd = rec;
      }
    }
  }
}

function rowsOf(state: PatientState, ctx: RowContext, { v, track, referralExtra }: Walk): PatientRows {
  const { site, patientId } = state;
  const patientKey = ctx.pseudo.patientKey(site, patientId, state.nhsNumber);
  const recordKey = ctx.pseudo.recordKey(site, patientId);
  const demo = { age_band: n(v.ageBand), sex: n(v.gender), ethnic_category: n(v.ethnicity), ethnic_group: ethnicGroup(v.ethnicity) };
  const area = ctx.areas.resolve(v.area);
  const out: PatientRows = { spells: [], ward_stays: [], leave_periods: [], crfd_periods: [], referrals: [] };
  // Every row is one object literal, no spread: V8 built each spread row (a copy of a shared
  // part, then a dozen properties added) several times slower (docs/benchmarks.md, "Insights warehouse").
  const spells = Object.values(v.spells).sort((a, b) => a.admittedAt - b.admittedAt);
  const domainCtx = { thresholds: ctx.thresholds, wardType: (w: string) => ctx.wardType(site, w) };
  for (const s of spells) {
    const t = track.get(s.spellId) ?? { leaves: [], crfd: [], stayOap: [], detained: false, seenStays: 0 };
    const end = s.dischargedAt;
    let oapDays = 0;
    s.stays.forEach((st, i) => {
      const next = s.stays[i + 1]?.from ?? end;
      const oap = t.stayOap[i] ?? { outOfArea: false };
      if (oap.outOfArea && next !== undefined) oapDays += next - st.from;
      out.ward_stays.push({
        patient_key: patientKey, record_key: recordKey, site, spell_id: s.spellId, stay_seq: i + 1, ward: st.ward, ward_type: ctx.wardType(site, st.ward), started_at: st.from,
        ended_at: n(next), out_of_area: oap.outOfArea, oap_reason: n(oap.oapReason), days: days(st.from, next),
      });
    });
    for (const l of t.leaves) {
      out.leave_periods.push({
        patient_key: patientKey, record_key: recordKey, site, spell_id: s.spellId, leave_seq: l.seq, ward: l.ward, leave_type: n(l.leaveType), started_at: l.startedAt,
        expected_return_at: n(l.expectedReturnAt), ended_at: n(l.endedAt), end_reason: n(l.endReason), days: days(l.startedAt, l.endedAt),
      });
    }
    let crfdMs = 0;
    for (const r of t.crfd) {
      if (r.endedAt !== undefined) crfdMs += r.endedAt - r.startedAt;
      out.crfd_periods.push({
        patient_key: patientKey, record_key: recordKey, site, spell_id: s.spellId, period_seq: r.periodSeq, reason_seq: r.reasonSeq, reason_code: r.reasonCode, ward: r.ward,
        started_at: r.startedAt, ended_at: n(r.endedAt), end_reason: n(r.endReason), days: days(r.startedAt, r.endedAt),
      });
    }
    const first = s.stays[0]!;
    const closed = end !== undefined;
    const followUp = followUpOutcome(s, domainCtx, v.area);
    const readmitted = closed ? spells.some((o) => o !== s && o.admittedAt > end && o.admittedAt <= end + 30 * DAY_MS) : null;
    out.spells.push({
      patient_key: patientKey, record_key: recordKey, site, spell_id: s.spellId, admitted_at: s.admittedAt, discharged_at: n(end), los_days: closed ? losDays(ctx.thresholds, s.admittedAt, end) : null,
      admission_source: n(s.admissionSource), admission_method: n(s.admissionMethod), legal_status_at_admission: n(t.legalAtAdmission),
      detained_at_any_point: t.detained || isDetention(t.legalAtAdmission),
      first_ward: first.ward, first_ward_type: ctx.wardType(site, first.ward), last_ward: s.ward, last_ward_type: ctx.wardType(site, s.ward),
      discharge_method: n(s.dischargeMethod), discharge_destination: n(s.destination),
      age_band: demo.age_band, sex: demo.sex, ethnic_category: demo.ethnic_category, ethnic_group: demo.ethnic_group,
      local_area: n(area.localArea), deprivation_quintile: n(area.deprivationQuintile),
      out_of_area: t.stayOap.some((o) => o.outOfArea), oap_reason: n(t.stayOap.find((o) => o.outOfArea)?.oapReason), distance_from_home_km: n(s.distanceFromHomeKm),
      oap_bed_days: closed ? oapDays / DAY_MS : null, crfd_days: closed ? crfdMs / DAY_MS : null, readmitted_30d: readmitted,
      // The board's own rule (flow-domain), with the patient's area of residence as the board passes it.
      followup_eligible: followUp?.eligible ?? null,
      followed_up_72h: followUp?.within ?? null,
    });
  }
  for (const r of Object.values(v.referrals).sort((a, b) => a.receivedAt - b.receivedAt)) {
    const extra = referralExtra.get(r.referralId) ?? {};
    const hours = r.respondedAt === undefined ? null : (r.respondedAt - r.receivedAt) / HOUR_MS;
    out.referrals.push({
      patient_key: patientKey, record_key: recordKey, site, referral_id: r.referralId, received_at: r.receivedAt, team: r.team, team_type: r.teamType, urgency: r.urgency,
      referral_source: n(extra.source), local_area: n(ctx.areas.resolve(extra.area ?? v.area).localArea), status: r.status,
      first_response_at: n(r.respondedAt), response_hours: hours, within_4h: hours !== null && hours <= 4, within_24h: hours !== null && hours <= 24,
    });
  }
  return out;
}
