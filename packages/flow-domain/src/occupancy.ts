// Site totals for the flow board and site pressure. Local occupancy counts the trust's
// own wards only: units outside the trust (ward registry `external`) hold out-of-area
// placements, a separate measure (count, bed-days, distance from home), never local beds.
import type { WardSummary } from '@pfm/contracts';
import { wallClock } from './calendar';
import { DAY_MS } from './thresholds';

export interface SiteTotals {
  beds: number;
  occupied: number;
  onLeave: number;
  /** Beds neither occupied nor closed. beds = occupied + free + closed - overCapacity. */
  free: number;
  closed: number;
  /** Patients beyond a ward's open beds (double-booked or over-census): shown, never hidden in "free". */
  overCapacity: number;
  /** Physically present / open beds, and occupied including leave / open beds (percent). */
  occupancyPct: number;
  occupancyInclLeavePct: number;
  /** Patients currently placed out of area (in external units, or flagged by the sender). */
  outOfArea: number;
  /** Section 136 suites (ward type place_of_safety): spaces and people in them, never counted as inpatient beds. */
  placeOfSafety: { spaces: number; occupied: number };
}

/** A local inpatient ward: not a unit outside the trust, not a s136 suite. */
export const isLocalWard = (w: Pick<WardSummary, 'external' | 'wardType'>): boolean => !w.external && w.wardType !== 'place_of_safety';

export function siteTotals(wards: readonly WardSummary[]): SiteTotals {
  const t: SiteTotals = { beds: 0, occupied: 0, onLeave: 0, free: 0, closed: 0, overCapacity: 0, occupancyPct: 0, occupancyInclLeavePct: 0, outOfArea: 0, placeOfSafety: { spaces: 0, occupied: 0 } };
  for (const w of wards) {
    t.outOfArea += w.outOfArea;
    if (w.wardType === 'place_of_safety' && !w.external) {
      t.placeOfSafety.spaces += Math.max(0, w.beds - w.closed);
      t.placeOfSafety.occupied += w.occupied;
    }
    if (!isLocalWard(w)) continue;
    const open = Math.max(0, w.beds - w.closed);
    t.beds += w.beds;
    t.closed += w.closed;
    t.occupied += w.occupied;
    t.onLeave += w.onLeave;
    t.free += Math.max(0, open - w.occupied);
    t.overCapacity += Math.max(0, w.occupied - open);
  }
  const open = t.beds - t.closed;
  const pct = (n: number) => (open > 0 ? Math.round((n / open) * 1000) / 10 : 0);
  t.occupancyPct = pct(t.occupied - t.onLeave);
  t.occupancyInclLeavePct = pct(t.occupied);
  return t;
}

/** Start of the local calendar day containing `now` (Europe/London by default: "today" on the board). */
export function dayStartIn(now: number, timeZone = 'Europe/London'): number {
  const w = wallClock(now, timeZone);
  return now - (((w.h * 60 + w.min) * 60 + w.s) * 1000 + (now % 1000));
}

export interface OapMeasures { placements: number; bedDays: number; meanDistanceKm?: number; maxDistanceKm?: number }

/** Active out-of-area placements: count, bed-days so far (whole days since the placement began), distance from home. */
export function oapMeasures(placements: readonly { oapSince: number; distanceFromHomeKm?: number }[], now: number): OapMeasures {
  const km = placements.flatMap((p) => (p.distanceFromHomeKm === undefined ? [] : [p.distanceFromHomeKm]));
  const out: OapMeasures = {
    placements: placements.length,
    bedDays: placements.reduce((n, p) => n + Math.max(0, Math.floor((now - p.oapSince) / DAY_MS)), 0),
  };
  if (km.length) {
    out.meanDistanceKm = Math.round((km.reduce((a, b) => a + b, 0) / km.length) * 10) / 10;
    out.maxDistanceKm = Math.max(...km);
  }
  return out;
}
