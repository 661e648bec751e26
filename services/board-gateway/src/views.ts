// Read models the boards need, computed from the Redis view (FlowStore).
import type { PatientRow, SiteStatus, WardSummary } from '@pfm/contracts';
import type { FlowStore } from '@pfm/flow-store';
import { isLocalWard, oapMeasures, siteTotals, type AdmissionWaiting, type OapMeasures } from '@pfm/flow-domain';

export interface SitePressure { level: 1 | 2 | 3 | 4; label: string; reasons: string[] }

/**
 * Site pressure, OPEL-style 1-4. National mental-health weights are unconfirmed, so this
 * is a transparent rule on local occupancy, with every reason listed. Units outside the
 * trust (registry `external`) hold out-of-area placements: listed as a reason, never
 * counted as local occupancy.
 */
export function sitePressure(wards: WardSummary[], occupancyLine: number): SitePressure {
  const t = siteTotals(wards);
  const pct = t.occupancyInclLeavePct;
  const reasons: string[] = [];
  let level: 1 | 2 | 3 | 4 = 1;
  if (pct > occupancyLine) { level = 2; reasons.push(`occupancy incl. leave ${pct.toFixed(0)}% > ${occupancyLine}%`); }
  if (pct >= 95) level = 3;
  if (pct >= 100) { level = 4; reasons.push('no free beds across the site'); }
  const full = wards.filter((w) => isLocalWard(w) && w.free === 0 && w.beds > 0).length;
  if (full) reasons.push(`${full} ward(s) full`);
  if (t.overCapacity) reasons.push(`${t.overCapacity} patient(s) beyond open beds`);
  if (t.outOfArea) reasons.push(`${t.outOfArea} placed out of area`);
  if (t.placeOfSafety.spaces > 0 && t.placeOfSafety.occupied >= t.placeOfSafety.spaces) reasons.push(`s136 suites full (${t.placeOfSafety.occupied}/${t.placeOfSafety.spaces})`);
  const labels = { 1: 'Steady', 2: 'Moderate pressure', 3: 'Severe pressure', 4: 'Extreme pressure' } as const;
  return { level, label: labels[level], reasons };
}

/**
 * The decision-to-admit queue as the site board shows it (longest wait first). Breaches
 * past `breachHours` and the longest wait are of emergency decisions to admit only (the
 * 12-hour clock); planned admissions are listed with their wait and source.
 */
export function admissionQueueStatus(entries: AdmissionWaiting[], breachHours: number): SiteStatus['admissionQueue'] {
  const sorted = [...entries].sort((a, b) => a.decidedAt - b.decidedAt);
  const emergency = sorted.filter((e) => e.emergency);
  return {
    waiting: sorted.length, breaches: emergency.filter((e) => e.waitedHours >= breachHours).length, longestWaitHours: emergency[0]?.waitedHours ?? 0, breachHours,
    entries: sorted.map(({ patientId, decidedAt, waitedHours, source, emergency: e, sex, ward }) => ({ patientId, decidedAt, waitedHours, source, emergency: e, ...(sex ? { sex } : {}), ...(ward ? { ward } : {}) })),
  };
}

/** Active out-of-area placements of a site (count, bed-days, distance from home). */
export async function outOfArea(store: FlowStore, site: string, wards: WardSummary[], now: number): Promise<OapMeasures> {
  const rows: PatientRow[] = [];
  for (const w of wards) if (w.outOfArea > 0) rows.push(...(await store.patientsOnWard(site, w.ward, now)));
  return oapMeasures(rows.flatMap((r) => (r.outOfArea && r.oapSince !== undefined ? [{ oapSince: r.oapSince, distanceFromHomeKm: r.distanceFromHomeKm }] : [])), now);
}

export async function patientsByFlag(store: FlowStore, site: string, flag: string | undefined, now: number): Promise<PatientRow[]> {
  const rows: PatientRow[] = [];
  for (const ward of await store.wardCodes(site)) rows.push(...(await store.patientsOnWard(site, ward, now)));
  const wanted = flag === 'oap' ? 'oap' : flag;
  return wanted ? rows.filter((r) => r.flags.includes(wanted)) : rows;
}

/**
 * A patient's events, cut to the reader's scope: each event belongs to the ward the
 * patient was on when it happened (the ward it names, else the spell's last ward before
 * it); `inScope(ward)` decides, and `inScope(undefined)` decides events with no ward (a
 * referral before any admission). A ward reader thus sees the stays on its wards only.
 */
export async function timeline(store: Pick<FlowStore, 'patient'>, site: string, patientId: string, spellId?: string, inScope: (ward: string | undefined) => boolean = () => true): Promise<{ type: string; occurredAt: number; summary: string }[] | null> {
  const p = await store.patient(site, patientId);
  if (!p) return null;
  const wardOfSpell = new Map<string, string>();
  const out: { type: string; occurredAt: number; summary: string }[] = [];
  for (const e of p.events) {
    const payload = e.payload as { spellId?: string; ward?: string };
    const ward = payload.ward ?? (payload.spellId ? wardOfSpell.get(payload.spellId) : undefined);
    if (payload.spellId && payload.ward) wardOfSpell.set(payload.spellId, payload.ward);
    if (spellId && payload.spellId !== spellId) continue;
    if (!inScope(ward)) continue;
    out.push({ type: e.type, occurredAt: e.occurredAt, summary: describe(e.type, e.payload as Record<string, unknown>) });
  }
  return out;
}

function describe(type: string, p: Record<string, unknown>): string {
  switch (type) {
    case 'patient.admitted': return `Admitted to ${String(p.ward)}${p.bed ? ` bed ${String(p.bed)}` : ''}${p.outOfArea ? ' (out of area)' : ''}`;
    case 'patient.transferred': return `Transferred to ${String(p.ward)}${p.bed ? ` bed ${String(p.bed)}` : ''}`;
    case 'leave.started': return 'Leave started';
    case 'leave.ended': return 'Returned from leave';
    case 'crfd.started': return `Clinically ready for discharge (reason ${String(p.reasonCode)})`;
    case 'crfd.ended': return 'No longer ready for discharge';
    case 'edd.set': return `Expected discharge ${new Date(Number(p.expectedDischargeAt)).toLocaleDateString('en-GB', { day: 'numeric', month: 'short', year: 'numeric', timeZone: 'Europe/London' })}`;
    case 'patient.discharged': return `Discharged${p.destination ? ` to ${String(p.destination)}` : ''}`;
    case 'followup.made': return 'Follow-up contact made';
    default: return type.replace('.', ' ');
  }
}

