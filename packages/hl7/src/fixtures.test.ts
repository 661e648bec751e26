// The .hl7 files are what src/testing/fixtures.ts says, and each one maps as documented.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { mapAdt } from './map-adt';
import { MAPPED_TRIGGERS } from './map-adt';
import { FIXTURES } from './testing/fixtures';

const dir = join(__dirname, '..', 'fixtures');
const files = readdirSync(dir).filter((f) => f.endsWith('.hl7')).sort();

const EXPECTED: Record<string, string> = {
  'a01-admit': 'AA patient.admitted',
  'a01-admit-bst': 'AA patient.admitted',
  'a02-transfer': 'AA patient.transferred',
  'a03-discharge': 'AA patient.discharged',
  'a04-register': 'AA admission.decided',
  'a04-register-outpatient': 'AA message.unmapped',
  'a05-preadmit': 'AA admission.decided',
  'a08-update': 'AA patient.updated',
  'a08-update-edd': 'AA patient.updated edd.set',
  'a11-cancel-admit': 'AA admission.cancelled',
  'a38-cancel-preadmit': 'AA admission.cancelled',
  'a12-cancel-transfer': 'AA transfer.cancelled',
  'a13-cancel-discharge': 'AA discharge.cancelled',
  'a17-swap': 'AA patient.transferred patient.transferred',
  'a21-leave-out': 'AA leave.started',
  'a22-leave-return': 'AA leave.ended',
  'a31-update-person': 'AA message.unmapped',
  'a40-merge': 'AA patient.merged',
  'a52-cancel-leave-out': 'AA leave.cancelled',
  'a53-cancel-leave-return': 'AA leave.cancelled',
  'oru-r01-result': 'AA message.unmapped',
  'bad-nhs-number': 'AE PID-3',
  'bad-missing-pv1-3': 'AE PV1-3',
  'bad-missing-pv1-19': 'AE PV1-19',
  'bad-missing-local-id': 'AE PID-3',
  'bad-event-time': 'AE EVN-6',
  'bad-no-control-id': 'AR MSH-10',
  'bad-garbage': 'AR MSH',
};

describe('fixtures', () => {
  it('on disk match src/testing/fixtures.ts (regenerate with write-fixtures.ts)', () => {
    expect(files).toEqual(Object.keys(FIXTURES).map((n) => `${n}.hl7`).sort());
    for (const f of files) expect(readFileSync(join(dir, f), 'utf8')).toBe(FIXTURES[f.slice(0, -4)]);
  });
  it('use CR segment separators only', () => {
    for (const f of files) expect(readFileSync(join(dir, f), 'utf8')).not.toContain('\n');
  });
  it('cover every mapped trigger', () => {
    const covered = new Set(files.map((f) => /^a(\d\d)-/.exec(f)?.[1]).filter(Boolean).map((n) => `A${n}`));
    for (const t of MAPPED_TRIGGERS) expect(covered).toContain(t);
  });
  it.each(files)('%s maps as documented', (f) => {
    const r = mapAdt(readFileSync(join(dir, f), 'utf8'), { defaultSite: 'RXT', siteForFacility: (x) => (x.startsWith('RXT') ? 'RXT' : undefined) });
    const got = r.ok ? `AA ${r.events.map((e) => e.type).join(' ')}` : `${r.ack} ${r.errors.map((e) => e.path).join(' ')}`;
    expect(got).toBe(EXPECTED[f.slice(0, -4)]);
  });
});
