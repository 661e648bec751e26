// "Escalated to you": the alerts the gateway sent this reader because nobody acknowledged
// them in time and the escalation chain reached the reader's role. Pure (no DOM).
import type { Alert } from '@pfm/contracts';

/** One notice: an alert at the level that reached this reader. */
export interface EscalationNotice { alertId: string; level: number; role: string }

/**
 * The notices after an escalated alert arrives: newest first, one per alert (a higher
 * level replaces a lower one; the same level again, a repeat delivery, changes nothing).
 * An alert acknowledged or resolved meanwhile gets no notice.
 */
export function noteEscalation(notices: readonly EscalationNotice[], a: Alert): EscalationNotice[] {
  if (!a.escalated || a.acknowledged || a.resolvedAt !== undefined) return [...notices];
  const have = notices.find((n) => n.alertId === a.alertId);
  if (have && have.level >= a.escalated.level) return [...notices];
  return [{ alertId: a.alertId, level: a.escalated.level, role: a.escalated.role }, ...notices.filter((n) => n.alertId !== a.alertId)];
}

/** Notices still to act on, with their alerts: gone, acknowledged or resolved alerts drop out. */
export function openNotices(notices: readonly EscalationNotice[], alerts: ReadonlyMap<string, Alert>): { notice: EscalationNotice; alert: Alert }[] {
  return notices.flatMap((notice) => {
    const alert = alerts.get(notice.alertId);
    return alert && !alert.acknowledged && alert.resolvedAt === undefined ? [{ notice, alert }] : [];
  });
}

/** Escalated alerts not yet acknowledged, longest waiting first (the board's list). */
export function escalatedOpen(alerts: Iterable<Alert>): Alert[] {
  return [...alerts].filter((a) => a.escalated && !a.acknowledged && a.resolvedAt === undefined).sort((x, y) => x.raisedAt - y.raisedAt);
}
