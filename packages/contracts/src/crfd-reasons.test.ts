import { CRFD_GROUP_LABELS, CRFD_V5_CODES, CRFD_V6_CODES, crfdCode, crfdGroup, flowEventSchema, normaliseCrfdCode } from './index';

// The published lists, written out here from the sources named in crfd-reasons.ts (NHS
// England's MHSDS acute inpatient dashboard SQL for v6 wording and groups; NHS England's
// MHSDS monthly statistics code for v5 wording), so a label or group changed by mistake fails.
const V6: Record<string, string> = {
  '01': 'Awaiting care coordinator allocation',
  '02': 'Awaiting allocation of community psychiatrist',
  '03': 'Awaiting allocation of social worker',
  '04': 'Awaiting public funding or decision from funding panel',
  '05': 'Awaiting further community or mental health NHS services not delivered in an acute setting (including intermediate care, rehabilitation services, step-down service)',
  '06': 'Awaiting availability of placement in prison or Immigration Removal Centre',
  '07': 'Awaiting availability of placement in care home without nursing',
  '08': 'Awaiting availability of placement in care home with nursing',
  '09': 'Awaiting commencement of care package in usual or temporary place of residence',
  '10': 'Awaiting provision of community equipment and/or adaptations to own home',
  '11': 'Patient or family choice',
  '12': 'Disputes relating to responsible commissioner for post-discharge care',
  '13': 'Disputes relating to post-discharge care pathway between clinical teams and/or care panels',
  '14': 'Housing - awaiting availability of private rented accommodation',
  '15': 'Housing - awaiting availability of social rented housing via council housing waiting list',
  '16': 'Housing - awaiting purchase/sourcing of own home',
  '17': 'Housing - patient not eligible for funded care or support',
  '18': 'Housing - awaiting supported accommodation',
  '19': 'Housing - awaiting temporary accommodation from the local authority under housing legislation',
  '20': "Awaiting availability of residential children's home (non-secure)",
  '21': "Awaiting availability of secure children's home (welfare or non-welfare)",
  '22': 'Awaiting availability of placement in Young Offender Institution',
  '23': 'Child or young person awaiting foster placement',
  '24': 'Awaiting Ministry of Justice agreement to proposed placement',
  '25': 'Awaiting outcome of legal proceedings under relevant mental health legislation',
  '26': 'Awaiting Court of Protection proceedings',
  '27': 'Awaiting Deprivation of Liberty Safeguards (DoLS) application',
  '28': 'Delay due to consideration of specific court judgements',
  '29': 'Awaiting residential special school or college placement',
  '30': 'Lack of local education support',
  '31': 'Public safety concern unrelated to clinical treatment need (care team and/or Ministry of Justice)',
  '32': 'Highly bespoke housing and/or care arrangements not available in the community',
  '33': 'No lawful support available in the community excluding social care',
  '34': 'No social care support including social care funded placement',
  '35': 'Delays to NHS-led assessments in the community',
  '36': 'Hospital staff shortages',
  '37': 'Delays to non-NHS-led assessments in the community',
  '98': 'Reason not known',
};
const GROUPS: Record<string, string[]> = {
  Community: ['01', '02', '04', '05', '06', '08', '09', '10', '12', '13', '22', '23', '24', '25', '26', '27', '28', '29', '30', '31', '33', '37'],
  'Social care/local authority': ['03', '07', '20', '21', '34'],
  Hospital: ['11', '35', '36'],
  Housing: ['14', '15', '16', '17', '18', '19', '32'],
  'Not known': ['98'],
};

describe('CRFD delay reasons (MHSDS v6 MHS518 and v5 history)', () => {
  it('given every MHSDS v6 code 01-37 and 98, each has its published label and group, and no label is a placeholder', () => {
    const codes = [...Array.from({ length: 37 }, (_, i) => String(i + 1).padStart(2, '0')), '98'];
    expect(CRFD_V6_CODES.map((c) => c.code)).toEqual(codes);
    for (const code of codes) {
      const c = crfdCode(code)!;
      expect([code, c.label, c.version]).toEqual([code, V6[code], 6]);
      expect(c.label).not.toMatch(/\(code \d+\)|placeholder|generic|other external delay/i);
    }
    for (const [label, members] of Object.entries(GROUPS)) {
      for (const code of members) expect([code, CRFD_GROUP_LABELS[crfdGroup(code)!]]).toEqual([code, label]);
    }
    expect(Object.values(GROUPS).flat().sort()).toEqual(codes);
  });

  it('given a code written as 1 or " 04 ", it reads as 01 / 04', () => {
    expect(normaliseCrfdCode(' 4 ')).toBe('04');
    expect(crfdCode('1')!.label).toBe(V6['01']);
    expect(crfdCode('g10')!.code).toBe('G10');
  });

  it('given MHSDS v5 codes from history, they are labelled from the v5 list, have no v6 group, and are never read as a v6 reason', () => {
    expect(CRFD_V5_CODES).toHaveLength(33);
    expect(crfdCode('A2')).toEqual({ code: 'A2', label: 'Awaiting care coordinator allocation', version: 5 });
    expect(crfdCode('E1')!.label).toBe('Awaiting care package in own home');
    expect(crfdCode('N1')!.label).toBe('Awaiting outcome of legal requirements (mental capacity/mental health legislation)');
    for (const c of CRFD_V5_CODES) expect([c.code, c.version, c.group]).toEqual([c.code, 5, undefined]);
    expect(crfdCode('Z9')).toBeUndefined();
  });

  it('given a crfd.started event with a three-character v5 code (G10, G11, G12), the contract accepts it', () => {
    const at = Date.parse('2023-11-01T09:30:00Z');
    const env = { eventId: 'E1', occurredAt: at, recordedAt: at, site: 'RXT', patientId: 'P1', sourceSystem: 'PAS', channel: 'json' } as const;
    for (const reasonCode of ['G10', 'G11', 'G12', 'A2', '37', '98']) {
      expect([reasonCode, flowEventSchema.safeParse({ ...env, type: 'crfd.started', payload: { spellId: 'S1', reasonCode } }).success]).toEqual([reasonCode, true]);
    }
    for (const reasonCode of ['38', '99', '00', 'G100', 'AB']) {
      expect([reasonCode, flowEventSchema.safeParse({ ...env, type: 'crfd.started', payload: { spellId: 'S1', reasonCode } }).success]).toEqual([reasonCode, false]);
    }
  });
});
