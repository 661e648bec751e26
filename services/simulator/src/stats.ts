// Flow measures computed from an event stream alone (never from the model's state),
// so tests check what a consumer would see: LOS by ward type and long-stay shares,
// occupancy with and without leave, CRFD by MHSDS v6 reason, 72h follow-up, out-of-area
// placements, crisis response times, EDD slippage, readmissions. Also a pathway
// checker: every spell and referral follows a valid order of events.
import type { FlowEventInput, FlowEventType, PayloadOf, WardType } from '@pfm/contracts';
import { crfdGroupOf, DEFAULT_RATES, responseTargetHours, type Urgency } from './rates';
import type { TeamType, TrustConfig } from './trust';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

type EventOf<T extends FlowEventType> = FlowEventInput & { type: T; payload: PayloadOf<T> };

/** Narrows an event to one type (FlowEventInput is not a discriminated union). */
export function isEvent<T extends FlowEventType>(e: FlowEventInput, type: T): e is EventOf<T> {
  return e.type === type;
}

export interface SpellRecord {
  spellId: string;
  patientId: string;
  admittedAt: number;
  /** Ward at admission (after any admission cancel). */
  firstWard: string;
  ward: string;
  wardType: WardType;
  outOfArea: boolean;
  distanceFromHomeKm?: number;
  transfers: number;
  leaves: number;
  eddSets: number[];
  crfd: { reason: string; start: number; end?: number }[];
  dischargedAt?: number;
  destination?: string;
  followUpAt?: number;
}

export interface Distribution {
  n: number;
  median: number;
  mean: number;
  p10: number;
  p90: number;
}

export interface LosStats extends Distribution {
  over60Share: number;
  over90Share: number;
}

export interface OccupancyStats {
  beds: number;
  /** Mean share of beds with a patient assigned (including those on leave), over the samples. */
  inclLeave: number;
  /** Mean share of beds with the patient physically present. */
  present: number;
  minInclLeave: number;
  maxInclLeave: number;
}

export interface FlowStats {
  from: number;
  to: number;
  events: number;
  eventsByType: Record<string, number>;
  /** LOS in days (discharge - admission) / 24h of spells discharged in the window, by discharging ward type. */
  los: Partial<Record<WardType, LosStats>>;
  /** Sampled every 6 hours across the window. */
  occupancy: Partial<Record<WardType, OccupancyStats>> & { all?: OccupancyStats };
  crfd: {
    periods: number;
    /** Periods started in the window, by reason code and by group (housing = 14-19, 32; care_home = 07, 08). */
    byReason: Record<string, number>;
    byGroup: Record<string, number>;
    /** CRFD bed-days inside the window, by group, and each group's share of them. */
    daysByGroup: Record<string, number>;
    daysShareByGroup: Record<string, number>;
    /** Mean share of occupied local beds held by CRFD patients. */
    occupiedShare: number;
  };
  followUp: { eligible: number; within72h: number; late: number; missed: number; rate: number };
  oap: { admissions: number; byWardType: Record<string, number>; activeAtEnd: number; bedDays: number; meanDistanceKm: number; minDistanceKm: number; maxDistanceKm: number };
  referrals: {
    received: number;
    byTeamType: Record<string, number>;
    byUrgency: Record<string, number>;
    /** Share assessed within the response target, by urgency (domain.md: 1h liaison, 4h very urgent, 24h urgent). */
    withinTarget: Record<string, { n: number; share: number }>;
  };
  edd: { discharged: number; slippedShare: number; dischargedAfterEddShare: number };
  readmission30d: { discharges: number; readmitted: number; rate: number };
  discharges: number;
  admissions: number;
}

export interface StatsOptions {
  trust: TrustConfig;
  from: number;
  to: number;
  /** Follow-up eligibility (default: the model's defaults, from domain.md). */
  followUp?: { eligibleWardTypes: WardType[]; excludedDestinations: string[] };
  sampleEveryHours?: number;
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return (sorted[lo] as number) + ((sorted[hi] as number) - (sorted[lo] as number)) * (pos - lo);
}

export function distribution(values: number[]): Distribution {
  const sorted = [...values].sort((a, b) => a - b);
  const mean = sorted.reduce((a, b) => a + b, 0) / (sorted.length || 1);
  return { n: sorted.length, median: quantile(sorted, 0.5), mean, p10: quantile(sorted, 0.1), p90: quantile(sorted, 0.9) };
}

const inc = (m: Record<string, number>, k: string, by = 1): void => {
  m[k] = (m[k] ?? 0) + by;
};

/** Computes the flow measures of the window [from, to) from events in event-time order. */
export function flowStats(events: readonly FlowEventInput[], opts: StatsOptions): FlowStats {
  const { trust, from, to } = opts;
  const follow = opts.followUp ?? DEFAULT_RATES.followUp;
  const sampleEvery = (opts.sampleEveryHours ?? 6) * HOUR;
  const wardType = new Map<string, WardType>();
  const localWard = new Set<string>();
  const bedsByType = new Map<WardType, number>();
  for (const w of trust.wards) {
    wardType.set(w.code, w.type);
    localWard.add(w.code);
    bedsByType.set(w.type, (bedsByType.get(w.type) ?? 0) + w.beds);
  }
  for (const u of trust.oapUnits) wardType.set(u.code, u.wardType);
  const typeOf = (ward: string): WardType => wardType.get(ward) ?? 'unknown';

  const spells = new Map<string, SpellRecord>();
  const prevWard = new Map<string, string>();
  const onLeave = new Set<string>();
  const inCrfd = new Set<string>();
  const admittedLocal = new Map<string, string>(); // spellId -> local ward while admitted
  const referralReceived = new Map<string, { at: number; teamType: TeamType; urgency: Urgency }>();
  const patientAdmissions = new Map<string, number[]>();

  const eventsByType: Record<string, number> = {};
  const occSamples = new Map<WardType | 'all', { incl: number[]; present: number[] }>();
  const crfdShareSamples: number[] = [];
  const referrals = { received: 0, byTeamType: {} as Record<string, number>, byUrgency: {} as Record<string, number> };
  const responseWithin: Record<string, { n: number; ok: number }> = {};
  const crfdByReason: Record<string, number> = {};
  const crfdByGroup: Record<string, number> = {};
  let crfdPeriods = 0;
  let oapAdmissions = 0;
  const oapByType: Record<string, number> = {};
  let admissions = 0;
  let nextSample = from;
  let inWindowEvents = 0;

  const sample = (at: number): void => {
    const incl = new Map<WardType, number>();
    const present = new Map<WardType, number>();
    let crfdOcc = 0;
    let occ = 0;
    for (const [spellId, ward] of admittedLocal) {
      const t = typeOf(ward);
      incl.set(t, (incl.get(t) ?? 0) + 1);
      occ++;
      if (!onLeave.has(spellId)) present.set(t, (present.get(t) ?? 0) + 1);
      if (inCrfd.has(spellId)) crfdOcc++;
    }
    if (occ > 0) crfdShareSamples.push(crfdOcc / occ);
    let allBeds = 0;
    let allIncl = 0;
    let allPresent = 0;
    for (const [t, beds] of bedsByType) {
      if (beds === 0) continue;
      const s = occSamples.get(t) ?? { incl: [], present: [] };
      s.incl.push((incl.get(t) ?? 0) / beds);
      s.present.push((present.get(t) ?? 0) / beds);
      occSamples.set(t, s);
      allBeds += beds;
      allIncl += incl.get(t) ?? 0;
      allPresent += present.get(t) ?? 0;
    }
    const all = occSamples.get('all') ?? { incl: [], present: [] };
    all.incl.push(allIncl / allBeds);
    all.present.push(allPresent / allBeds);
    occSamples.set('all', all);
    void at;
  };

  for (const e of events) {
    while (nextSample < to && e.occurredAt > nextSample) {
      if (nextSample >= from) sample(nextSample);
      nextSample += sampleEvery;
    }
    const inWindow = e.occurredAt >= from && e.occurredAt < to;
    if (inWindow) {
      inWindowEvents++;
      inc(eventsByType, e.type);
    }
    if (isEvent(e, 'referral.received')) {
      const p = e.payload;
      referralReceived.set(p.referralId, { at: e.occurredAt, teamType: p.teamType, urgency: p.urgency });
      if (inWindow) {
        referrals.received++;
        inc(referrals.byTeamType, p.teamType);
        inc(referrals.byUrgency, p.urgency);
      }
    } else if (isEvent(e, 'referral.assessed')) {
      const r = referralReceived.get(e.payload.referralId);
      if (r && r.at >= from && r.at < to) {
        const key = r.teamType === 'liaison' && r.urgency === 'emergency' ? 'liaison_emergency' : r.urgency;
        const w = responseWithin[key] ?? { n: 0, ok: 0 };
        w.n++;
        if (e.occurredAt - r.at <= responseTargetHours(r.teamType, r.urgency) * HOUR) w.ok++;
        responseWithin[key] = w;
      }
    } else if (isEvent(e, 'patient.admitted')) {
      const p = e.payload;
      const rec: SpellRecord = {
        spellId: p.spellId, patientId: e.patientId, admittedAt: e.occurredAt, firstWard: p.ward, ward: p.ward, wardType: typeOf(p.ward),
        outOfArea: p.outOfArea === true, transfers: 0, leaves: 0, eddSets: [], crfd: [],
        ...(p.distanceFromHomeKm !== undefined ? { distanceFromHomeKm: p.distanceFromHomeKm } : {}),
      };
      spells.set(p.spellId, rec);
      if (localWard.has(p.ward)) admittedLocal.set(p.spellId, p.ward);
      else admittedLocal.delete(p.spellId);
    } else if (isEvent(e, 'admission.cancelled')) {
      spells.delete(e.payload.spellId);
      admittedLocal.delete(e.payload.spellId);
    } else if (isEvent(e, 'patient.transferred')) {
      const rec = spells.get(e.payload.spellId);
      if (rec) {
        prevWard.set(rec.spellId, rec.ward);
        rec.ward = e.payload.ward;
        rec.wardType = typeOf(e.payload.ward);
        rec.transfers++;
        if (localWard.has(rec.ward)) admittedLocal.set(rec.spellId, rec.ward);
        else admittedLocal.delete(rec.spellId);
      }
    } else if (isEvent(e, 'transfer.cancelled')) {
      const rec = spells.get(e.payload.spellId);
      const back = prevWard.get(e.payload.spellId);
      if (rec && back) {
        rec.ward = back;
        rec.wardType = typeOf(back);
        rec.transfers--;
        if (localWard.has(back)) admittedLocal.set(rec.spellId, back);
        else admittedLocal.delete(rec.spellId);
      }
    } else if (isEvent(e, 'leave.started')) {
      onLeave.add(e.payload.spellId);
      const rec = spells.get(e.payload.spellId);
      if (rec) rec.leaves++;
    } else if (isEvent(e, 'leave.ended')) {
      onLeave.delete(e.payload.spellId);
    } else if (isEvent(e, 'edd.set')) {
      spells.get(e.payload.spellId)?.eddSets.push(e.payload.expectedDischargeAt);
    } else if (isEvent(e, 'crfd.started')) {
      inCrfd.add(e.payload.spellId);
      spells.get(e.payload.spellId)?.crfd.push({ reason: e.payload.reasonCode, start: e.occurredAt });
      if (inWindow) {
        crfdPeriods++;
        inc(crfdByReason, e.payload.reasonCode);
        inc(crfdByGroup, crfdGroupOf(e.payload.reasonCode));
      }
    } else if (isEvent(e, 'crfd.ended')) {
      inCrfd.delete(e.payload.spellId);
      const periods = spells.get(e.payload.spellId)?.crfd;
      const last = periods?.[periods.length - 1];
      if (last && last.end === undefined) last.end = e.occurredAt;
    } else if (isEvent(e, 'patient.discharged')) {
      const rec = spells.get(e.payload.spellId);
      if (rec) {
        rec.dischargedAt = e.occurredAt;
        if (e.payload.destination !== undefined) rec.destination = e.payload.destination;
      }
      admittedLocal.delete(e.payload.spellId);
      onLeave.delete(e.payload.spellId);
      inCrfd.delete(e.payload.spellId);
    } else if (isEvent(e, 'discharge.cancelled')) {
      const rec = spells.get(e.payload.spellId);
      if (rec) {
        delete rec.dischargedAt;
        delete rec.destination;
        if (localWard.has(rec.ward)) admittedLocal.set(rec.spellId, rec.ward);
      }
    } else if (isEvent(e, 'followup.made')) {
      const rec = spells.get(e.payload.spellId);
      if (rec && rec.followUpAt === undefined) rec.followUpAt = e.occurredAt;
    }
  }
  for (; nextSample < to; nextSample += sampleEvery) if (nextSample >= from) sample(nextSample);

  // Admissions (final, after cancels) per patient, for readmissions.
  for (const s of spells.values()) {
    const list = patientAdmissions.get(s.patientId) ?? [];
    list.push(s.admittedAt);
    patientAdmissions.set(s.patientId, list);
    if (s.admittedAt >= from && s.admittedAt < to) {
      admissions++;
      if (s.outOfArea) {
        oapAdmissions++;
        inc(oapByType, typeOf(s.firstWard));
      }
    }
  }

  const losByType = new Map<WardType, number[]>();
  const eddStats = { discharged: 0, slipped: 0, afterEdd: 0 };
  const fu = { eligible: 0, within72h: 0, late: 0, missed: 0 };
  const readmit = { discharges: 0, readmitted: 0 };
  const crfdDaysByGroup: Record<string, number> = {};
  const distances: number[] = [];
  let oapBedDays = 0;
  let oapActive = 0;
  let discharges = 0;
  for (const s of spells.values()) {
    for (const c of s.crfd) {
      const a = Math.max(c.start, from);
      const b = Math.min(c.end ?? s.dischargedAt ?? to, to);
      if (b > a) inc(crfdDaysByGroup, crfdGroupOf(c.reason), (b - a) / DAY);
    }
    if (s.outOfArea) {
      if (s.admittedAt >= from && s.admittedAt < to && s.distanceFromHomeKm !== undefined) distances.push(s.distanceFromHomeKm);
      const a = Math.max(s.admittedAt, from);
      const b = Math.min(s.dischargedAt ?? to, to);
      if (b > a) oapBedDays += (b - a) / DAY;
      if (s.dischargedAt === undefined && s.admittedAt < to) oapActive++;
    }
    const d = s.dischargedAt;
    if (d === undefined || d < from || d >= to) continue;
    discharges++;
    const days = (d - s.admittedAt) / DAY;
    const list = losByType.get(s.wardType) ?? [];
    list.push(days);
    losByType.set(s.wardType, list);
    if (s.eddSets.length > 0) {
      eddStats.discharged++;
      if (s.eddSets.length > 1) eddStats.slipped++;
      if (d > (s.eddSets[s.eddSets.length - 1] as number) + DAY) eddStats.afterEdd++;
    }
    // 72h follow-up: only discharges early enough in the window for a late contact to be seen.
    if (d < to - 14 * DAY && follow.eligibleWardTypes.includes(s.wardType) && !follow.excludedDestinations.includes(s.destination ?? '')) {
      fu.eligible++;
      if (s.followUpAt === undefined) fu.missed++;
      else if (s.followUpAt - d <= 72 * HOUR) fu.within72h++;
      else fu.late++;
    }
    if (d < to - 30 * DAY && s.destination !== '79') {
      readmit.discharges++;
      if ((patientAdmissions.get(s.patientId) ?? []).some((t) => t > d && t - d <= 30 * DAY)) readmit.readmitted++;
    }
  }

  const los: Partial<Record<WardType, LosStats>> = {};
  for (const [t, values] of losByType) {
    los[t] = {
      ...distribution(values),
      over60Share: values.filter((v) => v > 60).length / values.length,
      over90Share: values.filter((v) => v > 90).length / values.length,
    };
  }
  const occupancy: FlowStats['occupancy'] = {};
  for (const [t, s] of occSamples) {
    const beds = t === 'all' ? [...bedsByType.values()].reduce((a, b) => a + b, 0) : (bedsByType.get(t) ?? 0);
    occupancy[t] = {
      beds,
      inclLeave: distribution(s.incl).mean,
      present: distribution(s.present).mean,
      minInclLeave: Math.min(...s.incl),
      maxInclLeave: Math.max(...s.incl),
    };
  }
  const totalCrfdDays = Object.values(crfdDaysByGroup).reduce((a, b) => a + b, 0);
  const withinTarget: FlowStats['referrals']['withinTarget'] = {};
  for (const [k, v] of Object.entries(responseWithin)) withinTarget[k] = { n: v.n, share: v.ok / v.n };

  return {
    from,
    to,
    events: inWindowEvents,
    eventsByType,
    los,
    occupancy,
    crfd: {
      periods: crfdPeriods,
      byReason: crfdByReason,
      byGroup: crfdByGroup,
      daysByGroup: crfdDaysByGroup,
      daysShareByGroup: Object.fromEntries(Object.entries(crfdDaysByGroup).map(([k, v]) => [k, v / (totalCrfdDays || 1)])),
      occupiedShare: distribution(crfdShareSamples).mean,
    },
    followUp: { ...fu, rate: fu.within72h / (fu.eligible || 1) },
    oap: {
      admissions: oapAdmissions,
      byWardType: oapByType,
      activeAtEnd: oapActive,
      bedDays: oapBedDays,
      meanDistanceKm: distribution(distances).mean,
      minDistanceKm: distances.length ? Math.min(...distances) : Number.NaN,
      maxDistanceKm: distances.length ? Math.max(...distances) : Number.NaN,
    },
    referrals: { ...referrals, withinTarget },
    edd: {
      discharged: eddStats.discharged,
      slippedShare: eddStats.slipped / (eddStats.discharged || 1),
      dischargedAfterEddShare: eddStats.afterEdd / (eddStats.discharged || 1),
    },
    readmission30d: { ...readmit, rate: readmit.readmitted / (readmit.discharges || 1) },
    discharges,
    admissions,
  };
}

type SpellState = 'admitted' | 'on_leave' | 'discharged' | 'cancelled';

/**
 * Checks that events are in event-time order with unique ids, and that every spell and
 * referral follows a valid pathway: admission before anything else in the spell, leave
 * started before ended, transfers only while on the ward, nothing after discharge but a
 * follow-up (or a discharge cancel), cancels only of what happened. Returns problems.
 */
export function checkPathways(events: Iterable<FlowEventInput>, limit = 50): string[] {
  const problems: string[] = [];
  const add = (e: FlowEventInput, msg: string): void => {
    if (problems.length < limit) problems.push(`${e.eventId ?? '?'} ${e.type} @${new Date(e.occurredAt).toISOString()}: ${msg}`);
  };
  const ids = new Set<string>();
  const spells = new Map<string, { state: SpellState; patientId: string; crfd: boolean; transfers: number }>();
  const referrals = new Map<string, 'open' | 'closed'>();
  let last = Number.NEGATIVE_INFINITY;
  for (const e of events) {
    if (e.occurredAt < last) add(e, 'out of event-time order');
    last = e.occurredAt;
    if (e.eventId !== undefined) {
      if (ids.has(e.eventId)) add(e, 'duplicate eventId');
      ids.add(e.eventId);
    }
    const p = e.payload as { spellId?: string; referralId?: string };
    if (e.type.startsWith('referral.') && p.referralId) {
      const r = referrals.get(p.referralId);
      if (e.type === 'referral.received') {
        if (r) add(e, 'referral received twice');
        referrals.set(p.referralId, 'open');
      } else if (!r) add(e, 'referral event before referral.received');
      else if (r === 'closed') add(e, 'referral event after referral.closed');
      else if (e.type === 'referral.closed') referrals.set(p.referralId, 'closed');
      continue;
    }
    if (e.type === 'admission.decided' && p.referralId && !referrals.has(p.referralId)) add(e, 'decision to admit for an unknown referral');
    const id = p.spellId;
    if (!id) continue;
    const s = spells.get(id);
    if (e.type === 'patient.admitted') {
      if (s && s.state !== 'cancelled') add(e, 'spell admitted twice');
      spells.set(id, { state: 'admitted', patientId: e.patientId, crfd: false, transfers: 0 });
      continue;
    }
    if (!s || s.state === 'cancelled') {
      add(e, 'spell event before admission');
      continue;
    }
    if (s.patientId !== e.patientId) add(e, `spell belongs to ${s.patientId}`);
    if (s.state === 'discharged' && e.type !== 'followup.made' && e.type !== 'discharge.cancelled') {
      add(e, 'event after discharge');
      continue;
    }
    switch (e.type) {
      case 'admission.cancelled':
        s.state = 'cancelled';
        break;
      case 'patient.transferred':
        if (s.state !== 'admitted') add(e, 'transfer while on leave');
        s.transfers++;
        break;
      case 'transfer.cancelled':
        if (s.transfers === 0) add(e, 'transfer cancelled without a transfer');
        s.transfers--;
        break;
      case 'leave.started':
        if (s.state !== 'admitted') add(e, 'leave started while on leave');
        s.state = 'on_leave';
        break;
      case 'leave.ended':
        if (s.state !== 'on_leave') add(e, 'leave ended without leave started');
        s.state = 'admitted';
        break;
      case 'crfd.started':
        if (s.crfd) add(e, 'CRFD started twice');
        s.crfd = true;
        break;
      case 'crfd.ended':
        if (!s.crfd) add(e, 'CRFD ended without start');
        s.crfd = false;
        break;
      case 'patient.discharged':
        if (s.state === 'on_leave') add(e, 'discharged while on leave');
        s.state = 'discharged';
        break;
      case 'discharge.cancelled':
        if (s.state !== 'discharged') add(e, 'discharge cancelled without a discharge');
        s.state = 'admitted';
        break;
      case 'followup.made':
        if (s.state !== 'discharged') add(e, 'follow-up before discharge');
        break;
      default:
        break;
    }
  }
  return problems;
}
