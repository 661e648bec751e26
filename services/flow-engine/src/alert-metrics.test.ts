import type { Alert } from '@pfm/contracts';
import { countAlerts, type AlertCounts } from './alert-metrics';

const alert = (over: Partial<Alert>): Alert => ({
  alertId: 'a', rule: 'followup_missed', severity: 'critical', threshold: { value: 72, unit: 'hours' }, source: 'test', message: 'm',
  site: 'RXT', becameTrueAt: 0, raisedAt: 0, ...over,
});

describe('countAlerts', () => {
  it('counts active alerts by rule, severity and acknowledgement, and the oldest unacknowledged per rule', () => {
    const into: AlertCounts = { active: new Map(), oldestUnacknowledged: new Map(), truncated: new Set() };
    const now = 10_000_000;
    countAlerts('RXT', [
      alert({ alertId: '1', raisedAt: now - 3_600_000 }),
      alert({ alertId: '2', raisedAt: now - 7_200_000 }),
      alert({ alertId: '3', raisedAt: now - 9_000_000, acknowledged: { by: 'u', at: now } }),
      alert({ alertId: '4', raisedAt: now - 100_000, resolvedAt: now }),
      alert({ alertId: '5', rule: 'stranded', severity: 'warning', raisedAt: now - 1000 }),
    ], now, into);
    expect([...into.active.values()].map((r) => [r.rule, r.severity, r.acknowledged, r.n]).sort()).toEqual([
      ['followup_missed', 'critical', 'false', 2], ['followup_missed', 'critical', 'true', 1], ['stranded', 'warning', 'false', 1],
    ]);
    expect(into.oldestUnacknowledged.get('RXT|followup_missed')?.seconds).toBe(7200);
    expect(into.oldestUnacknowledged.get('RXT|stranded')?.seconds).toBe(1);
  });
});
