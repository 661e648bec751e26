import { alertFor, DEFAULT_THRESHOLDS, diffFacts, emptyPatient, evolve, facts, fold, followUpOutcome, timers, type DomainContext, type PatientState } from './index';
import { days, ev, hours, T0 } from './testing';
import type { FlowEvent } from '@pfm/contracts';

const ctx: DomainContext = { thresholds: DEFAULT_THRESHOLDS, wardType: (w) => (w.startsWith('OA') ? 'older_adult_acute' : 'adult_acute') };

function applyAll(events: FlowEvent[], s: PatientState = emptyPatient('RXT', 'P1')) {
  const outcomes: string[] = [];
  for (const e of events) {
    const r = evolve(s, e);
    s = r.state;
    outcomes.push(r.outcome.kind);
  }
  return { state: s, view: fold(s.events).view, outcomes };
}

const admit = (at = T0, ward = 'W12', spellId = 'S1') => ev('patient.admitted', { spellId, ward, bed: 'B1' }, at);

describe('pathway', () => {
  it('given an admitted spell, when transferred, LOS still counts from the spell start', () => {
    const { view } = applyAll([admit(), ev('patient.transferred', { spellId: 'S1', ward: 'W14', bed: 'B2' }, T0 + days(3))]);
    expect(view.spells.S1).toMatchObject({ ward: 'W14', admittedAt: T0, status: 'admitted' });
    const f = facts('P1', view);
    expect(f).toContainEqual({ kind: 'index', scope: 'ward:W14', index: 'los', member: 'P1|S1', score: T0 });
    expect(f.find((x) => x.scope === 'ward:W12')).toBeUndefined();
  });

  it('keeps the bed on leave and releases it only on a real discharge', () => {
    const a = applyAll([admit(), ev('leave.started', { spellId: 'S1' }, T0 + days(1))]);
    expect(facts('P1', a.view)).toEqual(expect.arrayContaining([
      { kind: 'count', scope: 'ward:W12', name: 'occupied', value: 1 },
      { kind: 'count', scope: 'ward:W12', name: 'onLeave', value: 1 },
      { kind: 'bed', scope: 'ward:W12', bed: 'B1', member: 'P1|S1' },
    ]));
    const d = applyAll([ev('patient.discharged', { spellId: 'S1', destination: 'home' }, T0 + days(2))], a.state);
    expect(facts('P1', d.view).filter((x) => x.kind !== 'count' || x.scope.startsWith('ward:'))).toEqual([]);
  });

  it('a transfer to a local ward ends an out-of-area placement', () => {
    const { view } = applyAll([
      ev('patient.admitted', { spellId: 'S1', ward: 'OAP-X', outOfArea: true, oapReason: 'no local bed' }, T0),
      ev('patient.transferred', { spellId: 'S1', ward: 'W12' }, T0 + days(4)),
    ]);
    expect(view.spells.S1).toMatchObject({ ward: 'W12' });
    expect(view.spells.S1!.outOfArea).toBeFalsy();
    expect(facts('P1', view).some((f) => f.kind === 'count' && f.name === 'outOfArea')).toBe(false);
  });

  it('rejects a discharge of a discharged spell and a transfer after discharge, with reasons', () => {
    const base = applyAll([admit(), ev('patient.discharged', { spellId: 'S1' }, T0 + days(2))]).state;
    const r1 = evolve(base, ev('patient.discharged', { spellId: 'S1' }, T0 + days(3)));
    expect(r1.outcome).toEqual({ kind: 'rejected', reason: 'discharge of already discharged spell S1' });
    const r2 = evolve(base, ev('patient.transferred', { spellId: 'S1', ward: 'W9' }, T0 + days(3)));
    expect(r2.outcome).toMatchObject({ kind: 'rejected' });
  });

  it('applies a duplicate once', () => {
    const a = admit();
    const { outcomes, state } = applyAll([a, a]);
    expect(outcomes).toEqual(['applied', 'duplicate']);
    expect(state.events).toHaveLength(1);
  });

  it('applies a late transfer inside the spell by event time', () => {
    const t2 = ev('patient.transferred', { spellId: 'S1', ward: 'W20' }, T0 + days(5));
    const late = ev('patient.transferred', { spellId: 'S1', ward: 'W14' }, T0 + days(2), { recordedAt: T0 + days(6) });
    const { view, outcomes } = applyAll([admit(), t2, late]);
    expect(outcomes).toEqual(['applied', 'applied', 'applied']);
    expect(view.spells.S1!.stays.map((s) => s.ward)).toEqual(['W12', 'W14', 'W20']);
    expect(view.spells.S1!.ward).toBe('W20');
  });

  describe('a discharge dated before events of its spell already applied (an A03 stamped minutes before the A02 sent first)', () => {
    const minutes = (n: number) => n * 60_000;
    const transfer = () => ev('patient.transferred', { spellId: 'S1', ward: 'W14', bed: 'B7' }, T0 + days(5), { recordedAt: T0 + days(5) });
    const early = () => ev('patient.discharged', { spellId: 'S1', destination: 'home' }, T0 + days(5) - minutes(10), { recordedAt: T0 + days(5) + minutes(2) });

    it('ends the spell and releases the bed it is in, as at the transfer', () => {
      const { view, outcomes, state } = applyAll([admit(), transfer(), early()]);
      expect(outcomes).toEqual(['applied', 'applied', 'applied']);
      expect(view.spells.S1).toMatchObject({ status: 'discharged', ward: 'W14', dischargedAt: T0 + days(5) + 1, destination: 'home' });
      expect(view.spells.S1!.stays.map((x) => x.ward)).toEqual(['W12', 'W14']);
      expect(facts('P1', view).filter((f) => f.kind === 'count' && f.name === 'occupied')).toEqual([]);
      // The history folds clean, so a rebuild or the warehouse gets the same.
      expect(fold(state.events).failures).toEqual([]);
      expect(state.events.map((e) => e.type)).toEqual(['patient.admitted', 'patient.transferred', 'patient.discharged']);
    });

    it('through leave: the discharge comes after a leave start applied before it', () => {
      const leave = ev('leave.started', { spellId: 'S1' }, T0 + days(5) + minutes(30), { recordedAt: T0 + days(5) + minutes(30) });
      const late = ev('patient.discharged', { spellId: 'S1' }, T0 + days(5), { recordedAt: T0 + days(5) + hours(1) });
      const { view, outcomes } = applyAll([admit(), transfer(), leave, late]);
      expect(outcomes).toEqual(['applied', 'applied', 'applied', 'applied']);
      expect(view.spells.S1).toMatchObject({ status: 'discharged', dischargedAt: T0 + days(5) + minutes(30) + 1 });
    });

    it('an A13 then cancels it: the patient is back in the bed on W14', () => {
      const cancel = ev('discharge.cancelled', { spellId: 'S1' }, T0 + days(5) + hours(1), { recordedAt: T0 + days(5) + hours(1) });
      const { view, outcomes } = applyAll([admit(), transfer(), early(), cancel]);
      expect(outcomes).toEqual(['applied', 'applied', 'applied', 'applied']);
      expect(view.spells.S1).toMatchObject({ status: 'admitted', ward: 'W14', bed: 'B7' });
    });

    it('leaves a discharge dated before the admission to the rules as before (parked: no spell then), and still refuses a transfer after the discharge', () => {
      const beforeAdmission = ev('patient.discharged', { spellId: 'S1' }, T0 - hours(1), { recordedAt: T0 + hours(1) });
      expect(applyAll([admit(), beforeAdmission]).outcomes).toEqual(['applied', 'parked']);
      const afterDischarge = ev('patient.transferred', { spellId: 'S1', ward: 'W20' }, T0 + days(6), { recordedAt: T0 + days(6) });
      expect(applyAll([admit(), transfer(), early(), afterDischarge]).outcomes).toEqual(['applied', 'applied', 'applied', 'rejected']);
    });

    it('still refuses it when an event of another spell lies between (a readmission)', () => {
      const d1 = ev('patient.discharged', { spellId: 'S1' }, T0 + days(3));
      const readmit = admit(T0 + days(4), 'W20', 'S2');
      // A second discharge of S1 dated inside S2: it would invalidate nothing of S1's own after it, and S1 is closed.
      const again = ev('patient.discharged', { spellId: 'S1' }, T0 + days(2), { recordedAt: T0 + days(6) });
      expect(applyAll([admit(), d1, readmit, again]).outcomes).toEqual(['applied', 'applied', 'applied', 'rejected']);
    });
  });

  it('an EDD after the discharge (an A08 repeating PV2-9) is taken and changes nothing: no reject, no EDD clock', () => {
    const r = applyAll([admit(), ev('patient.discharged', { spellId: 'S1', destination: 'home' }, T0 + days(4)), ev('edd.set', { spellId: 'S1', expectedDischargeAt: T0 + days(9) }, T0 + days(5))]);
    expect(r.outcomes).toEqual(['applied', 'applied', 'applied']);
    expect(r.view.spells.S1).toMatchObject({ status: 'discharged', expectedDischargeAt: undefined, eddChanges: 0 });
    expect(timers('RXT', 'P1', r.view, ctx).filter((t) => t.rule === 'edd_passed')).toEqual([]);
  });

  it('parks an event for an unknown spell and applies it when the admission arrives', () => {
    const transfer = ev('patient.transferred', { spellId: 'S1', ward: 'W14' }, T0 + days(1));
    const r = applyAll([transfer, admit()]);
    expect(r.outcomes).toEqual(['parked', 'applied']);
    expect(r.state.parked).toEqual([]);
    expect(r.view.spells.S1!.ward).toBe('W14');
  });

  it('each cancel undoes exactly what it cancels', () => {
    const a = admit();
    const t = ev('patient.transferred', { spellId: 'S1', ward: 'W14' }, T0 + days(1));
    const before = applyAll([a]).view;
    const afterCancel = applyAll([a, t, ev('transfer.cancelled', { spellId: 'S1' }, T0 + days(1) + hours(1))]).view;
    expect(facts('P1', afterCancel)).toEqual(facts('P1', before));
    const dis = applyAll([a, ev('patient.discharged', { spellId: 'S1' }, T0 + days(4)), ev('discharge.cancelled', { spellId: 'S1' }, T0 + days(4) + hours(2))]).view;
    expect(dis.spells.S1!.status).toBe('admitted');
    const adm = applyAll([a, ev('admission.cancelled', { spellId: 'S1' }, T0 + hours(1))]).view;
    expect(adm.spells).toEqual({});
    const lv = applyAll([a, ev('leave.started', { spellId: 'S1' }, T0 + days(1)), ev('leave.cancelled', { spellId: 'S1', which: 'start' }, T0 + days(1) + hours(1))]).view;
    expect(lv.spells.S1!.status).toBe('admitted');
  });
});

describe('cancels void what depended on what they cancel', () => {
  it('given an admission with an EDD, when the admission is cancelled (A11), the spell and everything in it is void and no bed is held', () => {
    const r = applyAll([admit(), ev('edd.set', { spellId: 'S1', expectedDischargeAt: T0 + days(9) }, T0 + hours(2)), ev('admission.cancelled', { spellId: 'S1' }, T0 + hours(3))]);
    expect(r.outcomes).toEqual(['applied', 'applied', 'applied']);
    expect(r.view.spells).toEqual({});
    expect(facts('P1', r.view)).toEqual([]);
  });

  it('given an admission updated by an A08 that carries an EDD and a CRFD period, when cancelled, it is void too', () => {
    const r = applyAll([
      admit(), ev('patient.updated', { spellId: 'S1', expectedDischargeAt: T0 + days(9) }, T0 + hours(1)),
      ev('crfd.started', { spellId: 'S1', reasonCode: '14' }, T0 + hours(2)), ev('admission.cancelled', { spellId: 'S1' }, T0 + hours(3)),
    ]);
    expect(r.outcomes[3]).toBe('applied');
    expect(facts('P1', r.view)).toEqual([]);
  });

  it('given a cancelled admission, when the PAS re-sends the admission with the same visit number, it starts clean', () => {
    const r = applyAll([
      admit(), ev('edd.set', { spellId: 'S1', expectedDischargeAt: T0 + days(9) }, T0 + hours(1)), ev('admission.cancelled', { spellId: 'S1' }, T0 + hours(2)),
      admit(T0 + hours(4)),
    ]);
    expect(r.outcomes).toEqual(['applied', 'applied', 'applied', 'applied']);
    expect(r.view.spells.S1).toMatchObject({ status: 'admitted', admittedAt: T0 + hours(4) });
    expect(r.view.spells.S1!.expectedDischargeAt).toBeUndefined();
  });

  it('given a discharge followed by a follow-up contact, when the discharge is cancelled (A13), the follow-up is void and the spell is open again', () => {
    const r = applyAll([
      admit(), ev('patient.discharged', { spellId: 'S1', destination: 'home' }, T0 + days(4)), ev('followup.made', { spellId: 'S1' }, T0 + days(5)),
      ev('discharge.cancelled', { spellId: 'S1' }, T0 + days(5) + hours(1)),
    ]);
    expect(r.outcomes[3]).toBe('applied');
    expect(r.view.spells.S1).toMatchObject({ status: 'admitted' });
    expect(r.view.spells.S1!.followUpAt).toBeUndefined();
  });

  it('given a discharge whose bed was given away, when the discharge is cancelled (A13) naming another bed, the patient is in the bed the A13 names', () => {
    const r = applyAll([
      admit(), ev('patient.discharged', { spellId: 'S1', destination: 'home' }, T0 + days(4)),
      ev('discharge.cancelled', { spellId: 'S1', ward: 'W14', bed: 'B9' }, T0 + days(4) + hours(2)),
    ]);
    expect(r.outcomes[2]).toBe('applied');
    expect(r.view.spells.S1).toMatchObject({ status: 'admitted', ward: 'W14', bed: 'B9', admittedAt: T0 });
    expect(r.view.spells.S1!.stays.map((s) => [s.ward, s.bed, s.from])).toEqual([[r.view.spells.S1!.stays[0]!.ward, r.view.spells.S1!.stays[0]!.bed, T0], ['W14', 'B9', T0 + days(4) + hours(2)]]);
    expect(facts('P1', r.view).filter((f) => f.kind === 'bed')).toEqual([{ kind: 'bed', scope: 'ward:W14', bed: 'B9', member: 'P1|S1' }]);
  });

  it('given an A13 naming the place the patient was discharged from (or no place), nothing moves', () => {
    const a = admit();
    const { ward, bed } = a.payload as { ward: string; bed?: string };
    for (const place of [{ ward, bed }, {}]) {
      const r = applyAll([a, ev('patient.discharged', { spellId: 'S1' }, T0 + days(4)), ev('discharge.cancelled', { spellId: 'S1', ...place }, T0 + days(4) + hours(2))]);
      expect(r.view.spells.S1!.stays).toHaveLength(1);
      expect(r.view.spells.S1).toMatchObject({ status: 'admitted', ward, bed });
    }
  });

  it('given a transfer followed by leave, when the transfer is cancelled (A12), the patient is back on the first ward and still on leave', () => {
    const r = applyAll([
      admit(), ev('patient.transferred', { spellId: 'S1', ward: 'W14', bed: 'B7' }, T0 + days(1)), ev('leave.started', { spellId: 'S1' }, T0 + days(2)),
      ev('transfer.cancelled', { spellId: 'S1' }, T0 + days(2) + hours(1)),
    ]);
    expect(r.outcomes[3]).toBe('applied');
    expect(r.view.spells.S1).toMatchObject({ ward: 'W12', bed: 'B1', status: 'on_leave' });
  });
});

describe('timers and alerts', () => {
  it('schedules stranded at 7d, super-stranded at 21d and long stay by ward type', () => {
    const { view } = applyAll([admit(T0, 'OA1')]);
    const ts = timers('RXT', 'P1', view, ctx);
    expect(ts.find((t) => t.rule === 'stranded')!.dueAt).toBe(T0 + days(7));
    expect(ts.find((t) => t.rule === 'super_stranded')!.dueAt).toBe(T0 + days(21));
    expect(ts.filter((t) => t.rule === 'long_stay').map((t) => t.dueAt)).toEqual([T0 + days(60), T0 + days(90)]);
  });

  it('starts a 72h follow-up clock at discharge that a follow-up contact stops; death is exempt', () => {
    const d = applyAll([admit(), ev('patient.discharged', { spellId: 'S1', destination: 'home' }, T0 + days(10))]);
    expect(timers('RXT', 'P1', d.view, ctx)).toEqual([expect.objectContaining({ rule: 'followup_missed', dueAt: T0 + days(10) + hours(72) })]);
    const f = applyAll([ev('followup.made', { spellId: 'S1' }, T0 + days(11))], d.state);
    expect(timers('RXT', 'P1', f.view, ctx)).toEqual([]);
    const died = applyAll([admit(), ev('patient.discharged', { spellId: 'S1', destination: 'died' }, T0 + days(10))]);
    expect(timers('RXT', 'P1', died.view, ctx)).toEqual([]);
  });

  it('given a discharge and a readmission within 72 h, the readmission stops the follow-up clock as followed up: no Critical missed-follow-up alert (NHS England MHS79 counts a new spell as follow-up)', () => {
    const d = applyAll([admit(), ev('patient.discharged', { spellId: 'S1', destination: '19' }, T0 + days(10))]);
    const clock = timers('RXT', 'P1', d.view, ctx).find((t) => t.rule === 'followup_missed')!;
    const r = applyAll([admit(T0 + days(10) + hours(30), 'W12', 'S2')], d.state);
    expect(timers('RXT', 'P1', r.view, ctx).filter((t) => t.rule === 'followup_missed')).toEqual([]);
    expect(alertFor('RXT', 'P1', undefined, r.view, ctx, clock, T0 + days(10) + hours(73))).toBeNull();
    expect(followUpOutcome(r.view.spells.S1!, ctx)).toEqual({ eligible: true, dueAt: T0 + days(10) + hours(72), within: true });
    expect(r.view.spells.S1).toMatchObject({ followUpAt: T0 + days(10) + hours(30), followUpBy: 'readmission' });
  });

  it('given a readmission after the 72 h ran out, the clock stops but the follow-up counts as missed; a contact before the readmission stays the follow-up', () => {
    const d = applyAll([admit(), ev('patient.discharged', { spellId: 'S1', destination: '19' }, T0 + days(10))]);
    const late = applyAll([admit(T0 + days(14), 'W12', 'S2')], d.state);
    expect(timers('RXT', 'P1', late.view, ctx).filter((t) => t.rule === 'followup_missed')).toEqual([]);
    expect(followUpOutcome(late.view.spells.S1!, ctx)).toMatchObject({ eligible: true, within: false });
    const contact = applyAll([ev('followup.made', { spellId: 'S1' }, T0 + days(11)), admit(T0 + days(12), 'W12', 'S2')], d.state);
    expect(contact.view.spells.S1).toMatchObject({ followUpAt: T0 + days(11), followUpBy: 'contact' });
  });

  it('given a readmission within 72 h that is then cancelled (A11), the follow-up clock of the discharge runs again', () => {
    const d = applyAll([admit(), ev('patient.discharged', { spellId: 'S1', destination: '19' }, T0 + days(10))]);
    const r = applyAll([admit(T0 + days(10) + hours(30), 'W12', 'S2'), ev('admission.cancelled', { spellId: 'S2' }, T0 + days(10) + hours(31))], d.state);
    expect(timers('RXT', 'P1', r.view, ctx).filter((t) => t.rule === 'followup_missed')).toEqual([expect.objectContaining({ dueAt: T0 + days(10) + hours(72) })]);
  });

  it.each([
    ['a penal establishment or police station', { destination: '38' }],
    ['a penal establishment or court', { destination: '40' }],
    ['police custody', { destination: '42' }],
    ['a non-NHS medium secure unit', { destination: '84' }],
    ['another NHS psychiatric unit', { destination: '53' }],
    ['a non-NHS hospital', { destination: '87' }],
    ['death recorded only as discharge method 4', { dischargeMethod: '4', destination: '19' }],
    // A FHIR R4 Encounter's hospitalization.dischargeDisposition code is the destination (services/ingest README).
    ['death sent as a FHIR dischargeDisposition (exp, "Expired")', { destination: 'exp' }],
    ['a psychiatric hospital sent as a FHIR dischargeDisposition (psy)', { destination: 'psy' }],
  ])('given a discharge to %s, no 72h follow-up clock starts (NHS Standard Contract exclusions)', (_what, how) => {
    const d = applyAll([admit(), ev('patient.discharged', { spellId: 'S1', ...how }, T0 + days(10))]);
    expect(timers('RXT', 'P1', d.view, ctx).filter((t) => t.rule === 'followup_missed')).toEqual([]);
  });

  it.each([['Wales', 'W92000004'], ['Scotland', 's92000003'], ['Northern Ireland', 'N92000002']])('given a patient resident in %s, no 72h follow-up clock starts (not resident in England)', (_where, area) => {
    const d = applyAll([ev('patient.admitted', { spellId: 'S1', ward: 'W1', area }, T0), ev('patient.discharged', { spellId: 'S1', destination: '19' }, T0 + days(10))]);
    expect(timers('RXT', 'P1', d.view, ctx).filter((t) => t.rule === 'followup_missed')).toEqual([]);
  });

  it('given a trust\'s own cross-border catchment code configured as exempt, no clock starts; an English area still gets one', () => {
    const border: DomainContext = { ...ctx, thresholds: { ...ctx.thresholds, followUpExemptAreas: [...(ctx.thresholds.followUpExemptAreas ?? []), 'POWYS'] } };
    const of = (area: string) => applyAll([ev('patient.admitted', { spellId: 'S1', ward: 'W1', area }, T0), ev('patient.discharged', { spellId: 'S1', destination: '19' }, T0 + days(10))]).view;
    expect(timers('RXT', 'P1', of('POWYS'), border).filter((t) => t.rule === 'followup_missed')).toEqual([]);
    expect(timers('RXT', 'P1', of('NORTH'), border).filter((t) => t.rule === 'followup_missed')).toHaveLength(1);
  });

  it('given a discharge to the usual place of residence (19), the 72h follow-up clock runs', () => {
    const d = applyAll([admit(), ev('patient.discharged', { spellId: 'S1', dischargeMethod: '1', destination: '19' }, T0 + days(10))]);
    expect(timers('RXT', 'P1', d.view, ctx).filter((t) => t.rule === 'followup_missed')).toHaveLength(1);
  });

  it('times a very urgent referral response at 4h', () => {
    const { view } = applyAll([ev('referral.received', { referralId: 'R1', team: 'CRISIS-N', teamType: 'crisis', urgency: 'very_urgent' }, T0)]);
    expect(timers('RXT', 'P1', view, ctx)).toEqual([expect.objectContaining({ rule: 'referral_response', dueAt: T0 + hours(4), team: 'CRISIS-N' })]);
  });

  it('diffs aggregates so that applying the ops reproduces the after-state', () => {
    const before = facts('P1', applyAll([admit()]).view);
    const after = facts('P1', applyAll([admit(), ev('crfd.started', { spellId: 'S1', reasonCode: '14' }, T0 + days(1))]).view);
    expect(diffFacts(before, after)).toEqual(expect.arrayContaining([
      { op: 'incr', scope: 'ward:W12', name: 'crfd', by: 1 },
      { op: 'incr', scope: 'ward:W12', name: 'crfd:14', by: 1 },
    ]));
    expect(diffFacts(after, after)).toEqual([]);
  });
});
