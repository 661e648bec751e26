// Synthetic ADT messages for tests, demos and manual MLLP runs. Every person here is
// invented; NHS numbers are 9434765919 (the documented example) or from the 999
// range used for test data, all passing Modulus 11. Site RXT, facility codes RXT01/RXT02.
// `pnpm exec tsx packages/hl7/src/testing/write-fixtures.ts` writes them to
// packages/hl7/fixtures/; fixtures.test.ts fails when the files drift from this source.

/** One segment from numbered fields: seg('PV1', { 2: 'I', 19: 'S1' }). */
export function seg(name: string, fields: Record<number, string>): string {
  const max = Math.max(0, ...Object.keys(fields).map(Number));
  if (name === 'MSH') {
    const out = ['MSH', '^~\\&'];
    for (let i = 3; i <= max; i++) out.push(fields[i] ?? '');
    return out.join('|');
  }
  const out = [name];
  for (let i = 1; i <= max; i++) out.push(fields[i] ?? '');
  return out.join('|');
}

export const msg = (...segments: string[]): string => segments.map((s) => `${s}\r`).join('');

interface Person {
  local: string;
  nhs?: string;
  name: string;
  dob: string;
  sex: string;
  ethnic?: string;
}

export const PEOPLE = {
  alex: { local: 'RXT1000001', nhs: '9434765919', name: 'SYNTHETIC^ALEX^JORDAN^^MX^^L', dob: '19880412', sex: 'F', ethnic: 'A' },
  sam: { local: 'RXT1000002', nhs: '9990000018', name: 'FICTIONAL^SAM^^^MR^^L', dob: '20050630', sex: 'M', ethnic: 'M' },
  robin: { local: 'RXT1000003', nhs: '9990000026', name: "O'MADEUP^ROBIN^^^^^L", dob: '19510102', sex: 'U' },
  jo: { local: 'RXT1000004', nhs: '9990000034', name: 'INVENTED^JO^KIM^^MS^^L', dob: '19990228', sex: 'F', ethnic: 'R' },
} satisfies Record<string, Person>;

function msh(trigger: string, control: string, at: string, structure = `ADT_${trigger}`, type = 'ADT'): string {
  return seg('MSH', { 3: 'PAS', 4: 'RXT', 5: 'PFM', 6: 'RXT', 7: at, 9: `${type}^${trigger}^${structure}`, 10: control, 11: 'P', 12: '2.4', 15: 'AL', 16: 'NE', 17: 'GBR', 18: 'UNICODE UTF-8', 19: 'EN' });
}

function evn(trigger: string, recorded: string, occurred = ''): string {
  return seg('EVN', { 1: trigger, 2: recorded, 5: 'C0042^ZZCLERK^PAT', 6: occurred });
}

function pid(p: Person, setId = '1', nhsOverride?: string): string {
  const nhs = nhsOverride ?? p.nhs;
  const ids = [`${p.local}^^^RXT^PI`, ...(nhs ? [`${nhs}^^^NHS^NH`] : [])].join('~');
  return seg('PID', { 1: setId, 3: ids, 5: p.name, 7: p.dob, 8: p.sex, 11: '1 Nowhere Lane^^Birmingham^^B99 9ZZ^GBR^H', 22: p.ethnic ?? '' });
}

interface Visit {
  cls?: string;
  ward?: string;
  bed?: string;
  facility?: string;
  spell?: string;
  admitType?: string;
  admitSource?: string;
  disposition?: string;
  dischargedTo?: string;
  admitAt?: string;
  dischargeAt?: string;
  prior?: string;
}

function pv1(v: Visit): string {
  const location = v.ward === undefined ? '' : `${v.ward}^^${v.bed ?? ''}^${v.facility ?? 'RXT01'}`;
  return seg('PV1', {
    1: '1', 2: v.cls ?? 'I', 3: location, 4: v.admitType ?? '', 6: v.prior ?? '', 7: 'C9999^ZZCONSULTANT^LEE^^^DR', 10: '710', 14: v.admitSource ?? '',
    18: 'NHS', 19: v.spell ? `${v.spell}^^^RXT^VN` : '', 36: v.disposition ?? '', 37: v.dischargedTo ?? '', 44: v.admitAt ?? '', 45: v.dischargeAt ?? '',
  });
}

const pv2 = (edd: string, loaReturn = ''): string => seg('PV2', { 9: edd, 47: loaReturn });

const SPELL = 'SP26000101';

/** File name (without .hl7) -> message text. */
export const FIXTURES: Record<string, string> = {
  'a01-admit': msg(
    msh('A01', 'RXT-PAS-000101', '20261101093012'),
    evn('A01', '20261101093012', '20261101091500'),
    pid(PEOPLE.alex),
    pv1({ ward: 'ASH', bed: 'BED03', spell: SPELL, admitType: '25', admitSource: '19', admitAt: '20261101091500' }),
    pv2('20261115'),
  ),
  'a01-admit-bst': msg(
    msh('A01', 'RXT-PAS-000102', '20260702230512'),
    evn('A01', '20260702230512'),
    pid(PEOPLE.sam),
    pv1({ ward: 'OAK', bed: 'BED11', facility: 'RXT02', spell: 'SP26000102', admitType: '21', admitSource: '19', admitAt: '202607022248' }),
  ),
  'a02-transfer': msg(
    msh('A02', 'RXT-PAS-000103', '20261103141000+0000'),
    evn('A02', '20261103141000+0000', '20261103140000+0000'),
    pid(PEOPLE.alex),
    pv1({ ward: 'PICU1', bed: 'BED02', spell: SPELL, prior: 'ASH^^BED03^RXT01' }),
  ),
  'a03-discharge': msg(
    msh('A03', 'RXT-PAS-000104', '20261112110230'),
    evn('A03', '20261112110230'),
    pid(PEOPLE.alex),
    pv1({ ward: 'ASH', bed: 'BED05', spell: SPELL, disposition: '1', dischargedTo: '19', admitAt: '20261101091500', dischargeAt: '20261112104500' }),
  ),
  'a04-register': msg(
    msh('A04', 'RXT-PAS-000105', '20261104020500', 'ADT_A01'),
    evn('A04', '20261104020500', '20261104015000'),
    pid(PEOPLE.jo),
    pv1({ cls: 'E', ward: 'CDU', facility: 'RXT01', spell: 'SP26000105' }),
  ),
  'a04-register-outpatient': msg(
    msh('A04', 'RXT-PAS-000106', '20261104100000', 'ADT_A01'),
    evn('A04', '20261104100000'),
    pid(PEOPLE.robin),
    pv1({ cls: 'O', ward: 'CMHT-N', spell: 'OP26000106' }),
  ),
  'a05-preadmit': msg(
    msh('A05', 'RXT-PAS-000107', '20261104121500'),
    evn('A05', '20261104121500', '20261104120000'),
    pid(PEOPLE.jo),
    pv1({ cls: 'P', ward: 'ELM', spell: 'SP26000107' }),
  ),
  'a08-update': msg(
    msh('A08', 'RXT-PAS-000108', '20261105090000', 'ADT_A01'),
    evn('A08', '20261105090000'),
    pid(PEOPLE.alex),
    pv1({ ward: 'PICU1', bed: 'BED02', spell: SPELL }),
  ),
  'a08-update-edd': msg(
    msh('A08', 'RXT-PAS-000109', '20261106160000', 'ADT_A01'),
    evn('A08', '20261106160000'),
    pid(PEOPLE.alex),
    pv1({ ward: 'PICU1', bed: 'BED02', spell: SPELL }),
    pv2('202611201200'),
  ),
  'a11-cancel-admit': msg(
    msh('A11', 'RXT-PAS-000110', '20260702233000', 'ADT_A09'),
    evn('A11', '20260702233000'),
    pid(PEOPLE.sam),
    pv1({ ward: 'OAK', bed: 'BED11', facility: 'RXT02', spell: 'SP26000102' }),
  ),
  'a38-cancel-preadmit': msg(
    msh('A38', 'RXT-PAS-000130', '20261104130000', 'ADT_A38'),
    evn('A38', '20261104130000'),
    pid(PEOPLE.jo),
    pv1({ cls: 'P', ward: 'ELM', spell: 'SP26000107' }),
  ),
  'a12-cancel-transfer': msg(
    msh('A12', 'RXT-PAS-000111', '20261103143000', 'ADT_A09'),
    evn('A12', '20261103143000'),
    pid(PEOPLE.alex),
    pv1({ ward: 'ASH', bed: 'BED03', spell: SPELL }),
  ),
  'a13-cancel-discharge': msg(
    msh('A13', 'RXT-PAS-000112', '20261112113000', 'ADT_A01'),
    evn('A13', '20261112113000'),
    pid(PEOPLE.alex),
    pv1({ ward: 'ASH', bed: 'BED05', spell: SPELL }),
  ),
  'a17-swap': msg(
    msh('A17', 'RXT-PAS-000113', '20261107103000'),
    evn('A17', '20261107103000'),
    pid(PEOPLE.alex, '1'),
    pv1({ ward: 'ASH', bed: 'BED07', spell: SPELL, prior: 'ASH^^BED05^RXT01' }),
    pid(PEOPLE.jo, '2'),
    pv1({ ward: 'ASH', bed: 'BED05', spell: 'SP26000107', prior: 'ASH^^BED07^RXT01' }),
  ),
  'a21-leave-out': msg(
    msh('A21', 'RXT-PAS-000114', '20261108100000', 'ADT_A21'),
    evn('A21', '20261108100000', '20261108093000'),
    pid(PEOPLE.alex),
    pv1({ ward: 'ASH', bed: 'BED07', spell: SPELL }),
    pv2('', '202611081800'),
  ),
  'a22-leave-return': msg(
    msh('A22', 'RXT-PAS-000115', '20261108181500', 'ADT_A21'),
    evn('A22', '20261108181500', '20261108175500'),
    pid(PEOPLE.alex),
    pv1({ ward: 'ASH', bed: 'BED07', spell: SPELL }),
  ),
  'a40-merge': msg(
    msh('A40', 'RXT-PAS-000116', '20261109120000', 'ADT_A39'),
    evn('A40', '20261109120000'),
    pid(PEOPLE.robin),
    seg('MRG', { 1: 'RXT1999999^^^RXT^PI' }),
  ),
  'a52-cancel-leave-out': msg(
    msh('A52', 'RXT-PAS-000117', '20261108101000', 'ADT_A52'),
    evn('A52', '20261108101000'),
    pid(PEOPLE.alex),
    pv1({ ward: 'ASH', bed: 'BED07', spell: SPELL }),
  ),
  'a53-cancel-leave-return': msg(
    msh('A53', 'RXT-PAS-000118', '20261108183000', 'ADT_A52'),
    evn('A53', '20261108183000'),
    pid(PEOPLE.alex),
    pv1({ ward: 'ASH', bed: 'BED07', spell: SPELL }),
  ),
  'a31-update-person': msg(
    msh('A31', 'RXT-PAS-000119', '20261109130000', 'ADT_A05'),
    evn('A31', '20261109130000'),
    pid(PEOPLE.jo),
    pv1({ cls: 'N' }),
  ),
  'oru-r01-result': msg(
    msh('R01', 'RXT-LAB-000120', '20261109131500', 'ORU_R01', 'ORU'),
    pid(PEOPLE.alex),
    seg('OBR', { 1: '1', 4: 'LITH^Lithium level^L' }),
    seg('OBX', { 1: '1', 2: 'NM', 3: 'LITH^Lithium level^L', 5: '0.7', 6: 'mmol/L', 11: 'F' }),
  ),
  'bad-nhs-number': msg(
    msh('A01', 'RXT-PAS-000901', '20261101093012'),
    evn('A01', '20261101093012'),
    pid(PEOPLE.alex, '1', '9434765918'),
    pv1({ ward: 'ASH', bed: 'BED03', spell: SPELL }),
  ),
  'bad-missing-pv1-3': msg(
    msh('A01', 'RXT-PAS-000902', '20261101093012'),
    evn('A01', '20261101093012'),
    pid(PEOPLE.alex),
    pv1({ spell: SPELL }),
  ),
  'bad-missing-pv1-19': msg(
    msh('A03', 'RXT-PAS-000903', '20261112110230'),
    evn('A03', '20261112110230'),
    pid(PEOPLE.alex),
    pv1({ ward: 'ASH', bed: 'BED05' }),
  ),
  'bad-missing-local-id': msg(
    msh('A02', 'RXT-PAS-000904', '20261103141000'),
    evn('A02', '20261103141000'),
    seg('PID', { 1: '1', 3: '9434765919^^^NHS^NH', 5: PEOPLE.alex.name }),
    pv1({ ward: 'PICU1', spell: SPELL }),
  ),
  'bad-event-time': msg(
    msh('A02', 'RXT-PAS-000905', '20261103141000'),
    evn('A02', '20261103141000', '20261399250000'),
    pid(PEOPLE.alex),
    pv1({ ward: 'PICU1', spell: SPELL }),
  ),
  'bad-no-control-id': msg(
    msh('A01', '', '20261101093012'),
    evn('A01', '20261101093012'),
    pid(PEOPLE.alex),
    pv1({ ward: 'ASH', spell: SPELL }),
  ),
  'bad-garbage': 'PID|1||RXT1000001\rthis is not an HL7 message at all\r',
};
