import type { FlowEvent } from '@pfm/contracts';
import { DEFAULT_THRESHOLDS, emptyPatient, evolve, fold, timers, type PatientState } from '@pfm/flow-domain';
import { ethnicGroup, LocalAreas, Pseudonymiser, safeArea } from './pseudonym';
import { patientRows, type RowContext } from './rows';

const H = 3_600_000;
const D = 24 * H;
const T0 = Date.parse('2026-03-01T10:00:00Z');
let n = 0;
const ev = (type: FlowEvent['type'], payload: object, at: number, extra: Partial<FlowEvent> = {}): FlowEvent =>
  ({ eventId: `e${++n}`, type, payload, occurredAt: at, recordedAt: at, site: 'RXT', patientId: 'P1', nhsNumber: '9434765919', sourceSystem: 'T', channel: 'json', ...extra }) as FlowEvent;

const ctx: RowContext = {
  thresholds: DEFAULT_THRESHOLDS,
  wardType: (_s, w) => (w === 'OAK' ? 'adult_acute' : w === 'ELM' ? 'picu' : 'unknown'),
  pseudo: new Pseudonymiser('x'.repeat(40)),
  areas: new LocalAreas([{ areaCode: 'LS6', name: 'Headingley', locality: 'NORTH', deprivationQuintile: 2 }], 'locality'),
};

function stateOf(events: FlowEvent[]): PatientState {
  return events.reduce((s, e) => evolve(s, e, e.recordedAt).state, emptyPatient('RXT', 'P1'));
}

const admitted = (at = T0, extra: object = {}) => ev('patient.admitted', { spellId: 'S1', ward: 'OAK', legalStatus: '01', ageBand: '25-34', gender: 'F', ethnicity: 'N', area: 'LS6 2AB', admissionSource: '19', admissionMethod: '21', ...extra }, at);

describe('patientRows', () => {
  it('a closed spell: LOS from spell start across a transfer, ward stays, leave, CRFD by reason, follow-up, demographics', () => {
    const rows = patientRows(stateOf([
      admitted(),
      ev('patient.transferred', { spellId: 'S1', ward: 'ELM' }, T0 + 2 * D),
      ev('leave.started', { spellId: 'S1', leaveType: 's17' }, T0 + 3 * D),
      ev('leave.ended', { spellId: 'S1' }, T0 + 3 * D + 6 * H),
      ev('patient.updated', { spellId: 'S1', legalStatus: '03' }, T0 + 4 * D),
      ev('crfd.started', { spellId: 'S1', reasonCode: '14' }, T0 + 5 * D),
      ev('crfd.started', { spellId: 'S1', reasonCode: '04' }, T0 + 7 * D),
      ev('patient.discharged', { spellId: 'S1', destination: 'home', dischargeMethod: '1' }, T0 + 10 * D),
      ev('followup.made', { spellId: 'S1' }, T0 + 10 * D + 48 * H),
    ]), ctx);
    expect(rows.spells).toHaveLength(1);
    const s = rows.spells[0]!;
    expect(s).toMatchObject({
      spell_id: 'S1', los_days: 10, first_ward: 'OAK', first_ward_type: 'adult_acute', last_ward: 'ELM', last_ward_type: 'picu',
      legal_status_at_admission: '01', detained_at_any_point: true, age_band: '25-34', sex: 'F', ethnic_category: 'N', ethnic_group: 'Black or Black British',
      local_area: 'NORTH', deprivation_quintile: 2, crfd_days: 5, oap_bed_days: 0, readmitted_30d: false, followup_eligible: true, followed_up_72h: true,
      admission_source: '19', admission_method: '21', discharge_destination: 'home',
    });
    expect(s.patient_key).toBe(ctx.pseudo.patientKey('RXT', 'P1', '9434765919'));
    expect(JSON.stringify(rows)).not.toContain('9434765919');
    expect(JSON.stringify(rows)).not.toContain('2AB');
    expect(rows.ward_stays.map((w) => [w.ward, w.days])).toEqual([['OAK', 2], ['ELM', 8]]);
    expect(rows.leave_periods).toEqual([expect.objectContaining({ leave_seq: 1, ward: 'ELM', leave_type: 's17', days: 0.25, end_reason: 'returned' })]);
    expect(rows.crfd_periods.map((c) => [c.period_seq, c.reason_seq, c.reason_code, c.days, c.end_reason])).toEqual([[1, 1, '14', 2, 'reason_changed'], [1, 2, '04', 3, 'discharged']]);
  });

  it('cancels undo what they cancel: a cancelled transfer leaves one ward stay, a cancelled discharge reopens the spell', () => {
    const rows = patientRows(stateOf([
      admitted(),
      ev('patient.transferred', { spellId: 'S1', ward: 'ELM' }, T0 + D),
      ev('transfer.cancelled', { spellId: 'S1' }, T0 + D + H),
      ev('patient.discharged', { spellId: 'S1' }, T0 + 2 * D),
      ev('discharge.cancelled', { spellId: 'S1' }, T0 + 2 * D + H),
    ]), ctx);
    expect(rows.ward_stays).toEqual([expect.objectContaining({ ward: 'OAK', ended_at: null, days: null })]);
    expect(rows.spells[0]).toMatchObject({ discharged_at: null, los_days: null, readmitted_30d: null, followed_up_72h: null });
  });

  it('a duplicate event changes nothing; a leave open at discharge ends as discharged', () => {
    const leave = ev('leave.started', { spellId: 'S1' }, T0 + D);
    const once = patientRows(stateOf([admitted(), leave, ev('patient.discharged', { spellId: 'S1' }, T0 + 2 * D)]), ctx);
    n -= 1; // the same discharge id again
    const twice = patientRows(stateOf([admitted(), leave, leave, ev('patient.discharged', { spellId: 'S1' }, T0 + 2 * D)]), ctx);
    expect(twice.leave_periods).toEqual(once.leave_periods.map((l) => ({ ...l })));
    expect(once.leave_periods[0]).toMatchObject({ end_reason: 'discharged', days: 1 });
  });

  it('readmission within 30 days, out-of-area bed days, follow-up missed after 72 h', () => {
    const rows = patientRows(stateOf([
      admitted(T0, { outOfArea: true, oapReason: 'no local bed' }),
      ev('patient.transferred', { spellId: 'S1', ward: 'OAK' }, T0 + 4 * D),
      ev('patient.discharged', { spellId: 'S1' }, T0 + 6 * D),
      ev('followup.made', { spellId: 'S1' }, T0 + 6 * D + 73 * H),
      ev('patient.admitted', { spellId: 'S2', ward: 'OAK' }, T0 + 20 * D),
    ]), ctx);
    expect(rows.spells[0]).toMatchObject({ out_of_area: true, oap_reason: 'no local bed', oap_bed_days: 4, readmitted_30d: true, followed_up_72h: false });
    expect(rows.spells[1]).toMatchObject({ spell_id: 'S2', readmitted_30d: null });
  });

  it('follow-up eligibility means what the live board means: a discharge counts exactly when the board runs its 72 h clock (residence outside England exempt)', () => {
    const cases: { name: string; admit: object; discharge: object; eligible: boolean }[] = [
      { name: 'home, resident in England', admit: {}, discharge: { destination: '19' }, eligible: true },
      { name: 'resident in Wales', admit: { area: 'W92000004' }, discharge: { destination: '19' }, eligible: false },
      { name: 'resident in Scotland (lower case)', admit: { area: 's92000003' }, discharge: { destination: '19' }, eligible: false },
      { name: 'to prison', admit: {}, discharge: { destination: '38' }, eligible: false },
      { name: 'death by discharge method only', admit: {}, discharge: { dischargeMethod: '4' }, eligible: false },
    ];
    const domainCtx = { thresholds: ctx.thresholds, wardType: (w: string) => ctx.wardType('RXT', w) };
    for (const c of cases) {
      const state = stateOf([admitted(T0, c.admit), ev('patient.discharged', { spellId: 'S1', ...c.discharge }, T0 + 5 * D)]);
      const boardClock = timers('RXT', 'P1', fold(state.events).view, domainCtx).some((t) => t.rule === 'followup_missed');
      const row = patientRows(state, ctx).spells[0]!;
      expect({ name: c.name, warehouse: row.followup_eligible, board: boardClock }).toEqual({ name: c.name, warehouse: c.eligible, board: c.eligible });
    }
  });

  it('referrals: first response within 4 h / 24 h, source and area', () => {
    const rows = patientRows(stateOf([
      ev('referral.received', { referralId: 'R1', team: 'CRISIS-N', teamType: 'crisis', urgency: 'very_urgent', referralSource: 'gp', area: 'LS6' }, T0),
      ev('referral.assessed', { referralId: 'R1' }, T0 + 5 * H),
      ev('referral.received', { referralId: 'R2', team: 'CRISIS-N', teamType: 'crisis', urgency: 'urgent' }, T0 + D),
    ]), ctx);
    expect(rows.referrals.map((r) => [r.referral_id, r.referral_source, r.local_area, r.response_hours, r.within_4h, r.within_24h, r.status])).toEqual([
      ['R1', 'gp', 'NORTH', 5, false, true, 'assessed'], ['R2', null, 'NORTH', null, false, false, 'waiting'],
    ]);
  });

  it('a patient with no NHS number is keyed by the local record', () => {
    const e = { ...admitted(), nhsNumber: undefined } as FlowEvent;
    const s = patientRows(evolve(emptyPatient('RXT', 'P1'), e).state, ctx).spells[0]!;
    expect(s.patient_key).toBe(ctx.pseudo.recordKey('RXT', 'P1'));
  });
});

describe('pseudonymisation helpers', () => {
  it('NHS top-level ethnic groups', () => {
    expect(['A', 'D', 'H', 'M', 'S', 'Z', undefined, 'X'].map((c) => ethnicGroup(c))).toEqual(['White', 'Mixed', 'Asian or Asian British', 'Black or Black British', 'Other', 'Not stated', 'Unknown', 'Unknown']);
  });
  it('never a full postcode', () => {
    expect([safeArea('ls6 2ab'), safeArea('SW1A1AA'), safeArea('LS6'), safeArea('NORTH')]).toEqual(['LS6', 'SW1A', 'LS6', 'NORTH']);
  });
  it('refuses a short secret', () => {
    expect(() => new Pseudonymiser('short')).toThrow(/at least 32/);
  });
});
