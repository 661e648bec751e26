// The decision-to-admit queue: who is waiting for a bed (not every unassessed referral),
// how long, from where, their sex (single-sex wards), and the 12-hour breach.
import type { FlowEvent } from '@pfm/contracts';
import { admissionWaiting, alertFor, DEFAULT_THRESHOLDS, emptyPatient, evolve, facts, fold, timers, type DomainContext, type PatientState } from './index';
import { ev, hours, T0 } from './testing';

const ctx: DomainContext = { thresholds: DEFAULT_THRESHOLDS, wardType: () => 'adult_acute' };
function viewOf(events: FlowEvent[]) {
  let s: PatientState = emptyPatient('RXT', 'P1');
  for (const e of events) s = evolve(s, e).state;
  return fold(s.events).view;
}
const liaisonReferral = ev('referral.received', { referralId: 'R1', team: 'LIAISON-GH1', teamType: 'liaison', urgency: 'emergency' }, T0);
const communityReferral = ev('referral.received', { referralId: 'R2', team: 'CMHT-NORTH', teamType: 'community', urgency: 'routine' }, T0);

describe('decision-to-admit queue', () => {
  it('given a routine community referral not yet assessed, nobody is waiting for a bed', () => {
    const v = viewOf([communityReferral]);
    expect(facts('P1', v).filter((f) => f.kind === 'index')).toEqual([]);
    expect(admissionWaiting('P1', v, T0 + hours(1))).toBeUndefined();
  });

  it('given a decision to admit after an A&E liaison referral, the patient is queued with time waited, source and sex', () => {
    const v = viewOf([liaisonReferral, ev('admission.decided', { referralId: 'R1', gender: 'F' }, T0 + hours(2))]);
    expect(facts('P1', v)).toContainEqual({ kind: 'index', scope: 'site', index: 'dta', member: 'P1', score: T0 + hours(2) });
    expect(admissionWaiting('P1', v, T0 + hours(7))).toEqual({ patientId: 'P1', decidedAt: T0 + hours(2), waitedHours: 5, source: 'A&E', emergency: true, sex: 'F', referralId: 'R1' });
  });

  it('given a decision to admit from a crisis team, the source says so; with no referral it is unknown', () => {
    const crisis = viewOf([ev('referral.received', { referralId: 'R3', team: 'CRISIS-N', teamType: 'crisis', urgency: 'very_urgent' }, T0), ev('admission.decided', { referralId: 'R3' }, T0 + hours(1))]);
    expect(admissionWaiting('P1', crisis, T0 + hours(2))?.source).toBe('crisis team');
    expect(admissionWaiting('P1', viewOf([ev('admission.decided', {}, T0)]), T0 + hours(1))?.source).toBe('unknown');
  });

  it('given a planned decision to admit after a community referral (e.g. a rehab bed), the patient is queued but no 12-hour A&E clock runs', () => {
    const v = viewOf([communityReferral, ev('admission.decided', { referralId: 'R2' }, T0 + hours(2))]);
    expect(admissionWaiting('P1', v, T0 + hours(40))).toMatchObject({ source: 'community', waitedHours: 38, emergency: false });
    expect(timers('RXT', 'P1', v, ctx).filter((x) => x.rule === 'admission_wait')).toEqual([]);
    // Emergency routes keep the clock; a decision with no referral keeps it too (fails safe).
    const liaison = viewOf([liaisonReferral, ev('admission.decided', { referralId: 'R1' }, T0 + hours(2))]);
    expect(admissionWaiting('P1', liaison, T0 + hours(3))?.emergency).toBe(true);
    const none = viewOf([ev('admission.decided', {}, T0)]);
    expect(admissionWaiting('P1', none, T0 + hours(1))?.emergency).toBe(true);
    expect(timers('RXT', 'P1', none, ctx).filter((x) => x.rule === 'admission_wait')).toHaveLength(1);
    // Which referral routes are emergency admissions is configuration.
    const strict: DomainContext = { ...ctx, thresholds: { ...DEFAULT_THRESHOLDS, admissionWaitTeamTypes: ['liaison'] } };
    const crisis = viewOf([ev('referral.received', { referralId: 'R3', team: 'CRISIS-N', teamType: 'crisis', urgency: 'very_urgent' }, T0), ev('admission.decided', { referralId: 'R3' }, T0 + hours(1))]);
    expect(timers('RXT', 'P1', crisis, ctx).filter((x) => x.rule === 'admission_wait')).toHaveLength(1);
    expect(timers('RXT', 'P1', crisis, strict).filter((x) => x.rule === 'admission_wait')).toEqual([]);
  });

  it('a 12-hour wait from the decision to admit raises an alert; admission stops the clock and leaves the queue', () => {
    const waiting = viewOf([liaisonReferral, ev('admission.decided', { referralId: 'R1' }, T0 + hours(2))]);
    const [t] = timers('RXT', 'P1', waiting, ctx).filter((x) => x.rule === 'admission_wait');
    expect(t).toMatchObject({ dueAt: T0 + hours(14), threshold: { value: 12, unit: 'hours' } });
    expect(alertFor('RXT', 'P1', undefined, waiting, ctx, t!, T0 + hours(14))).toMatchObject({ rule: 'admission_wait', severity: 'critical' });
    const admitted = viewOf([liaisonReferral, ev('admission.decided', { referralId: 'R1' }, T0 + hours(2)), ev('patient.admitted', { spellId: 'S1', ward: 'W1' }, T0 + hours(9))]);
    expect(timers('RXT', 'P1', admitted, ctx).filter((x) => x.rule === 'admission_wait')).toEqual([]);
    expect(facts('P1', admitted).filter((f) => f.kind === 'index' && f.index === 'dta')).toEqual([]);
  });
});
