// A40 merge: the surviving record takes the retired record's spells, state and parked
// events, once; the retired record keeps only a pointer, so the board shows one patient.
import type { FlowEvent } from '@pfm/contracts';
import { emptyPatient, evolve, facts, fold, mergePatients, type PatientState } from './index';
import { days, ev, T0 } from './testing';

function run(events: FlowEvent[], s: PatientState) {
  for (const e of events) s = evolve(s, e).state;
  return s;
}

describe('A40 merge', () => {
  const retiredAdmit = ev('patient.admitted', { spellId: 'S-OLD', ward: 'W1', bed: 'B3' }, T0, { patientId: 'OLD' });
  const retired = () => run([retiredAdmit, ev('edd.set', { spellId: 'S-OLD', expectedDischargeAt: T0 + days(9) }, T0 + days(1), { patientId: 'OLD' })], emptyPatient('RXT', 'OLD'));

  it('given a retired record holding a bed, when merged, the survivor holds the spell and the retired record holds nothing', () => {
    const survivor = run([ev('patient.merged', { mergedPatientId: 'OLD' }, T0 + days(2), { patientId: 'NEW' })], emptyPatient('RXT', 'NEW'));
    const m = mergePatients(survivor, retired());
    expect(m.moved).toBe(2);
    expect(fold(m.survivor.events).view.spells['S-OLD']).toMatchObject({ ward: 'W1', bed: 'B3', expectedDischargeAt: T0 + days(9) });
    expect(facts('NEW', fold(m.survivor.events).view)).toContainEqual({ kind: 'bed', scope: 'ward:W1', bed: 'B3', member: 'NEW|S-OLD' });
    expect(facts('OLD', fold(m.retired.events).view)).toEqual([]);
    expect(m.retired.mergedInto).toBe('NEW');
  });

  it('given the survivor\'s A03 for that spell was parked (spell unknown to it), the merge releases it and the bed is freed', () => {
    let survivor = emptyPatient('RXT', 'NEW');
    const a03 = ev('patient.discharged', { spellId: 'S-OLD', destination: '19' }, T0 + days(3), { patientId: 'NEW' });
    const parked = evolve(survivor, a03);
    expect(parked.outcome.kind).toBe('parked');
    survivor = run([ev('patient.merged', { mergedPatientId: 'OLD' }, T0 + days(4), { patientId: 'NEW' })], parked.state);
    const m = mergePatients(survivor, retired());
    expect(m.released.map((e) => e.eventId)).toEqual([a03.eventId]);
    expect(m.survivor.parked).toEqual([]);
    expect(fold(m.survivor.events).view.spells['S-OLD']!.status).toBe('discharged');
  });

  it('merging the same record twice moves nothing the second time', () => {
    const survivor = run([ev('patient.merged', { mergedPatientId: 'OLD' }, T0 + days(2), { patientId: 'NEW' })], emptyPatient('RXT', 'NEW'));
    const once = mergePatients(survivor, retired());
    const twice = mergePatients(once.survivor, once.retired);
    expect(twice.moved).toBe(0);
    expect(twice.survivor).toEqual(once.survivor);
  });

  it('an event later sent under the retired identifier is refused with the surviving identifier as reason', () => {
    const m = mergePatients(emptyPatient('RXT', 'NEW'), retired());
    const r = evolve(m.retired, ev('patient.transferred', { spellId: 'S-OLD', ward: 'W2' }, T0 + days(5), { patientId: 'OLD' }));
    expect(r.outcome).toEqual({ kind: 'rejected', reason: 'patient OLD was merged into NEW (A40): send events for NEW' });
  });
});
