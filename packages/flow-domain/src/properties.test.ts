// Property tests: duplicates never change the outcome; aggregates maintained by diffs
// always equal the sum of what patients contribute; a cancel restores the state before.
import fc from 'fast-check';
import type { FlowEvent } from '@pfm/contracts';
import { diffFacts, emptyPatient, evolve, facts, factKey, fold, mergePatients, type Fact, type PatientState } from './index';
import { days, T0 } from './testing';

const wards = ['W1', 'W2', 'W3', 'X1'];
/** X1 is a unit outside the trust (ward registry `external`): its patients are out of area, not local occupancy. */
const ctx = { external: (w: string) => w === 'X1' };
const spellIds = ['S1', 'S2'];

const eventArb: fc.Arbitrary<Omit<FlowEvent, 'eventId'>> = fc
  .tuple(
    fc.constantFrom('patient.admitted', 'patient.transferred', 'leave.started', 'leave.ended', 'crfd.started', 'crfd.ended', 'edd.set', 'patient.discharged', 'followup.made', 'transfer.cancelled', 'discharge.cancelled', 'admission.cancelled', 'patient.merged'),
    fc.constantFrom(...spellIds),
    fc.constantFrom(...wards),
    fc.integer({ min: 0, max: 40 }),
    fc.constantFrom('P1', 'P2'),
  )
  .map(([type, spellId, ward, day, patientId]) => {
    const payload: Record<string, unknown> = { spellId };
    if (type === 'patient.admitted' || type === 'patient.transferred') payload.ward = ward;
    if (type === 'crfd.started') payload.reasonCode = '14';
    if (type === 'edd.set') payload.expectedDischargeAt = T0 + days(day + 10);
    if (type === 'patient.merged') return { type, payload: { mergedPatientId: patientId === 'P1' ? 'P2' : 'P1' }, occurredAt: T0 + days(day), recordedAt: T0 + days(day), site: 'RXT', patientId: `${patientId}`, sourceSystem: 'T', channel: 'json' } as Omit<FlowEvent, 'eventId'>;
    const at = T0 + days(day);
    return { type, payload, occurredAt: at, recordedAt: at, site: 'RXT', patientId: `${patientId}`, sourceSystem: 'T', channel: 'json' } as Omit<FlowEvent, 'eventId'>;
  });

const seqArb = fc.array(eventArb, { maxLength: 40 }).map((es) => es.map((e, i) => ({ ...e, eventId: `E${i}` }) as FlowEvent));

function run(events: FlowEvent[]) {
  const states = new Map<string, PatientState>();
  const aggregates = new Map<string, number>();
  const applyOps = (ops: ReturnType<typeof diffFacts>) => {
    for (const op of ops) {
      const k = op.op === 'incr' ? `c|${op.scope}|${op.name}` : op.op === 'zadd' || op.op === 'zrem' ? `i|${op.scope}|${op.index}|${op.member}` : `b|${op.scope}|${op.bed}`;
      const cur = aggregates.get(k) ?? 0;
      const next = op.op === 'incr' ? cur + op.by : op.op === 'zadd' ? op.score : op.op === 'bedset' ? 1 : 0;
      if (next === 0 && op.op !== 'zadd') aggregates.delete(k);
      else aggregates.set(k, next);
    }
  };
  const factsOf = (s: PatientState) => facts(s.patientId, fold(s.events).view, ctx);
  for (const e of events) {
    const before = states.get(e.patientId) ?? emptyPatient('RXT', e.patientId);
    const r = evolve(before, e);
    applyOps(diffFacts(factsOf(before), factsOf(r.state)));
    states.set(e.patientId, r.state);
    if (e.type === 'patient.merged' && r.outcome.kind === 'applied') {
      // The engine's A40 step: the retired record's history moves to the survivor.
      const retired = states.get(e.payload.mergedPatientId) ?? emptyPatient('RXT', e.payload.mergedPatientId);
      const m = mergePatients(r.state, retired);
      applyOps(diffFacts(factsOf(r.state), factsOf(m.survivor)));
      applyOps(diffFacts(factsOf(retired), factsOf(m.retired)));
      states.set(e.patientId, m.survivor);
      states.set(retired.patientId, m.retired);
    }
  }
  return { states, aggregates };
}

function expectedAggregates(states: Map<string, PatientState>): Map<string, number> {
  const m = new Map<string, number>();
  for (const [pid, s] of states) {
    for (const f of facts(pid, fold(s.events).view, ctx) as Fact[]) {
      const k = factKey(f);
      m.set(k, f.kind === 'count' ? (m.get(k) ?? 0) + f.value : f.kind === 'index' ? f.score : 1);
    }
  }
  return m;
}

describe('properties', () => {
  it('any sequence applied with duplicates gives the state of the sequence without them', () => {
    fc.assert(
      fc.property(seqArb, fc.array(fc.nat(), { maxLength: 15 }), (events, dupIdx) => {
        // A duplicate is a re-delivery: it arrives some time after its original.
        const withDups = events.slice();
        for (const i of dupIdx) {
          if (!events.length) break;
          const original = events[i % events.length]!;
          const at = withDups.indexOf(original);
          withDups.splice(at + 1 + (i % (withDups.length - at)), 0, original);
        }
        const a = run(events);
        const b = run(withDups);
        for (const [pid, s] of a.states) expect(fold(b.states.get(pid)!.events).view).toEqual(fold(s.events).view);
      }),
      { numRuns: 300 },
    );
  });

  it('aggregates maintained by diffs always equal the sum of patient contributions', () => {
    fc.assert(
      fc.property(seqArb, (events) => {
        const { states, aggregates } = run(events);
        expect(Object.fromEntries(aggregates)).toEqual(Object.fromEntries(expectedAggregates(states)));
      }),
      { numRuns: 300 },
    );
  });

  it('after any sequence of admits, transfers, leave, merges, cancels and discharges, occupied beds on local wards equal open spells there', () => {
    fc.assert(
      fc.property(seqArb, (events) => {
        const { states, aggregates } = run(events);
        let open = 0;
        let oap = 0;
        for (const s of states.values()) {
          for (const sp of Object.values(fold(s.events).view.spells)) {
            if (sp.status === 'discharged') continue;
            if (ctx.external(sp.ward)) oap++;
            else open++;
          }
        }
        const sum = (name: string, local: boolean) =>
          [...aggregates].filter(([k]) => k.startsWith('c|ward:') && k.endsWith(`|${name}`) && ctx.external(k.split('|')[1]!.slice(5)) !== local).reduce((n, [, v]) => n + v, 0);
        expect(sum('occupied', true)).toBe(open);
        expect(sum('outOfArea', false)).toBe(oap);
      }),
      { numRuns: 300 },
    );
  });

  it('an applied cancel restores the view from before the event it cancels', () => {
    fc.assert(
      fc.property(seqArb, fc.constantFrom('transfer', 'discharge'), (events, kind) => {
        const s = run(events.filter((e) => e.patientId === 'P1')).states.get('P1') ?? emptyPatient('RXT', 'P1');
        const view = fold(s.events).view;
        const open = Object.values(view.spells).find((x) => x.status !== 'discharged');
        if (kind === 'transfer' && !open) return;
        if (kind === 'discharge' && (!open || open.status !== 'admitted')) return;
        const at = T0 + days(100);
        const doIt = { eventId: 'DO', type: kind === 'transfer' ? 'patient.transferred' : 'patient.discharged', payload: kind === 'transfer' ? { spellId: open!.spellId, ward: 'W9' } : { spellId: open!.spellId }, occurredAt: at, recordedAt: at, site: 'RXT', patientId: 'P1', sourceSystem: 'T', channel: 'json' } as FlowEvent;
        const undo = { ...doIt, eventId: 'UNDO', type: kind === 'transfer' ? 'transfer.cancelled' : 'discharge.cancelled', payload: { spellId: open!.spellId }, occurredAt: at + 1, recordedAt: at + 1 } as FlowEvent;
        const r1 = evolve(s, doIt);
        expect(r1.outcome.kind).toBe('applied');
        const r2 = evolve(r1.state, undo);
        expect(r2.outcome.kind).toBe('applied');
        expect(facts('P1', r2.view)).toEqual(facts('P1', view));
        expect(r2.view.spells).toEqual(view.spells);
      }),
      { numRuns: 300 },
    );
  });
});
