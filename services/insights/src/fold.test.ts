// evolveAll must give exactly the state that evolve gives one event at a time (the
// engine's rules), whatever the events: out of order, duplicated, cancels, merges.
import fc from 'fast-check';
import type { FlowEvent } from '@pfm/contracts';
import { DEFAULT_THRESHOLDS, emptyPatient, evolve, type PatientState } from '@pfm/flow-domain';
import { canAppend, evolveAll, evolveAllWithRows } from './fold';
import { LocalAreas, Pseudonymiser } from './pseudonym';
import { patientRows, type RowContext } from './rows';

const D = 86_400_000;
const T0 = Date.parse('2026-03-01T10:00:00Z');
const TYPES = ['patient.admitted', 'patient.transferred', 'leave.started', 'leave.ended', 'crfd.started', 'crfd.ended', 'edd.set', 'patient.discharged',
  'followup.made', 'transfer.cancelled', 'discharge.cancelled', 'admission.cancelled', 'leave.cancelled', 'referral.received', 'referral.assessed', 'patient.updated'] as const;

const eventArb = fc.tuple(fc.constantFrom(...TYPES), fc.constantFrom('S1', 'S2'), fc.constantFrom('W1', 'W2'), fc.integer({ min: 0, max: 40 }), fc.option(fc.constant('9434765919')))
  .map(([type, spellId, ward, day, nhs]) => {
    const payload: Record<string, unknown> = { spellId };
    if (type === 'patient.admitted' || type === 'patient.transferred') payload.ward = ward;
    if (type === 'crfd.started') payload.reasonCode = '14';
    if (type === 'edd.set') payload.expectedDischargeAt = T0 + (day + 10) * D;
    if (type === 'leave.cancelled') payload.which = 'start';
    if (type === 'patient.updated') payload.legalStatus = '03';
    if (type === 'referral.received') Object.assign(payload, { referralId: 'R1', team: 'CRISIS', teamType: 'crisis', urgency: 'urgent' });
    if (type === 'referral.assessed') payload.referralId = 'R1';
    return { type, payload, day, nhs };
  });

/** A patient's log: mostly in event-time order (the common case), sometimes not, with re-deliveries. */
const logArb = fc.tuple(fc.array(eventArb, { maxLength: 30 }), fc.boolean(), fc.array(fc.nat(), { maxLength: 6 }), fc.array(fc.nat(), { maxLength: 8 }))
  .map(([raw, sorted, dupIdx, cuts]) => {
    const events = raw.map((r, i) => ({
      eventId: `E${i}`, type: r.type, payload: r.payload, occurredAt: T0 + r.day * D, recordedAt: T0 + r.day * D, site: 'RXT', patientId: 'P1',
      ...(r.nhs ? { nhsNumber: r.nhs } : {}), sourceSystem: 'T', channel: 'json',
    }) as FlowEvent);
    if (sorted) events.sort((a, b) => a.occurredAt - b.occurredAt);
    for (const d of dupIdx) if (events.length) events.push(events[d % events.length]!);
    const batches: FlowEvent[][] = [];
    let from = 0;
    for (const c of [...new Set(cuts.map((c) => c % (events.length + 1)))].sort((a, b) => a - b)) { batches.push(events.slice(from, c)); from = c; }
    batches.push(events.slice(from));
    return batches;
  });

const oneByOne = (s: PatientState, events: FlowEvent[]) => events.reduce((x, e) => evolve(x, e, e.recordedAt).state, s);

describe('evolveAll', () => {
  it('equals evolve applied one event at a time, batch after batch', () => {
    fc.assert(fc.property(logArb, (batches) => {
      let fast = emptyPatient('RXT', 'P1');
      let slow = emptyPatient('RXT', 'P1');
      for (const b of batches) {
        fast = evolveAll(fast, b);
        slow = oneByOne(slow, b);
        expect(fast).toEqual(slow);
      }
    }), { numRuns: 300, seed: 20261202 });
  });

  // The consumer's path: state and rows from one walk where the shortcut holds, else evolveAll then patientRows.
  const ctx: RowContext = {
    thresholds: DEFAULT_THRESHOLDS, wardType: (_s, w) => (w === 'W1' ? 'adult_acute' : 'picu'),
    pseudo: new Pseudonymiser('x'.repeat(40)), areas: new LocalAreas([], 'locality'),
  };
  it('evolveAllWithRows gives evolveAll\'s state and patientRows\' rows of it, batch after batch', () => {
    fc.assert(fc.property(logArb, (batches) => {
      let fast = emptyPatient('RXT', 'P1');
      let slow = emptyPatient('RXT', 'P1');
      for (const b of batches) {
        const r = evolveAllWithRows(fast, b, ctx);
        fast = r.state;
        slow = evolveAll(slow, b);
        expect(fast).toEqual(slow);
        expect(JSON.stringify(fast)).toBe(JSON.stringify(slow));
        expect(r.rows).toEqual(patientRows(slow, ctx));
      }
    }), { numRuns: 500, seed: 20261203 });
  });

  const ev = (id: string, type: FlowEvent['type'], payload: object, day: number) =>
    ({ eventId: id, type, payload, occurredAt: T0 + day * D, recordedAt: T0 + day * D, site: 'RXT', patientId: 'P1', sourceSystem: 'T', channel: 'json' }) as FlowEvent;
  const admit = ev('a', 'patient.admitted', { spellId: 'S1', ward: 'W1' }, 0);
  const move = ev('t', 'patient.transferred', { spellId: 'S1', ward: 'W2' }, 2);
  const out = ev('d', 'patient.discharged', { spellId: 'S1' }, 5);

  it('takes the one-fold path for a clean pathway in order, and not for cancels, duplicates or events before the history', () => {
    expect(canAppend(emptyPatient('RXT', 'P1'), [admit, move, out])).toBe(true);
    const s = evolveAll(emptyPatient('RXT', 'P1'), [admit, move, out]);
    expect(s.events.map((e) => e.eventId)).toEqual(['a', 't', 'd']);
    expect(canAppend(s, [ev('c', 'discharge.cancelled', { spellId: 'S1' }, 6)])).toBe(false);
    expect(canAppend(s, [out])).toBe(false);
    expect(canAppend(s, [ev('x', 'edd.set', { spellId: 'S1', expectedDischargeAt: T0 }, 1)])).toBe(false);
  });

  it('an event the history refuses is left out as evolve leaves it out (the batch falls back to one by one)', () => {
    const second = ev('a2', 'patient.admitted', { spellId: 'S2', ward: 'W1' }, 1);
    const s = evolveAll(emptyPatient('RXT', 'P1'), [admit, second, move]);
    expect(s).toEqual(oneByOne(emptyPatient('RXT', 'P1'), [admit, second, move]));
    expect(s.events.map((e) => e.eventId)).toEqual(['a', 't']);
    expect(s.rejected).toEqual(['a2']);
  });
});
