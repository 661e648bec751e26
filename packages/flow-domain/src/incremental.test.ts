// Property: the incremental step (evolve with the previous view known) gives exactly the
// state, view and outcome of the full re-fold, on random pathways that are mostly in
// order with late events, duplicates and cancels mixed in.
import fc from 'fast-check';
import type { FlowEvent } from '@pfm/contracts';
import { copyView, emptyPatient, evolve, fold, type PatientState, type PatientView } from './index';
import { days, hours, T0 } from './testing';

const TYPES = [
  'patient.admitted', 'patient.transferred', 'leave.started', 'leave.ended', 'crfd.started', 'crfd.ended', 'edd.set', 'patient.discharged',
  'followup.made', 'transfer.cancelled', 'discharge.cancelled', 'admission.cancelled', 'leave.cancelled', 'referral.received', 'referral.assessed',
  'admission.decided', 'alert.acknowledged', 'patient.updated', 'bed.closed', 'bed.opened', 'message.unmapped',
] as const;

const stepArb = fc.record({
  type: fc.constantFrom(...TYPES),
  spellId: fc.constantFrom('S1', 'S2'),
  ward: fc.constantFrom('W1', 'W2', 'X1'),
  // Mostly forward in time; sometimes back (a late event) or at the same instant.
  dt: fc.oneof({ arbitrary: fc.integer({ min: 1, max: 72 }), weight: 8 }, { arbitrary: fc.integer({ min: -96, max: 0 }), weight: 2 }),
  repeat: fc.integer({ min: 0, max: 19 }),
  reason: fc.constantFrom('14', '02'),
});

const pathwayArb = fc.array(stepArb, { maxLength: 30 }).map((steps) => {
  const out: FlowEvent[] = [];
  let t = T0;
  steps.forEach((s, i) => {
    // A re-delivered event now and then (same id, same content).
    if (s.repeat === 0 && out.length) { out.push(out[out.length - 1]!); return; }
    t += hours(s.dt);
    const payload: Record<string, unknown> = { spellId: s.spellId };
    if (s.type === 'patient.admitted' || s.type === 'patient.transferred' || s.type === 'admission.decided') payload.ward = s.ward;
    if (s.type === 'patient.admitted') payload.legalStatus = s.reason === '14' ? '03' : undefined;
    if (s.type === 'crfd.started') payload.reasonCode = s.reason;
    if (s.type === 'edd.set') payload.expectedDischargeAt = t + days(s.repeat);
    if (s.type === 'leave.cancelled') payload.which = s.reason === '14' ? 'start' : 'end';
    if (s.type.startsWith('referral.')) Object.assign(payload, { referralId: `R${s.spellId}`, team: 'CRHT', teamType: 'crisis', urgency: 'urgent' });
    if (s.type === 'alert.acknowledged') Object.assign(payload, { alertId: `A${s.repeat % 3}`, by: 'nurse' });
    if (s.type === 'patient.updated') Object.assign(payload, { legalStatus: s.reason, expectedDischargeAt: t + days(3) });
    if (s.type === 'bed.closed' || s.type === 'bed.opened') Object.assign(payload, { ward: s.ward, bed: `B${s.repeat % 2}` });
    out.push({ eventId: `E${i}`, type: s.type, payload, occurredAt: t, recordedAt: T0 + i, site: 'RXT', patientId: 'P1', sourceSystem: 'T', channel: 'json' } as FlowEvent);
  });
  return out;
});

describe('incremental step', () => {
  it('gives the same state, view and outcome as the full fold, event by event', () => {
    let steppedOnce = 0;
    fc.assert(
      fc.property(pathwayArb, (events) => {
        let full: PatientState = emptyPatient('RXT', 'P1');
        let inc: PatientState = emptyPatient('RXT', 'P1');
        // The engine's cache: the last view, usable while the history folds with no failures.
        let known: PatientView | undefined = fold([]).view;
        for (const e of events) {
          const a = evolve(full, e, e.recordedAt);
          // The view given is the engine's view before the event (kept for the clock and aggregate diff): never changed.
          const knownBefore = known && structuredClone(known);
          const b = evolve(inc, e, e.recordedAt, known);
          expect(known).toEqual(knownBefore);
          expect(b.outcome).toEqual(a.outcome);
          expect(b.state).toEqual(a.state);
          expect(b.view).toEqual(a.view);
          expect(b.view).toEqual(fold(b.state.events).view);
          if (b.outcome.kind === 'applied' && b.state.events[b.state.events.length - 1] === e) steppedOnce += 1;
          full = a.state;
          inc = b.state;
          if (b.outcome.kind === 'applied') known = b.view;
        }
      }),
      { numRuns: 300, seed: 10 },
    );
    // Events applied at the end of the history (where the shortcut applies) are well covered.
    expect(steppedOnce).toBeGreaterThan(300);
  });

  it('never changes the view it was given', () => {
    const admitted = { eventId: 'A', type: 'patient.admitted', payload: { spellId: 'S1', ward: 'W1' }, occurredAt: T0, recordedAt: T0, site: 'RXT', patientId: 'P1', sourceSystem: 'T', channel: 'json' } as FlowEvent;
    const first = evolve(emptyPatient('RXT', 'P1'), admitted, T0, fold([]).view);
    const before = copyView(first.view);
    const crfd = { ...admitted, eventId: 'B', type: 'crfd.started', payload: { spellId: 'S1', reasonCode: '14' }, occurredAt: T0 + days(1) } as FlowEvent;
    const moved = { ...admitted, eventId: 'C', type: 'patient.transferred', payload: { spellId: 'S1', ward: 'W2' }, occurredAt: T0 + days(2) } as FlowEvent;
    const second = evolve(first.state, crfd, T0, first.view);
    evolve(second.state, moved, T0, second.view);
    expect(first.view).toEqual(before);
    expect(second.view.spells.S1!.stays).toHaveLength(1);
    expect(second.view.spells.S1!.crfd).toEqual({ startedAt: T0 + days(1), reasonCode: '14' });
  });
});
