// The mental-health clocks driven through HL7 v2 ADT as a PAS sends it: each message is
// mapped by @pfm/hl7 (the ingest's mapper) and applied with evolve, then the clocks read.
import { mapAdt, type MapContext } from '@pfm/hl7';
import { msg, seg } from '@pfm/hl7/src/testing/fixtures';
import type { FlowEvent, FlowEventInput } from '@pfm/contracts';
import { admissionWaiting, DEFAULT_THRESHOLDS, emptyPatient, evolve, fold, oapSince, spellOutOfArea, timers, type DomainContext, type PatientState } from './index';

const mapCtx: MapContext = { defaultSite: 'RXT', siteForFacility: () => 'RXT' };
const ctx: DomainContext = { thresholds: DEFAULT_THRESHOLDS, wardType: () => 'adult_acute' };
const H = 3_600_000;
let control = 0;

function adt(trigger: string, when: string, { pid = {}, pv1 = {}, pv2, zmh }: { pid?: Record<number, string>; pv1?: Record<number, string>; pv2?: Record<number, string>; zmh?: Record<number, string> } = {}): string {
  control += 1;
  return msg(
    seg('MSH', { 3: 'PAS', 4: 'RXT', 5: 'PFM', 6: 'RXT', 7: when, 9: `ADT^${trigger}`, 10: `CLK-${control}`, 11: 'P', 12: '2.5.1' }),
    seg('EVN', { 2: when, 6: when }),
    seg('PID', { 1: '1', 3: 'L1^^^RXT^PI~9434765919^^^NHS^NH', 5: 'DOE^JANE', 7: '19900101', 8: 'F', ...pid }),
    seg('PV1', { 2: 'I', 3: 'W1^^B1^RXT01', 19: 'S1', 44: when, ...pv1 }),
    ...(pv2 ? [seg('PV2', pv2)] : []),
    ...(zmh ? [seg('ZMH', zmh)] : []),
  );
}

function run(messages: string[]): { state: PatientState; at: number[] } {
  let state = emptyPatient('RXT', 'L1');
  const at: number[] = [];
  for (const m of messages) {
    const r = mapAdt(m, mapCtx);
    if (!r.ok) throw new Error(`not mapped: ${JSON.stringify(r.errors)}`);
    for (const input of r.events as FlowEventInput[]) {
      const e = { recordedAt: input.occurredAt, sourceSystem: 'PAS', channel: 'hl7v2', ...input } as FlowEvent;
      const out = evolve(state, e);
      expect(out.outcome.kind).toBe('applied');
      state = out.state;
      at.push(e.occurredAt);
    }
  }
  return { state, at };
}
const clocksOf = (state: PatientState, rule: string) => timers('RXT', state.patientId, fold(state.events).view, ctx).filter((t) => t.rule === rule);

describe('mental-health clocks through HL7 v2', () => {
  it('A01 informal, then A08 with ZMH-1 = 05 (s5(2)): a 72 h clock from the A08', () => {
    const { state, at } = run([adt('A01', '20261101090000', { zmh: { 1: '01' } }), adt('A08', '20261103120000', { zmh: { 1: '05' } })]);
    expect(clocksOf(state, 'mha_expiry')).toEqual([expect.objectContaining({ dueAt: at[1]! + 72 * H })]);
  });

  it('A01 with ZMH-1 = 20 (s136 place of safety): 24 h from arrival', () => {
    const { state, at } = run([adt('A01', '20261101020000', { zmh: { 1: '20' } })]);
    expect(clocksOf(state, 'mha_expiry')).toEqual([expect.objectContaining({ dueAt: at[0]! + 24 * H })]);
  });

  it('A01 with ZMH-1 = 20, then A08 with ZMH-1 = 20X (s136 extended by 12 h): 36 h from arrival', () => {
    const { state, at } = run([adt('A01', '20261101020000', { zmh: { 1: '20' } }), adt('A08', '20261101220000', { zmh: { 1: '20X' } })]);
    expect(clocksOf(state, 'mha_expiry')).toEqual([expect.objectContaining({ dueAt: at[0]! + 36 * H })]);
  });

  it('A01 of a 17-year-old (PID-7) to an adult ward: a 48 h CQC notification clock', () => {
    const { state, at } = run([adt('A01', '20261101090000', { pid: { 7: '20090601' } })]);
    expect(clocksOf(state, 'under18_adult_ward')).toEqual([expect.objectContaining({ dueAt: at[0]! + 48 * H })]);
  });

  it('A21 with PV2-47 expected return: overdue when it passes; ZMH-7 = AWOL: AWOL at once', () => {
    const leave = run([adt('A01', '20261101090000'), adt('A21', '20261105100000', { pv2: { 47: '20261105180000' }, zmh: { 7: 'S17' } })]);
    expect(clocksOf(leave.state, 'leave_overdue')).toEqual([expect.objectContaining({ dueAt: Date.parse('2026-11-05T18:00:00Z') })]);
    // A PAS that records the day of return only: the leave still starts; overdue once that (local) day is out.
    const byDay = run([adt('A01', '20260801090000'), adt('A21', '20260805100000', { pv2: { 47: '20260806' }, zmh: { 7: 'HOME' } })]);
    expect(clocksOf(byDay.state, 'leave_overdue')).toEqual([expect.objectContaining({ dueAt: Date.parse('2026-08-06T23:59:59.999+01:00') })]);
    const awol = run([adt('A01', '20261101090000'), adt('A21', '20261105100000', { zmh: { 7: 'AWOL' } })]);
    expect(clocksOf(awol.state, 'awol')).toEqual([expect.objectContaining({ dueAt: awol.at[1] })]);
  });
});

describe('the queue for a bed through HL7 v2: a registration that ends without an admission leaves it', () => {
  // An A04 (emergency class, e.g. a decision unit) or A05 puts the patient in the queue with a
  // 12-hour clock; a PAS cancels it (A11 for A04, A38 for A05) or ends the visit (A03) under
  // the same visit number (PV1-19).
  const reg = (trigger: 'A04' | 'A05', when: string) => adt(trigger, when, { pv1: { 2: trigger === 'A04' ? 'E' : 'P', 3: 'CDU^^^RXT01', 19: 'V9', 44: '' } });
  const queued = (state: PatientState) => {
    const v = fold(state.events).view;
    return { waiting: v.awaitingAdmission !== undefined, clocks: timers('RXT', state.patientId, v, ctx).filter((t) => t.rule === 'admission_wait').length, parked: state.parked.length };
  };

  it('A04 then A11 of the same visit: out of the queue, no 12-hour clock', () => {
    const { state } = run([reg('A04', '20261101090000'), adt('A11', '20261101100000', { pv1: { 2: 'E', 3: 'CDU^^^RXT01', 19: 'V9', 44: '' } })]);
    expect(queued(state)).toEqual({ waiting: false, clocks: 0, parked: 0 });
  });

  it('A05 then A38 (cancel pre-admit) of the same visit: out of the queue, no 12-hour clock', () => {
    const { state } = run([reg('A05', '20261101090000'), adt('A38', '20261101100000', { pv1: { 2: 'P', 3: 'CDU^^^RXT01', 19: 'V9', 44: '' } })]);
    expect(queued(state)).toEqual({ waiting: false, clocks: 0, parked: 0 });
  });

  it('A04 then A03 of the same visit (sent home from the decision unit): out of the queue, nothing parked', () => {
    const { state } = run([reg('A04', '20261101090000'), adt('A03', '20261101110000', { pv1: { 2: 'E', 3: 'CDU^^^RXT01', 19: 'V9', 44: '' } })]);
    expect(queued(state)).toEqual({ waiting: false, clocks: 0, parked: 0 });
  });

  it('A04, then A01 under another spell and its A11: back in the queue (the decision stands), the A04 visit untouched', () => {
    const { state } = run([reg('A04', '20261101090000'), adt('A01', '20261101120000'), adt('A11', '20261101130000')]);
    expect(queued(state)).toEqual({ waiting: true, clocks: 1, parked: 0 });
  });
});

describe('out-of-area placements through HL7 v2', () => {
  // The registry knows the local ward W1; the independent unit INDEP is not (yet) in it, so the sender's ZMH-2 decides there.
  const oapCtx = { external: (ward: string) => (ward === 'W1' ? false : undefined) };

  it('A02 to a unit the registry lacks, with ZMH-2 = Y and a reason: an out-of-area placement from the move; the A02 home ends it', () => {
    const out = run([adt('A01', '20261101090000'), adt('A02', '20261103090000', { pv1: { 3: 'INDEP^^B2^RXT01' }, zmh: { 2: 'Y', 3: 'no local bed' } })]);
    const s = fold(out.state.events).view.spells.S1!;
    expect({ oap: spellOutOfArea(s, oapCtx), since: oapSince(s, oapCtx), reason: s.oapReason }).toEqual({ oap: true, since: out.at[1], reason: 'no local bed' });
    const home = run([adt('A01', '20261101090000'), adt('A02', '20261103090000', { pv1: { 3: 'INDEP^^B2^RXT01' }, zmh: { 2: 'Y' } }), adt('A02', '20261110090000', { pv1: { 3: 'W1^^B1^RXT01' } })]);
    expect(spellOutOfArea(fold(home.state.events).view.spells.S1!, oapCtx)).toBe(false);
  });
});

describe('planned and emergency decisions to admit through HL7 v2 (PV1-4)', () => {
  const a05 = (pv1_4: string) => adt('A05', '20261101090000', { pv1: { 2: 'P', 3: 'ELM^^^RXT01', 4: pv1_4, 19: 'V5', 44: '' } });
  const status = (state: PatientState) => {
    const v = fold(state.events).view;
    return { queued: admissionWaiting(state.patientId, v, Date.parse('2026-11-02T09:00:00Z'), DEFAULT_THRESHOLDS)?.emergency, clocks: timers('RXT', state.patientId, v, ctx).filter((t) => t.rule === 'admission_wait').length };
  };

  it.each([['11 (waiting list)', '11'], ['12 (booked)', '12'], ['13 (planned)', '13'], ['C (HL7 elective)', 'C']])('A05 with PV1-4 %s: queued as planned, no 12-hour clock', (_what, code) => {
    expect(status(run([a05(code)]).state)).toEqual({ queued: false, clocks: 0 });
  });

  it('A05 with PV1-4 21 (emergency), or none: the 12-hour clock runs (fails safe)', () => {
    expect(status(run([a05('21')]).state)).toEqual({ queued: true, clocks: 1 });
    expect(status(run([a05('')]).state)).toEqual({ queued: true, clocks: 1 });
  });
});
