import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair } from 'jose';
import { authFromSettings, type AccessSettings } from './tokens';

const base: AccessSettings = { PFM_ENV: 'development', PFM_JWT_ISSUER: 'pfm', PFM_JWT_AUDIENCE: 'pfm', PFM_JWT_MAX_AGE_SECONDS: 3600, PFM_JWT_CLOCK_TOLERANCE_SECONDS: 30 };
const SECRET = 'a-demo-secret-a-demo-secret-0123456789';

describe('authFromSettings: closed by default', () => {
  it('no keys at all: refused in every mode (never a random secret)', () => {
    expect(() => authFromSettings(base)).toThrow(/no token keys/);
    expect(() => authFromSettings({ ...base, PFM_ENV: 'production' })).toThrow(/PFM_JWKS_FILE or PFM_JWKS_URL/);
  });
  it('production refuses a shared HS256 secret and a plain-http JWKS URL', () => {
    expect(() => authFromSettings({ ...base, PFM_ENV: 'production', PFM_JWT_SECRET: SECRET })).toThrow(/demo only/);
    expect(() => authFromSettings({ ...base, PFM_ENV: 'production', PFM_JWKS_URL: 'http://idp.example/jwks' })).toThrow(/https/);
  });
  it('development takes the demo secret; production takes a JWKS file of public keys with kids', async () => {
    expect(authFromSettings({ ...base, PFM_JWT_SECRET: SECRET }).policy.maxAgeSeconds).toBe(3600);
    const { publicKey, privateKey } = await generateKeyPair('ES256');
    const dir = mkdtempSync(join(tmpdir(), 'pfm-jwks-'));
    const good = join(dir, 'jwks.json');
    writeFileSync(good, JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256' }] }));
    expect(authFromSettings({ ...base, PFM_ENV: 'production', PFM_JWKS_FILE: good })).toBeDefined();
    const priv = join(dir, 'private.json');
    writeFileSync(priv, JSON.stringify({ keys: [{ ...(await exportJWK(privateKey)), kid: 'k1' }] }));
    expect(() => authFromSettings({ ...base, PFM_ENV: 'production', PFM_JWKS_FILE: priv })).toThrow(/private/);
    const noKid = join(dir, 'nokid.json');
    writeFileSync(noKid, JSON.stringify({ keys: [await exportJWK(publicKey)] }));
    expect(() => authFromSettings({ ...base, PFM_ENV: 'production', PFM_JWKS_FILE: noKid })).toThrow(/kid/);
  });
});
