// Alert policy: a Critical alert nobody acknowledges moves up to the next role after a
// configurable time; Info never escalates (it does not page anyone).
import type { Alert } from '@pfm/contracts';
import { DEFAULT_ESCALATION, escalation, escalationStep, firstEscalationAt } from './index';

const MIN = 60_000;
const base: Alert = { alertId: 'a1', rule: 'mha_expiry', severity: 'critical', threshold: { value: 72, unit: 'hours' }, source: 's', message: 'm', site: 'RXT', ward: 'W1', becameTrueAt: 0, raisedAt: 1000 };

describe('escalation of unacknowledged alerts', () => {
  it('given a Critical ward alert unacknowledged for 30 minutes, it escalates from the ward to the bed manager, then to ops (on-call) after 60', () => {
    expect(escalation(base, 1000 + 29 * MIN)).toEqual({ level: 0, role: 'ward', nextAt: 1000 + 30 * MIN });
    expect(escalation(base, 1000 + 30 * MIN)).toEqual({ level: 1, role: 'bed_manager', nextAt: 1000 + 60 * MIN });
    expect(escalation(base, 1000 + 5 * 60 * MIN)).toEqual({ level: 2, role: 'ops' });
  });

  it('given a Critical team alert (follow-up, referral), the chain starts at the crisis team', () => {
    expect(escalation({ ...base, ward: undefined, team: 'CRISIS-N' }, 1000)).toMatchObject({ level: 0, role: 'crisis_team' });
  });

  it('an acknowledged or resolved alert, and any Info alert, does not escalate', () => {
    expect(escalation({ ...base, acknowledged: { by: 'x', at: 2000 } }, 1000 + 99 * MIN)).toBeNull();
    expect(escalation({ ...base, resolvedAt: 5000 }, 1000 + 99 * MIN)).toBeNull();
    expect(escalation({ ...base, severity: 'info' }, 1000 + 99 * MIN)).toBeNull();
  });

  it('the time and chain are configurable per severity', () => {
    const policy = { ...DEFAULT_ESCALATION, warning: { afterMinutes: 120, wardChain: ['ward', 'bed_manager'], teamChain: ['crisis_team'] } };
    expect(escalation({ ...base, severity: 'warning' }, 1000 + 121 * MIN, policy)).toMatchObject({ level: 1, role: 'bed_manager' });
  });

  describe('the step the engine writes when time passes (escalationStep)', () => {
    const policy = { critical: { afterMinutes: 5, wardChain: ['ward', 'bed_manager', 'ops'], teamChain: ['crisis_team', 'bed_manager', 'ops'] } };
    const at = (level: number) => ({ level, role: ['ward', 'bed_manager', 'ops'][level]!, at: 1000 + level * 5 * MIN });

    it('given a Critical alert raised with no acknowledgement, it waits until afterMinutes, then escalates once to the bed manager', () => {
      expect(firstEscalationAt(base, policy)).toBe(1000 + 5 * MIN);
      expect(escalationStep(base, 1000 + 4 * MIN, policy)).toEqual({ kind: 'wait', nextAt: 1000 + 5 * MIN });
      expect(escalationStep(base, 1000 + 5 * MIN, policy)).toEqual({ kind: 'escalate', level: 1, role: 'bed_manager', dueAt: 1000 + 5 * MIN, nextAt: 1000 + 10 * MIN });
      // Written: the same time again is nothing new, only a later look.
      expect(escalationStep({ ...base, escalated: at(1) }, 1000 + 6 * MIN, policy)).toEqual({ kind: 'wait', nextAt: 1000 + 10 * MIN });
    });

    it('the next level goes to ops (on-call); at the chain end the alert leaves the schedule', () => {
      expect(escalationStep({ ...base, escalated: at(1) }, 1000 + 10 * MIN, policy)).toEqual({ kind: 'escalate', level: 2, role: 'ops', dueAt: 1000 + 10 * MIN });
      expect(escalationStep({ ...base, escalated: at(2) }, 1000 + 99 * MIN, policy)).toEqual({ kind: 'drop' });
    });

    it('a late look jumps to the level the policy has reached (the role responsible now), not one level at a time', () => {
      expect(escalationStep(base, 1000 + 12 * MIN, policy)).toMatchObject({ kind: 'escalate', level: 2, role: 'ops', dueAt: 1000 + 10 * MIN });
    });

    it('acknowledgement or resolution stops it; Info and Warning (no rule by default) never enter the schedule', () => {
      expect(escalationStep({ ...base, acknowledged: { by: 'n', at: 2000 } }, 1000 + 9 * MIN, policy)).toEqual({ kind: 'drop' });
      expect(escalationStep({ ...base, escalated: at(1), resolvedAt: 3000 }, 1000 + 11 * MIN, policy)).toEqual({ kind: 'drop' });
      expect(firstEscalationAt({ ...base, severity: 'info' }, policy)).toBeUndefined();
      expect(firstEscalationAt({ ...base, severity: 'warning' })).toBeUndefined();
    });

    it('a team alert escalates from the crisis team along the team chain', () => {
      expect(escalationStep({ ...base, ward: undefined, team: 'CRISIS-N' }, 1000 + 5 * MIN, policy)).toMatchObject({ kind: 'escalate', level: 1, role: 'bed_manager' });
    });

    it('a level written is never taken back when the policy is made slower', () => {
      const slower = { critical: { ...policy.critical, afterMinutes: 60 } };
      expect(escalationStep({ ...base, escalated: at(1) }, 1000 + 30 * MIN, slower)).toEqual({ kind: 'wait', nextAt: 1000 + 120 * MIN });
    });

    it('afterMinutes 0 escalates at once (no wait)', () => {
      const now = { critical: { ...policy.critical, afterMinutes: 0 } };
      expect(firstEscalationAt(base, now)).toBe(1000);
      expect(escalationStep(base, 1000, now)).toMatchObject({ kind: 'escalate', level: 2, role: 'ops' });
    });
  });
});
