// Alert policy: what a severity means and who an unacknowledged alert goes to next.
// Critical: a person must act now; unacknowledged, it escalates along a chain of roles
// every `afterMinutes`. Warning: on the board and feed, escalation off by default.
// Info: on the board only; never escalates (it pages nobody).
import type { Alert } from '@pfm/contracts';

export interface EscalationRule { afterMinutes: number; wardChain: string[]; teamChain: string[] }
export type EscalationPolicy = Partial<Record<Alert['severity'], EscalationRule>>;

export const DEFAULT_ESCALATION: EscalationPolicy = {
  critical: { afterMinutes: 30, wardChain: ['ward', 'bed_manager', 'ops'], teamChain: ['crisis_team', 'bed_manager', 'ops'] },
};

/** Who an alert is with now: null when it does not escalate (acknowledged, resolved, or its severity has no rule). */
export function escalation(a: Alert, now: number, policy: EscalationPolicy = DEFAULT_ESCALATION): { level: number; role: string; nextAt?: number } | null {
  const rule = policy[a.severity];
  if (!rule || a.acknowledged || a.resolvedAt !== undefined) return null;
  const chain = a.ward && !a.team ? rule.wardChain : rule.teamChain;
  if (chain.length === 0) return null;
  const step = rule.afterMinutes * 60_000;
  const level = Math.min(chain.length - 1, Math.max(0, Math.floor((now - a.raisedAt) / step)));
  return { level, role: chain[level]!, ...(level < chain.length - 1 ? { nextAt: a.raisedAt + (level + 1) * step } : {}) };
}
