// What the alert feed shows after a room's snapshot, with the changes that came live while
// the snapshot was being made. The server joins the socket to the room, then reads the
// snapshot: an alert raised, moved or resolved in between reaches the screen live first,
// and a snapshot read before it must neither take it off nor put an older version back.
import type { Alert } from '@pfm/contracts';

/** A change of one alert seen live and when it came (`alert` undefined: resolved or out of scope now). */
export interface LiveChange { version: number; alert?: Alert; at: number }

/** The version a change out of the reader's scope is taken at: above every real version until the alert changes again. */
export const GONE_VERSION = Number.MAX_SAFE_INTEGER;

const versionOf = (a: Alert): number => a.version ?? 1;

/**
 * The alerts to show after a snapshot. `replace`: the snapshot holds every alert of the
 * reader's scope (a site room), so what was shown goes; otherwise (a ward or team room) its
 * alerts are added, an older version never over a newer one. Then every live change that
 * came after the join was sent (`joinSentAt`) and is at least as new as what the snapshot
 * gave for that alert stands: shown, or taken off when resolved or gone from scope.
 */
export function mergeSnapshotAlerts(shown: ReadonlyMap<string, Alert>, snapshot: readonly Alert[], replace: boolean, live: ReadonlyMap<string, LiveChange>, joinSentAt: number): Map<string, Alert> {
  const out = replace ? new Map<string, Alert>() : new Map(shown);
  for (const a of snapshot) {
    const have = out.get(a.alertId);
    if (have && versionOf(have) > versionOf(a)) continue;
    out.set(a.alertId, a);
  }
  for (const [id, c] of live) {
    if (c.at < joinSentAt) continue;
    const have = out.get(id);
    if (have && versionOf(have) > c.version) continue;
    if (c.alert) out.set(id, c.alert);
    else out.delete(id);
  }
  return out;
}

/**
 * Records a live change in `live` (insertion order = arrival order), unless an as new or
 * newer one of that alert is already there, and forgets changes older than `keepMs`.
 */
export function noteLiveChange(live: Map<string, LiveChange>, id: string, change: LiveChange, keepMs = 120_000): void {
  const have = live.get(id);
  if (!have || have.version <= change.version) {
    live.delete(id);
    live.set(id, change);
  }
  for (const [k, c] of live) {
    if (c.at >= change.at - keepMs) break;
    live.delete(k);
  }
}
