// Mental-health clocks (domain.md "Mental Health Act and safeguarding clocks"): leave
// overdue and AWOL, under-18s on adult wards, Mental Health Act holding powers, s2 and s3.
import type { FlowEvent } from '@pfm/contracts';
import { alertFor, DEFAULT_THRESHOLDS, emptyPatient, evolve, fold, timers, type DomainContext, type PatientState } from './index';
import { days, ev, hours, T0 } from './testing';

const ctx: DomainContext = { thresholds: DEFAULT_THRESHOLDS, wardType: (w) => (w === 'RE' ? 'rehab' : w === 'POS' ? 'place_of_safety' : 'adult_acute') };
function viewOf(events: FlowEvent[]) {
  let s: PatientState = emptyPatient('RXT', 'P1');
  for (const e of events) s = evolve(s, e).state;
  return fold(s.events).view;
}
const clocks = (events: FlowEvent[], rule: string) => timers('RXT', 'P1', viewOf(events), ctx).filter((t) => t.rule === rule);
const admit = (payload: Partial<FlowEvent['payload']> = {}) => ev('patient.admitted', { spellId: 'S1', ward: 'W1', ...payload } as never, T0);

describe('leave: overdue return and AWOL', () => {
  it('given leave with an expected return, when the return time passes with no A22, a leave-overdue clock fires for the ward', () => {
    const events = [admit(), ev('leave.started', { spellId: 'S1', leaveType: 'S17', expectedReturnAt: T0 + days(2) }, T0 + days(1))];
    expect(clocks(events, 'leave_overdue')).toEqual([expect.objectContaining({ dueAt: T0 + days(2), ward: 'W1', spellId: 'S1' })]);
    const a = alertFor('RXT', 'P1', undefined, viewOf(events), ctx, clocks(events, 'leave_overdue')[0]!, T0 + days(2));
    expect(a).toMatchObject({ rule: 'leave_overdue', ward: 'W1', severity: 'warning' });
  });

  it('given the patient is back (A22) before the expected return, no clock runs', () => {
    const events = [admit(), ev('leave.started', { spellId: 'S1', expectedReturnAt: T0 + days(2) }, T0 + days(1)), ev('leave.ended', { spellId: 'S1' }, T0 + days(1) + hours(5))];
    expect(clocks(events, 'leave_overdue')).toEqual([]);
  });

  it('given the ward records AWOL (leave type AWOL), a critical AWOL alert is due at once', () => {
    const events = [admit({ legalStatus: '03' }), ev('leave.started', { spellId: 'S1', leaveType: 'AWOL' }, T0 + days(1))];
    const [t] = clocks(events, 'awol');
    expect(t).toMatchObject({ dueAt: T0 + days(1), ward: 'W1' });
    expect(alertFor('RXT', 'P1', undefined, viewOf(events), ctx, t!, T0 + days(1))).toMatchObject({ rule: 'awol', severity: 'critical' });
  });
});

describe('under-18s on adult wards (CQC notification after 48 h)', () => {
  it('given a 17-year-old admitted to an adult acute ward, a clock fires at 48 h', () => {
    const events = [admit({ ageBand: '0-17' })];
    expect(clocks(events, 'under18_adult_ward')).toEqual([expect.objectContaining({ dueAt: T0 + hours(48), threshold: { value: 48, unit: 'hours' } })]);
  });

  it('given an adult, no clock', () => {
    expect(clocks([admit({ ageBand: '18-24' })], 'under18_adult_ward')).toEqual([]);
  });

  it('given a 17-year-old first held in a s136 suite, the 48 h runs from arrival on the adult ward, not from the spell start', () => {
    const events = [
      ev('patient.admitted', { spellId: 'S1', ward: 'POS', ageBand: '0-17', legalStatus: '20' }, T0),
      ev('patient.transferred', { spellId: 'S1', ward: 'W1' }, T0 + hours(20)),
    ];
    expect(clocks(events, 'under18_adult_ward')).toEqual([expect.objectContaining({ dueAt: T0 + hours(20 + 48), ward: 'W1' })]);
  });

  it('given moves between adult wards, the 48 h keeps running from the first of them', () => {
    const events = [
      ev('patient.admitted', { spellId: 'S1', ward: 'POS', ageBand: '0-17' }, T0),
      ev('patient.transferred', { spellId: 'S1', ward: 'W1' }, T0 + hours(10)),
      ev('patient.transferred', { spellId: 'S1', ward: 'W2' }, T0 + hours(30)),
    ];
    expect(clocks(events, 'under18_adult_ward')).toEqual([expect.objectContaining({ dueAt: T0 + hours(10 + 48), ward: 'W2' })]);
  });

  it('given a 17-year-old still in the s136 suite, no clock', () => {
    expect(clocks([ev('patient.admitted', { spellId: 'S1', ward: 'POS', ageBand: '0-17' }, T0)], 'under18_adult_ward')).toEqual([]);
  });
});

describe('Mental Health Act clocks from legal-status changes', () => {
  it('given a change to s5(2) by an A08, the 72 h holding power runs from the change', () => {
    const events = [admit({ legalStatus: '01' }), ev('patient.updated', { spellId: 'S1', legalStatus: '05' }, T0 + days(3))];
    expect(clocks(events, 'mha_expiry')).toEqual([expect.objectContaining({ dueAt: T0 + days(3) + hours(72), threshold: { value: 72, unit: 'hours' } })]);
  });

  it('given a s5(2) converted to s2 before it ran out, the s5(2) clock stops and the s2 clock warns 72 h before day 28', () => {
    const events = [
      admit({ legalStatus: '01' }), ev('patient.updated', { spellId: 'S1', legalStatus: '05' }, T0 + days(3)),
      ev('patient.updated', { spellId: 'S1', legalStatus: '02' }, T0 + days(4)),
    ];
    const ts = clocks(events, 'mha_expiry');
    expect(ts).toHaveLength(1);
    // 28 days beginning with 5 October (the day of the change, 09:00 in London): the last day
    // is 1 November, so s2 ends at midnight starting 2 November (GMT by then), not 28 x 24 h
    // after 09:00.
    expect(ts[0]).toMatchObject({ dueAt: Date.parse('2026-11-02T00:00:00Z') - hours(72), threshold: { value: 28, unit: 'days' } });
    expect(ts[0]!.detail).toContain('expires the end of 1 Nov 2026');
  });

  it('given a s2 begun late in the evening, the day of admission still counts as day one', () => {
    // 23:30 in London (BST) on 1 October is 22:30 UTC: day one is 1 October, not 2 October.
    const events = [ev('patient.admitted', { spellId: 'S1', ward: 'W1', legalStatus: '02' } as never, Date.parse('2026-10-01T22:30:00Z'))];
    expect(clocks(events, 'mha_expiry')).toEqual([expect.objectContaining({ dueAt: Date.parse('2026-10-29T00:00:00Z') - hours(72) })]);
  });

  it('given a patient detained under s3, the clock warns 4 weeks before the first 6 months end (the renewal is due by then)', () => {
    const events = [admit({ legalStatus: '03' })];
    const ts = clocks(events, 'mha_expiry');
    // 6 months beginning with 1 October 2026 end as 1 April 2027 begins in London (BST: 23:00 UTC the day before).
    const endsAt = Date.parse('2027-03-31T23:00:00Z');
    expect(ts).toEqual([expect.objectContaining({ dueAt: endsAt - days(28), threshold: { value: 182, unit: 'days' } })]);
    const a = alertFor('RXT', 'P1', undefined, viewOf(events), ctx, ts[0]!, endsAt - days(28));
    expect(a).toMatchObject({ rule: 'mha_expiry', severity: 'critical', message: expect.stringContaining('section 3') });
    expect(a!.message).toContain('expires the end of 31 Mar 2027');
  });

  it('given informal (01) or a status no clock is configured for, no Mental Health Act clock runs', () => {
    expect(clocks([admit({ legalStatus: '01' })], 'mha_expiry')).toEqual([]);
    expect(clocks([admit({ legalStatus: '37' })], 'mha_expiry')).toEqual([]);
  });

  it('given a patient brought under s136 to a place of safety, 24 h runs from arrival and the alert is critical', () => {
    const events = [admit({ legalStatus: '20' })];
    const [t] = clocks(events, 'mha_expiry');
    expect(t).toMatchObject({ dueAt: T0 + hours(24) });
    expect(alertFor('RXT', 'P1', undefined, viewOf(events), ctx, t!, T0 + hours(24))).toMatchObject({ severity: 'critical', message: expect.stringContaining('section 136') });
  });

  it('given a s136 in summer, the expiry reads in UK time (BST), never UTC an hour behind', () => {
    const arrival = Date.parse('2026-07-14T13:05:00Z'); // 14:05 BST
    const events = [ev('patient.admitted', { spellId: 'S1', ward: 'POS', legalStatus: '20' } as never, arrival)];
    const [t] = clocks(events, 'mha_expiry');
    expect(t!.detail).toBe('section 136 place of safety (24 h; extendable by 12 h) expires 15 Jul 2026 14:05 BST');
  });

  it('given a s136 extended by 12 h while it runs, the clock runs to 36 h from arrival (not 24, not a new 36 from the extension)', () => {
    const events = [admit({ legalStatus: '20' }), ev('patient.updated', { spellId: 'S1', legalStatus: '20X' }, T0 + hours(20))];
    const [t] = clocks(events, 'mha_expiry');
    expect(clocks(events, 'mha_expiry')).toHaveLength(1);
    expect(t).toMatchObject({ dueAt: T0 + hours(36), threshold: { value: 36, unit: 'hours' } });
    expect(alertFor('RXT', 'P1', undefined, viewOf(events), ctx, t!, T0 + hours(36))).toMatchObject({ severity: 'critical', message: expect.stringContaining('extended by 12 h') });
  });

  it('given a s136 "extension" recorded after the 24 h ran out, it extends nothing: due at 24 h from arrival', () => {
    const events = [admit({ legalStatus: '20' }), ev('patient.updated', { spellId: 'S1', legalStatus: '20X' }, T0 + hours(25))];
    expect(clocks(events, 'mha_expiry')).toEqual([expect.objectContaining({ dueAt: T0 + hours(24), threshold: { value: 24, unit: 'hours' } })]);
  });

  it('given the extension code after another status (not s136), it is a clock of its own from then', () => {
    const events = [admit({ legalStatus: '05' }), ev('patient.updated', { spellId: 'S1', legalStatus: '20X' }, T0 + hours(10))];
    expect(clocks(events, 'mha_expiry')).toEqual([expect.objectContaining({ dueAt: T0 + hours(10) + hours(36) })]);
  });

  it("given a doctor's s5(2) report while the nurse's s5(4) runs, the 72 h run from the nurse's record (s5(5)), not from the report", () => {
    const events = [admit({ legalStatus: '06' }), ev('patient.updated', { spellId: 'S1', legalStatus: '05' }, T0 + hours(4))];
    expect(clocks(events, 'mha_expiry')).toEqual([expect.objectContaining({ dueAt: T0 + hours(72), threshold: { value: 72, unit: 'hours' } })]);
    expect(alertFor('RXT', 'P1', undefined, viewOf(events), ctx, clocks(events, 'mha_expiry')[0]!, T0 + hours(72))).toMatchObject({ severity: 'critical', message: expect.stringContaining('section 5(2)') });
  });

  it("given a s5(2) report after the nurse's 6 h ran out, it is a holding power of its own: 72 h from the report", () => {
    const events = [admit({ legalStatus: '06' }), ev('patient.updated', { spellId: 'S1', legalStatus: '05' }, T0 + hours(7))];
    expect(clocks(events, 'mha_expiry')).toEqual([expect.objectContaining({ dueAt: T0 + hours(7) + hours(72) })]);
  });

  it('given the same status repeated on an A08, the clock does not restart', () => {
    const events = [admit({ legalStatus: '05' }), ev('patient.updated', { spellId: 'S1', legalStatus: '05' }, T0 + hours(10))];
    expect(clocks(events, 'mha_expiry')).toEqual([expect.objectContaining({ dueAt: T0 + hours(72) })]);
  });
});

describe('72 h follow-up after a cancelled discharge', () => {
  it('given a discharge cancelled (A13) and done again, the new 72 h clock has an alert of its own (the first one may have been raised and resolved)', () => {
    const first = [admit(), ev('patient.discharged', { spellId: 'S1', destination: '19' }, T0 + days(2))];
    const again = [...first, ev('discharge.cancelled', { spellId: 'S1' }, T0 + days(6)), ev('patient.discharged', { spellId: 'S1', destination: '19' }, T0 + days(7))];
    const [a] = clocks(first, 'followup_missed');
    const [b] = clocks(again, 'followup_missed');
    expect(a).toMatchObject({ dueAt: T0 + days(2) + hours(72) });
    expect(b).toMatchObject({ dueAt: T0 + days(7) + hours(72) });
    expect(b!.alertId).not.toBe(a!.alertId);
  });
});
