// Follow-up routing: a discharge's 72h follow-up belongs to the team responsible for the
// patient's catchment area, so the alert and the "due" worklist name that team.
import type { FlowEvent } from '@pfm/contracts';
import { alertFor, DEFAULT_THRESHOLDS, emptyPatient, evolve, fold, followUpDue, timers, type DomainContext, type PatientState } from './index';
import { days, ev, hours, T0 } from './testing';

const ctx: DomainContext = { thresholds: { ...DEFAULT_THRESHOLDS, teamsByArea: { NORTH: 'CRISIS-NORTH', SOUTH: 'CRISIS-SOUTH' } }, wardType: () => 'adult_acute' };
function viewOf(events: FlowEvent[]) {
  let s: PatientState = emptyPatient('RXT', 'P1');
  for (const e of events) s = evolve(s, e).state;
  return fold(s.events).view;
}
const discharged = (area?: string) => viewOf([
  ev('patient.admitted', { spellId: 'S1', ward: 'W1', ...(area ? { area } : {}) }, T0),
  ev('patient.discharged', { spellId: 'S1', destination: '19' }, T0 + days(10)),
]);

describe('72h follow-up routed to the responsible team by catchment', () => {
  it('given a discharged patient from the NORTH area, the follow-up clock and its alert carry the NORTH crisis team and the area', () => {
    const v = discharged('NORTH');
    const [t] = timers('RXT', 'P1', v, ctx);
    expect(t).toMatchObject({ rule: 'followup_missed', team: 'CRISIS-NORTH', ward: 'W1' });
    expect(alertFor('RXT', 'P1', undefined, v, ctx, t!, T0 + days(13))).toMatchObject({ team: 'CRISIS-NORTH', area: 'NORTH' });
  });

  it('given no catchment mapping for the area, the alert has no team (seen by bed managers) but still names the ward', () => {
    const [t] = timers('RXT', 'P1', discharged(), ctx);
    expect(t!.team).toBeUndefined();
    expect(t!.ward).toBe('W1');
  });

  it('follow-up due worklist: hours left until the 72h limit, the team, and nothing once the contact is made', () => {
    const v = discharged('SOUTH');
    expect(followUpDue('RXT', 'P1', v, ctx, T0 + days(10) + hours(30))).toEqual([
      { site: 'RXT', patientId: 'P1', spellId: 'S1', ward: 'W1', area: 'SOUTH', team: 'CRISIS-SOUTH', dischargedAt: T0 + days(10), dueAt: T0 + days(10) + hours(72), hoursLeft: 42 },
    ]);
    const made = viewOf([
      ev('patient.admitted', { spellId: 'S1', ward: 'W1', area: 'SOUTH' }, T0), ev('patient.discharged', { spellId: 'S1' }, T0 + days(10)), ev('followup.made', { spellId: 'S1' }, T0 + days(11)),
    ]);
    expect(followUpDue('RXT', 'P1', made, ctx, T0 + days(11))).toEqual([]);
  });

  it('the worklist keeps a missed follow-up with negative hours left (overdue), so it is never dropped', () => {
    expect(followUpDue('RXT', 'P1', discharged('NORTH'), ctx, T0 + days(14))[0]).toMatchObject({ hoursLeft: -24 });
  });
});
