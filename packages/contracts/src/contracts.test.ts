import avro from 'avsc';
import fc from 'fast-check';
import { flowEventAvroSchema, flowEventInputSchema, flowEventSchema, fromAvro, isPlainFlowEvent, toAvro, type FlowEvent } from './index';
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

describe('quick contract check (isPlainFlowEvent)', () => {
  const at = Date.parse('2026-11-01T09:30:00Z');
  const env = { eventId: 'E1', occurredAt: at, recordedAt: at + 1000, site: 'RXT', patientId: 'P100', nhsNumber: '9434765919', sourceSystem: 'PAS', channel: 'hl7v2' } as const;
  const valid: FlowEvent[] = [
    admitted,
    { ...env, type: 'patient.admitted', payload: { spellId: 'S1', ward: 'W12', distanceFromHomeKm: 12.5, expectedDischargeAt: at + 86400000, outOfArea: true, oapReason: 'no bed', ageBand: '18-64' } },
    { ...env, type: 'referral.received', payload: { referralId: 'R1', team: 'CRISIS', teamType: 'crisis', urgency: 'emergency', area: 'N' } },
    { ...env, type: 'crfd.started', payload: { spellId: 'S1', reasonCode: '07' } },
    { ...env, type: 'crfd.started', payload: { spellId: 'S1', reasonCode: 'A2' } },
    { ...env, type: 'edd.set', payload: { spellId: 'S1', expectedDischargeAt: at } },
    { ...env, type: 'leave.cancelled', payload: { spellId: 'S1', which: 'end' } },
    { ...env, type: 'alert.acknowledged', payload: { alertId: 'stranded:RXT:P100:S1:7d', by: 'nurse-1' } },
    { ...env, nhsNumber: undefined, type: 'leave.ended', payload: { spellId: 'S1' } } as FlowEvent,
    {
      ...env, type: 'improvement.noted', patientId: 'improvement:N1',
      payload: { noteId: 'N1', title: 'Discharge coordinator', effectiveDate: '2026-03-02', author: 'analyst-1', measures: ['crfd_bed_days', 'los'], expectedDirection: 'down' },
    },
  ];

  it('passes valid events as they are decoded from Avro, so the engine skips zod for them', () => {
    const type = avro.Type.forSchema(flowEventAvroSchema as unknown as avro.Schema);
    for (const e of valid) {
      expect(flowEventSchema.safeParse(e).success).toBe(true);
      expect(isPlainFlowEvent(fromAvro(type.fromBuffer(type.toBuffer(toAvro(e))) as Record<string, unknown>))).toBe(true);
    }
  });

  it('never passes an event the contract refuses (random mutations of every field)', () => {
    const odd: unknown[] = [
      undefined, null, '', ' ', '  x  ', 'x'.repeat(17), 'x'.repeat(33), 'x'.repeat(65), 'x'.repeat(121), 'x'.repeat(201), 'x'.repeat(501), 'RX T', 'RXT',
      -1, 0, 1.5, -0.5, NaN, Infinity, 2000, 2000.5, 8.64e15, 8.64e15 + 2, 2 ** 53, true, false, [], {}, ['a'], [''], [' '], Array.from({ length: 21 }, () => 'm'),
      '9434765919', '943 476 5919', '9434765918', '1234567890', '2026-11-01T09:30:00Z', '2026-11-01', 'A2', '07', '38', '98', 'AB',
      'emergency', 'crisis', 'hl7v2', 'bogus', 'up', 'end', 'JS', 'js', 'ABCDE', 'N1', 'N 1',
    ];
    const paths = (e: FlowEvent): string[][] => [
      ...Object.keys(env).map((k) => [k]), ['type'], ['payload'], ['extra'],
      ...Object.keys(e.payload).map((k) => ['payload', k]),
      ['payload', 'spellId'], ['payload', 'ward'], ['payload', 'expectedDischargeAt'], ['payload', 'reasonCode'], ['payload', 'measures'], ['payload', 'extra'],
    ];
    let plain = 0;
    let accepted = 0;
    fc.assert(fc.property(fc.constantFrom(...valid), fc.array(fc.tuple(fc.nat(), fc.constantFrom(...odd), fc.boolean()), { minLength: 1, maxLength: 3 }), (base, muts) => {
      const e = JSON.parse(JSON.stringify(base)) as Record<string, unknown>;
      for (const [i, v, del] of muts) {
        const p = paths(base)[i % paths(base).length]!;
        const target = p.length === 2 ? e.payload : e;
        if (typeof target !== 'object' || target === null) continue;
        const rec = target as Record<string, unknown>;
        if (del) delete rec[p[p.length - 1]!];
        else rec[p[p.length - 1]!] = v;
      }
      const ok = flowEventSchema.safeParse(e).success;
      if (isPlainFlowEvent(e)) { plain += 1; expect(ok).toBe(true); }
      if (ok) accepted += 1;
    }), { numRuns: 4000, seed: 10 });
    // Both sides were exercised: some mutated events still pass, and the quick check passed some of them.
    expect(plain).toBeGreaterThan(50);
    expect(accepted).toBeGreaterThanOrEqual(plain);
  });

  it('leaves to zod what zod would transform (a padded NHS number, an ISO time)', () => {
    const padded = { ...admitted, nhsNumber: '943 476 5919' };
    expect(isPlainFlowEvent(padded)).toBe(false);
    expect(flowEventSchema.safeParse(padded).success).toBe(true);
    expect(isPlainFlowEvent({ ...admitted, occurredAt: '2026-11-01T09:30:00Z' })).toBe(false);
    expect(isPlainFlowEvent({ ...admitted, nhsNumber: '9434765918' })).toBe(false);
    expect(isPlainFlowEvent({ ...admitted, payload: { ...admitted.payload, surname: 'Smith' } })).toBe(false);
  });
});
