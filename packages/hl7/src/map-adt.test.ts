import { Hl7Message } from '@medplum/core';
import { flowEventInputSchema, type FlowEventInput } from '@pfm/contracts';
import { mapAdt, type MapContext, type MapFail, type MapOk, type MapResult } from './map-adt';
import { FIXTURES, msg, PEOPLE, seg } from './testing/fixtures';

const ctx: MapContext = { defaultSite: 'RXT', siteForFacility: (f) => ({ RXT01: 'RXT', RXT02: 'RXT-WH' })[f] };

function fixture(name: string): string {
  const text = FIXTURES[name];
  if (text === undefined) throw new Error(`no fixture ${name}`);
  return text;
}
function ok(r: MapResult): MapOk {
  if (!r.ok) throw new Error(`expected ok, got ${r.ack}: ${JSON.stringify(r.errors)}`);
  for (const e of r.events) expect(flowEventInputSchema.safeParse(e).success).toBe(true);
  return r;
}
function fail(r: MapResult): MapFail {
  if (r.ok) throw new Error(`expected a failure, got ${JSON.stringify(r.events)}`);
  return r;
}
const only = (r: MapResult): FlowEventInput => {
  const events = ok(r).events;
  expect(events).toHaveLength(1);
  return events[0] as FlowEventInput;
};
const at = (s: string): number => Date.parse(s);

const MSH = (trigger: string, control = 'CTRL-1', extra: Record<number, string> = {}): string =>
  seg('MSH', { 3: 'PAS', 4: 'RXT', 5: 'PFM', 6: 'RXT', 7: '20261101100000', 9: `ADT^${trigger}`, 10: control, 11: 'P', 12: '2.5.1', ...extra });
const PID = (fields: Record<number, string> = {}): string => seg('PID', { 1: '1', 3: 'L1^^^RXT^PI~9434765919^^^NHS^NH', 5: 'DOE^JANE', 7: '19900101', 8: 'F', ...fields });
const PV1 = (fields: Record<number, string> = {}): string => seg('PV1', { 2: 'I', 3: 'W1^^B1^RXT01', 19: 'S1', ...fields });

describe('mapAdt: one fixture per trigger', () => {
  it('A01 -> patient.admitted with ward, bed, codes, minimum demographics and EDD', () => {
    const e = only(mapAdt(fixture('a01-admit'), ctx));
    expect(e).toEqual({
      eventId: 'RXT-PAS-000101', type: 'patient.admitted', occurredAt: at('2026-11-01T09:15:00Z'), site: 'RXT',
      patientId: 'RXT1000001', nhsNumber: '9434765919', sourceSystem: 'PAS', channel: 'hl7v2',
      payload: {
        spellId: 'SP26000101', ward: 'ASH', bed: 'BED03', admissionMethod: '25', admissionSource: '19',
        initials: 'AJS', ageBand: '35-44', gender: 'F', ethnicity: 'A',
        expectedDischargeAt: at('2026-11-15T23:59:59.999Z'),
      },
    });
  });
  it('never carries a name, address or birth date', () => {
    const text = JSON.stringify(ok(mapAdt(fixture('a01-admit'), ctx)).events);
    for (const s of ['SYNTHETIC', 'ALEX', 'JORDAN', 'Nowhere', 'B99', '19880412']) expect(text).not.toContain(s);
  });
  it('A01 in summer: PV1-44 (no EVN-6) read as BST, facility RXT02 resolved through ctx', () => {
    const e = only(mapAdt(fixture('a01-admit-bst'), ctx));
    expect(e.occurredAt).toBe(at('2026-07-02T21:48:00Z'));
    expect(e.site).toBe('RXT-WH');
    expect(e.payload).toMatchObject({ ward: 'OAK', bed: 'BED11', ageBand: '18-24', gender: 'M', initials: 'SF' });
  });
  it('A02 -> patient.transferred to the new PV1-3 location', () => {
    const e = only(mapAdt(fixture('a02-transfer'), ctx));
    expect(e).toMatchObject({ type: 'patient.transferred', occurredAt: at('2026-11-03T14:00:00Z'), payload: { spellId: 'SP26000101', ward: 'PICU1', bed: 'BED02' } });
  });
  it('A03 -> patient.discharged at PV1-45, with PV1-36 method and PV1-37 destination', () => {
    const e = only(mapAdt(fixture('a03-discharge'), ctx));
    expect(e).toMatchObject({ type: 'patient.discharged', occurredAt: at('2026-11-12T10:45:00Z'), payload: { spellId: 'SP26000101', dischargeMethod: '1', destination: '19' } });
  });
  it('A04 (emergency class) -> admission.decided with the ward when known', () => {
    const e = only(mapAdt(fixture('a04-register'), ctx));
    expect(e).toMatchObject({ type: 'admission.decided', patientId: 'RXT1000004', payload: { ward: 'CDU', spellId: 'SP26000105' } });
  });
  it('A04 for an outpatient class -> message.unmapped, not a bed request', () => {
    const e = only(mapAdt(fixture('a04-register-outpatient'), ctx));
    expect(e).toMatchObject({ type: 'message.unmapped', patientId: 'RXT1000003', payload: { trigger: 'ADT^A04' } });
  });
  it('A05 -> admission.decided', () => {
    expect(only(mapAdt(fixture('a05-preadmit'), ctx))).toMatchObject({ type: 'admission.decided', payload: { ward: 'ELM', spellId: 'SP26000107' } });
  });
  it('A08 -> patient.updated', () => {
    expect(only(mapAdt(fixture('a08-update'), ctx))).toMatchObject({ eventId: 'RXT-PAS-000108', type: 'patient.updated', payload: { spellId: 'SP26000101', initials: 'AJS' } });
  });
  it('A08 with PV2-9 -> patient.updated + edd.set, ids suffixed -1/-2', () => {
    const { events } = ok(mapAdt(fixture('a08-update-edd'), ctx));
    const edd = at('2026-11-20T12:00:00Z');
    expect(events.map((e) => [e.eventId, e.type])).toEqual([['RXT-PAS-000109-1', 'patient.updated'], ['RXT-PAS-000109-2', 'edd.set']]);
    expect(events[0]?.payload).toMatchObject({ expectedDischargeAt: edd });
    expect(events[1]?.payload).toEqual({ spellId: 'SP26000101', expectedDischargeAt: edd });
  });
  it.each([
    ['a11-cancel-admit', 'admission.cancelled', { spellId: 'SP26000102' }],
    ['a38-cancel-preadmit', 'admission.cancelled', { spellId: 'SP26000107' }],
    ['a12-cancel-transfer', 'transfer.cancelled', { spellId: 'SP26000101' }],
    ['a13-cancel-discharge', 'discharge.cancelled', { spellId: 'SP26000101', ward: 'ASH', bed: 'BED05' }],
    ['a22-leave-return', 'leave.ended', { spellId: 'SP26000101' }],
    ['a52-cancel-leave-out', 'leave.cancelled', { spellId: 'SP26000101', which: 'start' }],
    ['a53-cancel-leave-return', 'leave.cancelled', { spellId: 'SP26000101', which: 'end' }],
  ])('%s -> %s', (name, type, payload) => {
    expect(only(mapAdt(fixture(name), ctx))).toMatchObject({ type, payload });
  });
  it('A13 -> discharge.cancelled with the location after cancellation (PV1-3) when sent, none when PV1-3 is empty', () => {
    expect(only(mapAdt(fixture('a13-cancel-discharge'), ctx)).payload).toEqual({ spellId: 'SP26000101', ward: 'ASH', bed: 'BED05' });
    const noPlace = fixture('a13-cancel-discharge').replace('|ASH^^BED05^RXT01|', '||');
    expect(only(mapAdt(noPlace, ctx)).payload).toEqual({ spellId: 'SP26000101' });
  });
  it('A21 -> leave.started with PV2-47 expected return', () => {
    const e = only(mapAdt(fixture('a21-leave-out'), ctx));
    expect(e).toMatchObject({ type: 'leave.started', occurredAt: at('2026-11-08T09:30:00Z'), payload: { spellId: 'SP26000101', expectedReturnAt: at('2026-11-08T18:00:00Z') } });
  });
  it('A17 -> two patient.transferred events, one per PID/PV1 group', () => {
    const { events } = ok(mapAdt(fixture('a17-swap'), ctx));
    expect(events.map((e) => ({ id: e.eventId, patient: e.patientId, payload: e.payload }))).toEqual([
      { id: 'RXT-PAS-000113-1', patient: 'RXT1000001', payload: { spellId: 'SP26000101', ward: 'ASH', bed: 'BED07' } },
      { id: 'RXT-PAS-000113-2', patient: 'RXT1000004', payload: { spellId: 'SP26000107', ward: 'ASH', bed: 'BED05' } },
    ]);
  });
  it('A40 -> patient.merged: PID is the survivor, MRG-1 the merged local id', () => {
    expect(only(mapAdt(fixture('a40-merge'), ctx))).toMatchObject({ type: 'patient.merged', patientId: 'RXT1000003', payload: { mergedPatientId: 'RXT1999999' } });
  });
  it.each([['a31-update-person', 'ADT^A31'], ['oru-r01-result', 'ORU^R01']])('%s -> message.unmapped (%s)', (name, trigger) => {
    const r = ok(mapAdt(fixture(name), ctx));
    expect(r.events).toHaveLength(1);
    expect(r.events[0]).toMatchObject({ type: 'message.unmapped', payload: { trigger } });
    expect(r.messageType).toBe(trigger);
  });
});

describe('mapAdt: bad messages', () => {
  const paths = (r: MapResult): string[] => fail(r).errors.map((e) => `${e.path}:${e.code}`);
  it('a wrong NHS check digit -> AE naming PID-3 (102)', () => {
    const r = fail(mapAdt(fixture('bad-nhs-number'), ctx));
    expect(r.ack).toBe('AE');
    expect(paths(r)).toEqual(['PID-3:102']);
  });
  it('an NHS number flagged only by identifier type NH is still checked', () => {
    const r = mapAdt(msg(MSH('A01'), PID({ 3: 'L1^^^RXT^PI~1234567890^^^^NH' }), PV1()), ctx);
    expect(paths(r)).toEqual(['PID-3:102']);
  });
  it('A01 without PV1-3 -> AE naming PV1-3 (101)', () => {
    expect(paths(mapAdt(fixture('bad-missing-pv1-3'), ctx))).toEqual(['PV1-3:101']);
  });
  it('A02 without any PV1 -> AE naming PV1-3 and PV1-19', () => {
    expect(paths(mapAdt(msg(MSH('A02'), PID()), ctx))).toEqual(['PV1-3:101', 'PV1-19:101']);
  });
  it('a spell event without PV1-19 -> AE naming PV1-19 (101)', () => {
    expect(paths(mapAdt(fixture('bad-missing-pv1-19'), ctx))).toEqual(['PV1-19:101']);
  });
  it('A08 with an EDD but no PV1-19 -> AE naming PV1-19', () => {
    expect(paths(mapAdt(msg(MSH('A08'), PID(), PV1({ 19: '' }), seg('PV2', { 9: '20261120' })), ctx))).toEqual(['PV1-19:101']);
  });
  it('no local id (NHS number only) -> AE naming PID-3 (101)', () => {
    expect(paths(mapAdt(fixture('bad-missing-local-id'), ctx))).toEqual(['PID-3:101']);
  });
  it('no PID at all -> AE naming PID', () => {
    expect(paths(mapAdt(msg(MSH('A03'), PV1()), ctx))).toEqual(['PID:101']);
  });
  it('an invalid EVN-6 is an error, not a silent fallback to EVN-2', () => {
    expect(paths(mapAdt(fixture('bad-event-time'), ctx))).toEqual(['EVN-6:102']);
  });
  it('an invalid PV2-9 -> AE naming PV2-9', () => {
    expect(paths(mapAdt(msg(MSH('A01'), PID(), PV1(), seg('PV2', { 9: '2026-11-20' })), ctx))).toEqual(['PV2-9:102']);
  });
  it('no time anywhere -> AE naming MSH-7', () => {
    expect(paths(mapAdt(msg(MSH('A03', 'C', { 7: '' }), PID(), PV1()), ctx))).toEqual(['MSH-7:101']);
  });
  it('values too long for the contract -> AE naming the field', () => {
    expect(paths(mapAdt(msg(MSH('A02'), PID(), PV1({ 3: `${'W'.repeat(40)}^^B1` })), ctx))).toEqual(['PV1-3.1:102']);
    expect(paths(mapAdt(msg(MSH('A02'), PID(), PV1({ 19: 'S'.repeat(65) })), ctx))).toEqual(['PV1-19:102']);
    expect(paths(mapAdt(msg(MSH('A02'), PID({ 3: 'L'.repeat(65) }), PV1()), ctx))).toEqual(['PID-3:102']);
  });
  it('an event time far ahead of the receiving clock -> AE naming the field it came from; no clock given, no check', () => {
    const now = Date.parse('2026-11-01T12:00:00Z');
    const limited: MapContext = { ...ctx, now, maxAheadMs: 24 * 3_600_000 };
    const r = fail(mapAdt(msg(MSH('A02'), seg('EVN', { 2: '20261101100000', 6: '20621101100000' }), PID(), PV1()), limited));
    expect(r.errors.map((e) => `${e.path}:${e.code}`)).toEqual(['EVN-6:102']);
    expect(r.ack).toBe('AE');
    expect(r.errors[0]!.message).toMatch(/is 13148 days ahead of this server's clock .* refused as a wrong date/);
    // From MSH-7 when nothing else dates it.
    expect(paths(mapAdt(msg(MSH('A03', 'C', { 7: '20270101100000' }), PID(), PV1()), limited))).toEqual(['MSH-7:102']);
    // Within the limit, and with no clock, the same message maps.
    expect(only(mapAdt(msg(MSH('A02'), seg('EVN', { 6: '20261102080000' }), PID(), PV1()), limited)).occurredAt).toBe(Date.parse('2026-11-02T08:00:00Z'));
    expect(only(mapAdt(msg(MSH('A02'), seg('EVN', { 6: '20621101100000' }), PID(), PV1()), ctx)).type).toBe('patient.transferred');
  });
  it('an event time before 1970 fails the contract -> AE naming the time field', () => {
    expect(paths(mapAdt(msg(MSH('A02'), seg('EVN', { 2: '196901010000' }), PID(), PV1()), ctx))).toEqual(['EVN-2:102']);
  });
  it('A17 with one group -> AE naming the missing second PID', () => {
    expect(paths(mapAdt(msg(MSH('A17'), PID(), PV1()), ctx))).toEqual(['PID[2]:101']);
  });
  it('A17 whose second PV1 has no spell -> AE naming PV1[2]-19', () => {
    const r = fail(mapAdt(msg(MSH('A17'), PID(), PV1(), PID({ 3: 'L2^^^RXT^PI' }), PV1({ 19: '' })), ctx));
    expect(r.errors).toEqual([expect.objectContaining({ segment: 'PV1', sequence: 2, field: 19, path: 'PV1[2]-19', code: 101 })]);
  });
  it('A40 without MRG -> AE naming MRG-1', () => {
    expect(paths(mapAdt(msg(MSH('A40'), PID()), ctx))).toEqual(['MRG-1:101']);
  });
  it('garbage -> AR', () => {
    const r = fail(mapAdt(fixture('bad-garbage'), ctx));
    expect(r.ack).toBe('AR');
  });
  it('no MSH-10 -> AR naming MSH-10', () => {
    const r = fail(mapAdt(fixture('bad-no-control-id'), ctx));
    expect(r.ack).toBe('AR');
    expect(paths(r)).toEqual(['MSH-10:101']);
  });
  it('no MSH-9 -> AR naming MSH-9', () => {
    const r = fail(mapAdt(msg(MSH('A01', 'C', { 9: '' }), PID(), PV1()), ctx));
    expect([r.ack, ...paths(r)]).toEqual(['AR', 'MSH-9:101']);
  });
  it.each([
    ['empty', ''],
    ['MSH only', 'MSH'],
    ['clashing delimiters', 'MSH|^^\\&|PAS|RXT\rPID|1'],
    ['letters as delimiters', 'MSHa^~\\&aPAS'],
    ['two MSH', `${MSH('A01')}\r${MSH('A01')}\r`],
  ])('structural garbage (%s) -> AR', (_, text) => {
    expect(fail(mapAdt(text, ctx)).ack).toBe('AR');
  });
  it('a message larger than the limit -> AR', () => {
    const r = fail(mapAdt(msg(MSH('A01'), PID(), PV1(), seg('NTE', { 3: 'x'.repeat(2000) })), { ...ctx, maxChars: 1000 }));
    expect(r.ack).toBe('AR');
  });
});

describe('mapAdt: rules', () => {
  const base = (trigger: string, ...rest: string[]): string => msg(MSH(trigger), ...rest);

  it('occurredAt: EVN-6 beats PV1-44, which beats EVN-2, which beats MSH-7', () => {
    const evn6 = seg('EVN', { 2: '202611011000', 6: '202611010800' });
    const evn2 = seg('EVN', { 2: '202611011000' });
    expect(only(mapAdt(base('A01', evn6, PID(), PV1({ 44: '202611010900' })), ctx)).occurredAt).toBe(at('2026-11-01T08:00:00Z'));
    expect(only(mapAdt(base('A01', evn2, PID(), PV1({ 44: '202611010900' })), ctx)).occurredAt).toBe(at('2026-11-01T09:00:00Z'));
    expect(only(mapAdt(base('A01', evn2, PID(), PV1()), ctx)).occurredAt).toBe(at('2026-11-01T10:00:00Z'));
    expect(only(mapAdt(base('A02', PID(), PV1({ 44: '202611010900' })), ctx)).occurredAt).toBe(at('2026-11-01T10:00:00Z'));
  });
  it('takes the trigger from EVN-1 when MSH-9 has no second component (v2.2 style)', () => {
    const text = msg(MSH('', 'C', { 9: 'ADT' }), seg('EVN', { 1: 'A03' }), PID(), PV1());
    expect(only(mapAdt(text, ctx)).type).toBe('patient.discharged');
  });
  it('picks the first non-NHS identifier as patientId, whatever the order', () => {
    const e = only(mapAdt(base('A03', PID({ 3: '9434765919^^^NHS^NH~L9^^^RXT^MR~L10^^^RXT^PI' }), PV1()), ctx));
    expect([e.patientId, e.nhsNumber]).toEqual(['L9', '9434765919']);
  });
  it('reads an assigning authority sent as HD subcomponents and NHS numbers with spaces', () => {
    const e = only(mapAdt(base('A03', PID({ 3: 'L1^^^RXT&1.2.3&ISO^PI~943 476 5919^^^NHS&2.16.840.1.113883.2.1.4.1&ISO' }), PV1()), ctx));
    expect(e.nhsNumber).toBe('9434765919');
  });
  it('recognises the NHS number by the NHS OID in CX-4.2 or type code NHS', () => {
    const viaOid = only(mapAdt(base('A03', PID({ 3: 'L1^^^RXT^PI~9434765919^^^&2.16.840.1.113883.2.1.4.1&ISO' }), PV1()), ctx));
    expect([viaOid.patientId, viaOid.nhsNumber]).toEqual(['L1', '9434765919']);
    const viaType = only(mapAdt(base('A03', PID({ 3: '9434765919^^^^NHS~L1^^^RXT^PI' }), PV1()), ctx));
    expect([viaType.patientId, viaType.nhsNumber]).toEqual(['L1', '9434765919']);
  });
  it('has no nhsNumber when PID-3 carries none', () => {
    expect(only(mapAdt(base('A03', PID({ 3: 'L1^^^RXT^PI' }), PV1()), ctx)).nhsNumber).toBeUndefined();
  });
  it('uses the default site, with a warning, for a facility the context does not know', () => {
    const r = ok(mapAdt(base('A02', PID(), PV1({ 3: 'W1^^B1^ZZZ99' })), ctx));
    expect(r.events[0]?.site).toBe('RXT');
    expect(r.warnings.map((w) => `${w.path}:${w.code}`)).toEqual(['PV1-3.4:103']);
  });
  it('uses the default site silently when there is no facility or no lookup', () => {
    expect(ok(mapAdt(base('A02', PID(), PV1({ 3: 'W1^^B1' })), ctx)).warnings).toEqual([]);
    expect(ok(mapAdt(base('A02', PID(), PV1()), { defaultSite: 'RXT' })).events[0]?.site).toBe('RXT');
  });
  it('turns a failing site lookup or an invalid configured site into AE 207, never a throw', () => {
    const throwing: MapContext = { defaultSite: 'RXT', siteForFacility: () => { throw new Error('boom'); } };
    expect(fail(mapAdt(base('A02', PID(), PV1()), throwing)).errors[0]?.code).toBe(207);
    expect(fail(mapAdt(base('A02', PID(), PV1()), { defaultSite: 'not a site!' })).errors[0]?.code).toBe(207);
  });
  it('unescapes values and ignores the HL7 null ""', () => {
    const e = only(mapAdt(base('A02', PID(), PV1({ 3: 'W\\T\\1^^""^RXT01' })), ctx));
    expect(e.payload).toEqual({ spellId: 'S1', ward: 'W&1' });
  });
  it('initials follow given, middle, family and drop accents', () => {
    const e = only(mapAdt(base('A01', PID({ 5: 'ÓBRIEN^ÉMILE^ANNE MARIE^^^^L' }), PV1()), ctx));
    expect(e.payload).toMatchObject({ initials: 'EAMO' });
  });
  it('prefers the legal name repetition for initials', () => {
    const e = only(mapAdt(base('A01', PID({ 5: 'NICK^NAME^^^^^N~LEGAL^NAME^^^^^L' }), PV1()), ctx));
    expect(e.payload).toMatchObject({ initials: 'NL' });
  });
  it('computes the age band against the event date, in completed years', () => {
    const band = (dob: string, when: string): unknown =>
      (only(mapAdt(base('A01', seg('EVN', { 6: when }), PID({ 7: dob }), PV1()), ctx)).payload as { ageBand?: string }).ageBand;
    expect(band('20080702', '202607012359')).toBe('0-17');
    expect(band('20080702', '202607020000')).toBe('18-24');
    expect(band('19510102', '202611010900')).toBe('75-84');
    expect(band('19300101', '202611010900')).toBe('85+');
  });
  it('leaves out an unusable birth date or sex code with a warning, keeping the admission', () => {
    const r = ok(mapAdt(base('A01', PID({ 7: '19901345', 8: 'Female' }), PV1()), ctx));
    expect(r.events[0]?.payload).not.toHaveProperty('ageBand');
    expect(r.events[0]?.payload).not.toHaveProperty('gender');
    expect(r.warnings.map((w) => `${w.path}:${w.code}`)).toEqual(['PID-7:102', 'PID-8:103']);
  });
  it('leaves out an over-long code (PV1-4) with a warning', () => {
    const r = ok(mapAdt(base('A01', PID(), PV1({ 4: 'X'.repeat(40) })), ctx));
    expect(r.events[0]?.payload).not.toHaveProperty('admissionMethod');
    expect(r.warnings.map((w) => w.path)).toEqual(['PV1-4']);
  });
  it('date-only EDD means the end of that local day (BST)', () => {
    const e = only(mapAdt(base('A01', PID(), PV1(), seg('PV2', { 9: '20260710' })), ctx));
    expect(e.payload).toMatchObject({ expectedDischargeAt: at('2026-07-10T22:59:59.999Z') });
  });
  it('maps several A40 groups to several merges', () => {
    const text = base('A40', PID(), seg('MRG', { 1: 'OLD1^^^RXT^PI' }), PID({ 3: 'L2^^^RXT^PI' }), seg('MRG', { 1: '9434765919^^^NHS^NH~OLD2^^^RXT^PI' }));
    const { events } = ok(mapAdt(text, ctx));
    expect(events.map((e) => [e.eventId, e.patientId, e.payload])).toEqual([
      ['CTRL-1-1', 'L1', { mergedPatientId: 'OLD1' }],
      ['CTRL-1-2', 'L2', { mergedPatientId: 'OLD2' }],
    ]);
  });
  it('records an unmapped message even without a PID, keyed by its control id', () => {
    const e = only(mapAdt(msg(seg('MSH', { 7: '20261101100000', 9: 'MFN^M02', 10: 'M1' })), ctx));
    expect(e).toMatchObject({ type: 'message.unmapped', patientId: 'msg:M1', site: 'RXT', payload: { trigger: 'MFN^M02' } });
  });
  it('records an unmapped message whose PID is invalid without failing it', () => {
    const e = only(mapAdt(base('A31', PID({ 3: 'L1^^^RXT^PI~9434765918^^^NHS^NH' })), ctx));
    expect(e).toMatchObject({ type: 'message.unmapped', patientId: 'L1' });
    expect(e.nhsNumber).toBeUndefined();
  });
  it('accepts a parsed Hl7Message, LF separators and MLLP framing bytes', () => {
    const text = fixture('a02-transfer');
    const want = only(mapAdt(text, ctx));
    expect(only(mapAdt(Hl7Message.parse(text), ctx))).toEqual(want);
    expect(only(mapAdt(text.replace(/\r/g, '\n'), ctx))).toEqual(want);
    expect(only(mapAdt(`\u000b${text}\u001c\r`, ctx))).toEqual(want);
  });
  it('honours non-default delimiters', () => {
    const text = fixture('a02-transfer').replace(/\|/g, '#').replace(/\^/g, '$').replace('MSH#$~\\&', 'MSH#$~\\&');
    expect(only(mapAdt(text, ctx))).toMatchObject({ type: 'patient.transferred', payload: { ward: 'PICU1', bed: 'BED02' } });
  });
  it('uses ctx.sourceSystem over MSH-3', () => {
    expect(only(mapAdt(fixture('a02-transfer'), { ...ctx, sourceSystem: 'RXT-PAS' })).sourceSystem).toBe('RXT-PAS');
  });
  it('is deterministic: the same message gives the same events', () => {
    expect(mapAdt(fixture('a17-swap'), ctx)).toEqual(mapAdt(fixture('a17-swap'), ctx));
  });
  it('treats every fixture person as having a valid NHS number', () => {
    for (const p of Object.values(PEOPLE)) expect(p.nhs).toMatch(/^\d{10}$/);
  });
});

describe('mapAdt: leniency where strictness would lose flow', () => {
  const base = (trigger: string, ...rest: string[]): string => msg(MSH(trigger), ...rest);
  it('a bad PV2-9 does not block a discharge (only A01/A08 read the EDD)', () => {
    expect(only(mapAdt(base('A03', PID(), PV1(), seg('PV2', { 9: 'soon' })), ctx)).type).toBe('patient.discharged');
  });
  it('an unmapped message skips an invalid EVN-6 and records with the next valid time', () => {
    const e = only(mapAdt(base('A31', seg('EVN', { 6: 'garbage' }), PID()), ctx));
    expect(e).toMatchObject({ type: 'message.unmapped', occurredAt: at('2026-11-01T10:00:00Z') });
  });
  it('an unmapped message with no valid time at all -> AE naming MSH-7', () => {
    const r = fail(mapAdt(msg(MSH('A31', 'C', { 7: 'x' }), PID()), ctx));
    expect(r.errors.map((e) => e.path)).toEqual(['MSH-7']);
  });
});
