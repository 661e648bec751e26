import avro from 'avsc';
import { flowEventAvroSchema, flowEventInputSchema, flowEventSchema, fromAvro, toAvro, type FlowEvent } from './index';
import { normaliseNhsNumber } from './nhs-number';

const admitted: FlowEvent = {
  eventId: 'MSG0001', type: 'patient.admitted', occurredAt: Date.parse('2026-11-01T09:30:00Z'), recordedAt: Date.parse('2026-11-01T09:30:01Z'),
  site: 'RXT', patientId: 'P100', nhsNumber: '9434765919', sourceSystem: 'PAS', channel: 'hl7v2',
  payload: { spellId: 'S1', ward: 'W12', bed: 'B3', outOfArea: false, initials: 'JS' },
};

describe('NHS number', () => {
  it('accepts the documented valid example in either form', () => {
    expect(normaliseNhsNumber('943 476 5919')).toBe('9434765919');
  });
  it('rejects a wrong check digit, a check of 10, and non-digits', () => {
    expect(normaliseNhsNumber('9434765918')).toBeNull();
    expect(normaliseNhsNumber('1234567890')).toBeNull(); // weights give check 10
    expect(normaliseNhsNumber('94347659AB')).toBeNull();
  });
});

describe('canonical event schema', () => {
  it('parses ISO times with offsets into epoch ms', () => {
    const parsed = flowEventInputSchema.parse({
      type: 'patient.transferred', occurredAt: '2026-11-02T10:00:00+01:00', site: 'RXT', patientId: 'P100', payload: { spellId: 'S1', ward: 'W14' },
    });
    expect(parsed.occurredAt).toBe(Date.parse('2026-11-02T09:00:00Z'));
  });
  it('reports field-level problems', () => {
    const r = flowEventInputSchema.safeParse({ type: 'patient.admitted', occurredAt: 'yesterday', site: 'RXT', patientId: 'P1', nhsNumber: '9434765918', payload: { ward: 'W1' } });
    expect(r.success).toBe(false);
    const paths = r.error!.issues.map((i) => i.path.join('.'));
    expect(paths).toEqual(expect.arrayContaining(['occurredAt', 'nhsNumber', 'payload.spellId']));
  });
  it('rejects unknown types and unknown fields', () => {
    expect(flowEventInputSchema.safeParse({ ...admitted, type: 'patient.teleported' }).success).toBe(false);
    expect(flowEventSchema.safeParse({ ...admitted, payload: { ...admitted.payload, surname: 'Smith' } }).success).toBe(false);
  });
});

describe('Avro form', () => {
  const type = avro.Type.forSchema(flowEventAvroSchema as unknown as avro.Schema);
  it('round-trips every optional and required field through the Avro encoding', () => {
    const buf = type.toBuffer(toAvro(admitted));
    expect(fromAvro(type.fromBuffer(buf) as Record<string, unknown>)).toEqual(admitted);
  });
  it('round-trips an improvement note (a list field) and keeps the earlier branches where they were', () => {
    const note: FlowEvent = {
      eventId: 'improvement:N1', type: 'improvement.noted', occurredAt: Date.parse('2026-03-02T00:00:00Z'), recordedAt: Date.parse('2026-03-03T09:00:00Z'),
      site: 'RXT', patientId: 'improvement:N1', sourceSystem: 'pfm-insights', channel: 'ui',
      payload: { noteId: 'N1', title: 'Discharge coordinator', ward: 'W12', effectiveDate: '2026-03-02', author: 'analyst-1', measures: ['crfd_bed_days'], expectedDirection: 'down' },
    };
    expect(fromAvro(type.fromBuffer(type.toBuffer(toAvro(note))) as Record<string, unknown>)).toEqual(note);
    const branches = (flowEventAvroSchema.fields.find((x) => x.name === 'payload')!.type as { name: string }[]).map((b) => b.name);
    expect(branches.indexOf('ParkExpired')).toBe(branches.length - 3);
    expect(branches.indexOf('ImprovementNoted')).toBe(branches.length - 2);
    expect(branches[branches.length - 1]).toBe('AlertOwned');
  });
  it('round-trips an event with no optional fields', () => {
    const e: FlowEvent = { ...admitted, nhsNumber: undefined, type: 'leave.ended', payload: { spellId: 'S1' } } as FlowEvent;
    delete (e as { nhsNumber?: string }).nhsNumber;
    expect(fromAvro(type.fromBuffer(type.toBuffer(toAvro(e))) as Record<string, unknown>)).toEqual(e);
  });
});
