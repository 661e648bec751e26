// Clinically ready for discharge: reason periods, so delay days go to the right reason
// (NHS Data Dictionary: a spell can have several CRFD periods; MHSDS v6 MHS518 reasons).
import { flowEventInputSchema, type FlowEvent } from '@pfm/contracts';
import { crfdDelayDays, emptyPatient, evolve, fold, type PatientState } from './index';
import { days, ev, T0 } from './testing';

function viewOf(events: FlowEvent[]) {
  let s: PatientState = emptyPatient('RXT', 'P1');
  for (const e of events) s = evolve(s, e).state;
  return fold(s.events).view;
}
const admit = ev('patient.admitted', { spellId: 'S1', ward: 'W1' }, T0);

describe('CRFD reason periods and delay days', () => {
  it('given a CRFD period whose reason changes from housing (14) to care package (09), each reason gets its own delay days', () => {
    const v = viewOf([admit, ev('crfd.started', { spellId: 'S1', reasonCode: '14' }, T0 + days(10)), ev('crfd.started', { spellId: 'S1', reasonCode: '09' }, T0 + days(16))]);
    expect(v.spells.S1!.crfd).toMatchObject({ startedAt: T0 + days(10), reasonCode: '09' });
    expect(crfdDelayDays(v.spells.S1!, T0 + days(20))).toEqual({ total: 10, byReason: { '14': 6, '09': 4 } });
  });

  it('given two CRFD periods with a deterioration between, only days ready for discharge count, up to discharge', () => {
    const v = viewOf([
      admit, ev('crfd.started', { spellId: 'S1', reasonCode: '14' }, T0 + days(10)), ev('crfd.ended', { spellId: 'S1' }, T0 + days(13)),
      ev('crfd.started', { spellId: 'S1', reasonCode: '14' }, T0 + days(20)), ev('patient.discharged', { spellId: 'S1' }, T0 + days(22)),
    ]);
    expect(crfdDelayDays(v.spells.S1!, T0 + days(40))).toEqual({ total: 5, byReason: { '14': 5 } });
    expect(v.spells.S1!.crfdPeriods).toBe(2);
  });

  it('accepts an MHSDS v5 delay reason code from history (e.g. A2) instead of refusing it, and keeps it as sent', () => {
    const input = { type: 'crfd.started', occurredAt: T0, site: 'RXT', patientId: 'P1', payload: { spellId: 'S1', reasonCode: 'A2' } };
    expect(flowEventInputSchema.safeParse(input).success).toBe(true);
    const v = viewOf([admit, ev('crfd.started', { spellId: 'S1', reasonCode: 'A2' }, T0 + days(1))]);
    expect(crfdDelayDays(v.spells.S1!, T0 + days(3)).byReason).toEqual({ A2: 2 });
  });
});
