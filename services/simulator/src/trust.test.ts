import { readFileSync } from 'node:fs';
import { wardSchema } from '@pfm/contracts';
import { defaultTrust, makeTrust, settingsOf, validateTrust, wardsOf } from './trust';
import { TRUST_JSON_PATH, trustJson } from './write-config';

describe('default trust', () => {
  it('config/trust.json is the ward registry of the default trust (regenerate with write-config)', () => {
    expect(readFileSync(TRUST_JSON_PATH, 'utf8')).toBe(trustJson());
    const parsed: unknown = JSON.parse(readFileSync(TRUST_JSON_PATH, 'utf8'));
    expect(Array.isArray(parsed)).toBe(true);
    for (const w of parsed as unknown[]) expect(wardSchema.safeParse(w).success).toBe(true);
  });

  it('has one site, 2-3 hospitals and ~10 wards with realistic bed counts', () => {
    const wards = wardsOf(defaultTrust).filter((w) => !w.external);
    expect(new Set(wards.map((w) => w.site))).toEqual(new Set(['RXT']));
    expect(new Set(wards.map((w) => w.hospital)).size).toBeGreaterThanOrEqual(2);
    expect(new Set(wards.map((w) => w.hospital)).size).toBeLessThanOrEqual(3);
    expect(wards.length).toBeGreaterThanOrEqual(9);
    expect(wards.length).toBeLessThanOrEqual(12);
    const ranges = { adult_acute: [18, 22], older_adult_acute: [16, 20], picu: [10, 12], rehab: [14, 14] } as const;
    for (const w of wards) {
      const range = ranges[w.type as keyof typeof ranges];
      expect(range).toBeDefined();
      expect(w.beds).toBeGreaterThanOrEqual(range[0]);
      expect(w.beds).toBeLessThanOrEqual(range[1]);
    }
    for (const type of Object.keys(ranges)) expect(wards.some((w) => w.type === type)).toBe(true);
  });

  it('registers its out-of-area units as external, with no local beds', () => {
    const external = wardsOf(defaultTrust).filter((w) => w.external);
    expect(external.map((w) => w.code).sort()).toEqual(defaultTrust.oapUnits.map((u) => u.code).sort());
    for (const w of external) expect(w.beds).toBe(0);
  });

  it('routes each catchment area\'s follow-ups to its crisis team', () => {
    expect(settingsOf(defaultTrust).teamsByArea).toEqual({ NORTH: 'CRISIS-NORTH', SOUTH: 'CRISIS-SOUTH', CITY: 'CRISIS-CITY' });
  });

  it('has crisis, A&E liaison and home-treatment teams', () => {
    const types = new Set(defaultTrust.teams.map((t) => t.type));
    for (const t of ['crisis', 'liaison', 'home_treatment', 'community'] as const) expect(types.has(t)).toBe(true);
  });

  it('builds a valid trust for any organisation code and rejects a broken one with every problem', () => {
    expect(() => validateTrust(makeTrust('SIM07'))).not.toThrow();
    const broken = makeTrust('RXT');
    broken.wards.push({ ...(broken.wards[0] as (typeof broken.wards)[number]), site: 'XYZ' });
    broken.nhsNumberPrefix = '12';
    expect(() => validateTrust(broken)).toThrow(/site XYZ[\s\S]*duplicate code[\s\S]*nhsNumberPrefix/);
  });
});
