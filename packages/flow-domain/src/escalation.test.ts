// Alert policy: a Critical alert nobody acknowledges moves up to the next role after a
// configurable time; Info never escalates (it does not page anyone).
import type { Alert } from '@pfm/contracts';
import { DEFAULT_ESCALATION, escalation } from './index';

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
});
