// Alert policy: what a severity means and who an unacknowledged alert goes to next.
// Critical: a person must act now; unacknowledged, it escalates along a chain of roles
// every `afterMinutes`. Warning: on the board and feed, escalation off by default.
// Info: on the board only; never escalates (it pages nobody).
//
// `escalation` says who an alert is with at a given time (read side). `escalationStep`
// says what the engine's scanner must write when it looks at an alert at a given time:
// the next level as a new version of the alert (pushed to the role now responsible), or
// when to look again, or that the alert is out of the escalation schedule for good.
import type { Alert } from '@pfm/contracts';

export interface EscalationRule { afterMinutes: number; wardChain: string[]; teamChain: string[] }
export type EscalationPolicy = Partial<Record<Alert['severity'], EscalationRule>>;

export const DEFAULT_ESCALATION: EscalationPolicy = {
  critical: { afterMinutes: 30, wardChain: ['ward', 'bed_manager', 'ops'], teamChain: ['crisis_team', 'bed_manager', 'ops'] },
};

/** The chain of roles an alert escalates along: a ward's alert starts with the ward, a team's (or a site's) with the crisis team. */
function chainFor(a: Alert, rule: EscalationRule): string[] {
  return a.ward && !a.team ? rule.wardChain : rule.teamChain;
}

/** Who an alert is with now: null when it does not escalate (acknowledged, resolved, or its severity has no rule). */
export function escalation(a: Alert, now: number, policy: EscalationPolicy = DEFAULT_ESCALATION): { level: number; role: string; nextAt?: number } | null {
  const rule = policy[a.severity];
  if (!rule || a.acknowledged || a.resolvedAt !== undefined) return null;
  const chain = chainFor(a, rule);
  if (chain.length === 0) return null;
  const step = Math.max(0, rule.afterMinutes) * 60_000;
  const level = step === 0 ? chain.length - 1 : Math.min(chain.length - 1, Math.max(0, Math.floor((now - a.raisedAt) / step)));
  return { level, role: chain[level]!, ...(level < chain.length - 1 ? { nextAt: a.raisedAt + (level + 1) * step } : {}) };
}

/**
 * What the scanner does with an alert at `now`:
 * - `escalate`: the policy has reached a level above the one written on the alert
 *   (`a.escalated`, 0 when none): write it (level, role, and `dueAt`, when that level
 *   fell due), and look again at `nextAt` (none: the chain's end);
 * - `wait`: not yet: look again at `nextAt`;
 * - `drop`: never again (acknowledged, resolved, no rule for its severity, or the
 *   chain's end written already).
 * Levels only go up: a policy made slower later never takes a written level back.
 */
export type EscalationStep =
  | { kind: 'escalate'; level: number; role: string; dueAt: number; nextAt?: number }
  | { kind: 'wait'; nextAt: number }
  | { kind: 'drop' };

export function escalationStep(a: Alert, now: number, policy: EscalationPolicy = DEFAULT_ESCALATION): EscalationStep {
  const e = escalation(a, now, policy);
  if (!e) return { kind: 'drop' };
  const written = a.escalated?.level ?? 0;
  if (e.level > written) {
    const step = Math.max(0, policy[a.severity]!.afterMinutes) * 60_000;
    return { kind: 'escalate', level: e.level, role: e.role, dueAt: a.raisedAt + e.level * step, ...(e.nextAt !== undefined ? { nextAt: e.nextAt } : {}) };
  }
  // Written at or above the policy's level: look again when the next level above the written one falls due.
  const rule = policy[a.severity]!;
  const chain = chainFor(a, rule);
  if (written >= chain.length - 1) return { kind: 'drop' };
  const nextAt = e.nextAt !== undefined && e.level === written ? e.nextAt : a.raisedAt + (written + 1) * Math.max(0, rule.afterMinutes) * 60_000;
  return { kind: 'wait', nextAt: Math.max(nextAt, now + 1) };
}

/** When a newly raised alert first falls due for escalation; undefined when it never escalates. */
export function firstEscalationAt(a: Alert, policy: EscalationPolicy = DEFAULT_ESCALATION): number | undefined {
  const e = escalation(a, a.raisedAt, policy);
  // No wait at all (afterMinutes 0): due at once.
  return e && e.level > 0 ? a.raisedAt : e?.nextAt;
}
