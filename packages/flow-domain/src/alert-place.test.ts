// Alerts follow the patient: a clock that runs on across a transfer (A02) names the new
// ward, so the alert it raised is routed there, not left on the ward the patient left.
import type { FlowEvent } from '@pfm/contracts';
import { alertFor, DEFAULT_THRESHOLDS, emptyPatient, evolve, fold, movedClocks, timers, type DomainContext, type PatientState } from './index';
import { days, ev, hours, T0 } from './testing';

const ctx: DomainContext = { thresholds: { ...DEFAULT_THRESHOLDS, teamsByArea: { NORTH: 'CRISIS-NORTH', SOUTH: 'CRISIS-SOUTH' } }, wardType: () => 'adult_acute' };
function viewOf(events: FlowEvent[]) {
  let s: PatientState = emptyPatient('RXT', 'P1');
  for (const e of events) s = evolve(s, e).state;
  return fold(s.events).view;
}

describe('alerts follow the patient to the ward they move to', () => {
  const admitted = [
    ev('patient.admitted', { spellId: 'S1', ward: 'W12', bed: 'B1', expectedDischargeAt: T0 + days(5) }, T0),
  ];
  const transfer = ev('patient.transferred', { spellId: 'S1', ward: 'W14', bed: 'B3' }, T0 + days(9));

  it('given a patient with open stranded and EDD-passed alerts on W12, when transferred to W14, both clocks move to W14 with the same alert ids', () => {
    const before = timers('RXT', 'P1', viewOf(admitted), ctx);
    const after = timers('RXT', 'P1', viewOf([...admitted, transfer]), ctx);
    const moved = movedClocks(before, after);
    const stranded = before.find((t) => t.rule === 'stranded')!;
    const edd = before.find((t) => t.rule === 'edd_passed')!;
    expect(moved).toEqual(expect.arrayContaining([
      { alertId: stranded.alertId, place: { ward: 'W14' } },
      { alertId: edd.alertId, place: { ward: 'W14' } },
    ]));
    // Every clock still running on W14 is one that moved: none is left naming W12.
    expect(after.filter((t) => t.ward === 'W12')).toEqual([]);
    expect(moved.map((m) => m.alertId).sort()).toEqual(after.map((t) => t.alertId).sort());
    // The alert the clock raises from now on names the new ward too.
    expect(alertFor('RXT', 'P1', undefined, viewOf([...admitted, transfer]), ctx, stranded, T0 + days(9))).toMatchObject({ alertId: stranded.alertId, ward: 'W14' });
  });

  it('given an event that changes nothing about where the patient is (an EDD update), no clock moves', () => {
    const before = timers('RXT', 'P1', viewOf(admitted), ctx);
    const after = timers('RXT', 'P1', viewOf([...admitted, ev('edd.set', { spellId: 'S1', expectedDischargeAt: T0 + days(20) }, T0 + days(2))]), ctx);
    expect(movedClocks(before, after)).toEqual([]);
  });

  it('given a discharged patient whose catchment area changes before the 72 h run out, (a crisis referral from the new area), the follow-up clock moves to the new area and its team', () => {
    const discharged = [
      ev('patient.admitted', { spellId: 'S1', ward: 'W12', area: 'NORTH' }, T0),
      ev('patient.discharged', { spellId: 'S1', destination: '19' }, T0 + days(10)),
    ];
    const before = timers('RXT', 'P1', viewOf(discharged), ctx);
    const after = timers('RXT', 'P1', viewOf([...discharged, ev('referral.received', { referralId: 'R2', team: 'CRISIS-SOUTH', teamType: 'crisis', urgency: 'urgent', area: 'SOUTH' }, T0 + days(10) + hours(20))]), ctx);
    const fu = before.find((t) => t.rule === 'followup_missed')!;
    expect(movedClocks(before, after).find((m) => m.alertId === fu.alertId)).toEqual({ alertId: fu.alertId, place: { ward: 'W12', team: 'CRISIS-SOUTH', area: 'SOUTH' } });
  });
});
