// encodeAdt: every ADT-type canonical event survives encode -> mapAdt unchanged (channel
// becomes hl7v2), for hand-picked events of each type and for random simulator-like ones.
import fc from 'fast-check';
import type { FlowEventInput } from '@pfm/contracts';
import { ADT_TRIGGERS, encodeAdt, formatDtmMs, isAdtEvent } from './encode';
import { mapAdt, type MapContext } from './map-adt';
import { parseDtm } from './dtm';
import { parseHl7 } from './parse';

// Like ingest's resolver: a known site as it is, else an ODS site code (trust code + 2 digits).
const ctx: MapContext = { defaultSite: 'ZZZ', siteForFacility: (f) => (f === 'SIM01' ? f : /^[A-Z0-9]{3}\d{2}$/.test(f) ? f.slice(0, 3) : undefined) };
const facilityFor = (site: string): string => (site.length === 3 ? `${site}01` : site);

function roundTrip(e: FlowEventInput): FlowEventInput[] {
  const text = encodeAdt(e, { facilityFor });
  const r = mapAdt(text, ctx);
  if (!r.ok) throw new Error(`mapAdt refused:\n${text.replace(/\r/g, '\n')}\n${JSON.stringify(r.errors)}`);
  expect(r.warnings).toEqual([]);
  return r.events;
}

const base = { site: 'RXT', patientId: 'RXTP0001234', nhsNumber: '9434765919', sourceSystem: 'SIM-PAS', occurredAt: Date.UTC(2026, 2, 29, 0, 30, 12, 345) };

const examples: FlowEventInput[] = [
  {
    ...base, eventId: 'RXT-abc-1', type: 'patient.admitted',
    payload: {
      spellId: 'RXT-S100', ward: 'NG-ASH', bed: 'NG-ASH-07', admissionMethod: '2A', admissionSource: '19', legalStatus: '03',
      outOfArea: true, oapReason: 'no local bed | ^ & ~ \\ ok', distanceFromHomeKm: 123.45,
      initials: 'AJS', ageBand: '25-34', gender: 'F', ethnicity: 'A', area: 'NORTH', expectedDischargeAt: Date.UTC(2026, 3, 20, 12), referralId: 'RXT-R77',
    },
  },
  { ...base, eventId: 'RXT-abc-1b', type: 'patient.admitted', payload: { spellId: 'S1', ward: 'W1', initials: 'Q', ageBand: '85+' } },
  { ...base, eventId: 'RXT-abc-2', type: 'patient.transferred', payload: { spellId: 'RXT-S100', ward: 'NG-HAZEL', bed: 'NG-HAZEL-01' } },
  { ...base, eventId: 'RXT-abc-3', type: 'patient.discharged', payload: { spellId: 'RXT-S100', dischargeMethod: '1', destination: '19' } },
  { ...base, eventId: 'RXT-abc-4', type: 'leave.started', payload: { spellId: 'RXT-S100', leaveType: 'S17', expectedReturnAt: Date.UTC(2026, 6, 1, 18, 0, 0, 1) } },
  { ...base, eventId: 'RXT-abc-5', type: 'leave.ended', payload: { spellId: 'RXT-S100' } },
  { ...base, eventId: 'RXT-abc-6', type: 'admission.cancelled', payload: { spellId: 'RXT-S100' } },
  { ...base, eventId: 'RXT-abc-7', type: 'transfer.cancelled', payload: { spellId: 'RXT-S100' } },
  { ...base, eventId: 'RXT-abc-8', type: 'discharge.cancelled', payload: { spellId: 'RXT-S100' } },
  { ...base, eventId: 'RXT-abc-9', type: 'leave.cancelled', payload: { spellId: 'RXT-S100', which: 'start' } },
  { ...base, eventId: 'RXT-abc-10', type: 'leave.cancelled', payload: { spellId: 'RXT-S100', which: 'end' } },
  { ...base, eventId: 'RXT-abc-11', type: 'patient.updated', payload: { spellId: 'RXT-S100', legalStatus: '03' } },
  { ...base, nhsNumber: undefined, eventId: 'RXT-abc-12', type: 'patient.updated', payload: { spellId: 'RXT-S100', initials: 'JK' } },
];

const expected = (e: FlowEventInput): FlowEventInput => {
  const out = { ...e, channel: 'hl7v2' } as FlowEventInput;
  if (out.nhsNumber === undefined) delete out.nhsNumber;
  return out;
};

describe('encodeAdt', () => {
  it.each(examples.map((e) => [`${e.type} ${e.eventId}`, e] as const))('round-trips %s', (_name, e) => {
    expect(roundTrip(e)).toEqual([expected(e)]);
  });

  it('covers every ADT type (leave.cancelled both ways)', () => {
    const types = new Set(examples.map((e) => e.type));
    for (const t of Object.keys(ADT_TRIGGERS)) expect(types.has(t as FlowEventInput['type'])).toBe(true);
    expect(types.has('leave.cancelled')).toBe(true);
  });

  it('builds the segments a PAS sends: MSH-10 = eventId, PID-3 NHS + local, PV1-3 ward^room^bed^facility, PV1-19, PV1-44/45, PV2-9', () => {
    const admit = encodeAdt(examples[0]!, { facilityFor });
    const p = parseHl7(admit);
    if (!p.ok) throw new Error('unparseable');
    const seg = (n: string) => p.parsed.segments.find((s) => s.name === n)!;
    expect(p.parsed.msh.get(9, 1)).toBe('ADT');
    expect(p.parsed.msh.get(9, 2)).toBe('A01');
    expect(p.parsed.msh.get(9, 3)).toBe('ADT_A01');
    expect(p.parsed.msh.get(10, 1)).toBe('RXT-abc-1');
    expect(p.parsed.msh.get(12, 1)).toBe('2.4');
    const pid = seg('PID');
    expect([pid.get(3, 1, 0), pid.get(3, 4, 0), pid.get(3, 5, 0)]).toEqual(['9434765919', 'NHS', 'NH']);
    expect(pid.get(3, 1, 1)).toBe('RXTP0001234');
    const pv1 = seg('PV1');
    expect([pv1.get(3, 1), pv1.get(3, 3), pv1.get(3, 4)]).toEqual(['NG-ASH', 'NG-ASH-07', 'RXT01']);
    expect(pv1.get(19, 1)).toBe('RXT-S100');
    expect(parseDtm(pv1.get(44, 1))?.epochMs).toBe(base.occurredAt);
    expect(parseDtm(seg('PV2').get(9, 1))?.epochMs).toBe(Date.UTC(2026, 3, 20, 12));
    expect(admit.split('\r').filter(Boolean).map((s) => s.slice(0, 3))).toEqual(['MSH', 'EVN', 'PID', 'PV1', 'PV2', 'ZMH']);

    const discharge = parseHl7(encodeAdt(examples[3]!, { context: { ward: 'NG-HAZEL', bed: 'B1', admittedAt: base.occurredAt - 86_400_000 }, version: '2.5' }));
    if (!discharge.ok) throw new Error('unparseable');
    const dpv1 = discharge.parsed.segments.find((s) => s.name === 'PV1')!;
    expect(dpv1.get(3, 1)).toBe('NG-HAZEL');
    expect(parseDtm(dpv1.get(44, 1))?.epochMs).toBe(base.occurredAt - 86_400_000);
    expect(parseDtm(dpv1.get(45, 1))?.epochMs).toBe(base.occurredAt);
    expect(discharge.parsed.segments.find((s) => s.name === 'EVN')!.get(1, 1)).toBe(''); // EVN-1 withdrawn in 2.5
  });

  it('context demographics fill PID on messages that do not map them back', () => {
    const text = encodeAdt(examples[2]!, { context: { initials: 'AB', ageBand: '45-54', gender: 'M', ethnicity: 'J' } });
    expect(text).toMatch(/\rPID\|1\|[^\r]*\|\|[A-Z]+\^[A-Z][a-z]+\^*[^|]*\|\|\d{8}\|M\|/);
    expect(roundTrip(examples[2]!)).toEqual([expected(examples[2]!)]);
  });

  it('an A08 with an EDD maps to patient.updated and edd.set (suffixed ids)', () => {
    const e: FlowEventInput = { ...base, eventId: 'RXT-x-1', type: 'patient.updated', payload: { spellId: 'S9', expectedDischargeAt: Date.UTC(2026, 5, 1, 10) } };
    const r = mapAdt(encodeAdt(e), { defaultSite: 'RXT' });
    expect(r.ok && r.events.map((x) => [x.eventId, x.type])).toEqual([['RXT-x-1-1', 'patient.updated'], ['RXT-x-1-2', 'edd.set']]);
  });

  it('a bad NHS number is sent as it is, so ingest answers AE and keeps it as a reject', () => {
    const bad = { ...examples[2]!, nhsNumber: '9434765918' };
    const r = mapAdt(encodeAdt(bad), ctx);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.ack).toBe('AE');
    expect(!r.ok && r.errors[0]?.path).toBe('PID-3');
  });

  it('refuses events that are not ADT', () => {
    expect(isAdtEvent({ ...base, type: 'edd.set', payload: { spellId: 'S', expectedDischargeAt: 1 } })).toBe(false);
    expect(() => encodeAdt({ ...base, eventId: 'x', type: 'crfd.ended', payload: { spellId: 'S' } })).toThrow(/no ADT trigger/);
  });

  it('formatDtmMs keeps milliseconds and the offset', () => {
    expect(formatDtmMs(Date.UTC(2026, 6, 1, 12, 0, 0, 7))).toBe('20260701130000.007+0100');
    expect(formatDtmMs(Date.UTC(2026, 0, 1, 12))).toBe('20260101120000+0000');
  });

  // Simulator-like events: ids, codes and times of the shapes the simulator emits,
  // including the BST changes (times are written with their offset, so no hour is lost).
  const code = fc.stringMatching(/^[A-Z0-9][A-Z0-9-]{0,11}$/);
  const id = fc.stringMatching(/^[A-Z]{3}-[A-Z0-9]{1,10}-\d{1,6}$/);
  const time = fc.integer({ min: Date.UTC(2024, 0, 1), max: Date.UTC(2028, 0, 1) });
  const letters = fc.stringMatching(/^[A-Z]{1,4}$/);
  const envelope = fc.record({
    eventId: id, occurredAt: time, site: fc.constantFrom('RXT', 'SIM01', 'RV3'),
    patientId: fc.stringMatching(/^[A-Z]{3}P\d{7}$/), nhsNumber: fc.option(fc.constantFrom('9434765919', '9994907174', '9990000018'), { nil: undefined }),
    sourceSystem: fc.constantFrom('SIM-PAS', 'PAS'),
  });
  const payload = fc.oneof(
    fc.record({
      type: fc.constant('patient.admitted' as const),
      payload: fc.record({
        spellId: id, ward: code, bed: code, admissionMethod: fc.constantFrom('11', '21', '2A', '2D'), admissionSource: fc.constantFrom('19', '29', '51'),
        legalStatus: fc.constantFrom('01', '02', '03'), outOfArea: fc.boolean(), oapReason: fc.constantFrom('no local bed', 'specialist care'),
        distanceFromHomeKm: fc.double({ min: 30, max: 200, noNaN: true }), initials: letters,
        ageBand: fc.constantFrom('18-24', '25-34', '35-44', '45-54', '55-64', '65-74', '75-84', '85+'), gender: fc.constantFrom('M', 'F', 'O', 'U'),
        ethnicity: fc.constantFrom('A', 'B', 'J', 'S', 'Z'), area: fc.constantFrom('NORTH', 'SOUTH', 'CITY'), expectedDischargeAt: time, referralId: id,
      }, { requiredKeys: ['spellId', 'ward'] }),
    }),
    fc.record({ type: fc.constant('patient.transferred' as const), payload: fc.record({ spellId: id, ward: code, bed: code, outOfArea: fc.boolean(), oapReason: fc.constantFrom('no local bed', 'specialist care') }, { requiredKeys: ['spellId', 'ward'] }) }),
    fc.record({ type: fc.constant('patient.discharged' as const), payload: fc.record({ spellId: id, dischargeMethod: fc.constantFrom('1', '2', '4'), destination: fc.constantFrom('19', '29', '53', '79') }, { requiredKeys: ['spellId'] }) }),
    fc.record({ type: fc.constant('leave.started' as const), payload: fc.record({ spellId: id, leaveType: fc.constantFrom('S17', 'HOME'), expectedReturnAt: time }, { requiredKeys: ['spellId'] }) }),
    fc.record({ type: fc.constantFrom('leave.ended' as const, 'admission.cancelled' as const, 'transfer.cancelled' as const, 'discharge.cancelled' as const), payload: fc.record({ spellId: id }) }),
    fc.record({ type: fc.constant('leave.cancelled' as const), payload: fc.record({ spellId: id, which: fc.constantFrom('start' as const, 'end' as const) }) }),
    fc.record({ type: fc.constant('patient.updated' as const), payload: fc.record({ spellId: id, legalStatus: fc.constantFrom('01', '02', '03'), initials: letters }, { requiredKeys: ['spellId'] }) }),
  );

  it('round-trips random simulator-like events of every ADT type', () => {
    fc.assert(
      fc.property(envelope, payload, (env, p) => {
        const e = { ...env, ...p } as FlowEventInput;
        if (e.nhsNumber === undefined) delete e.nhsNumber;
        expect(roundTrip(e)).toEqual([expected(e)]);
      }),
      { numRuns: 500 },
    );
  });
});
