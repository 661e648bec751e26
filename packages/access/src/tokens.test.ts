import { exportJWK, generateKeyPair, SignJWT, UnsecuredJWT, type JWK } from 'jose';
import fc from 'fast-check';
import { Auth, AuthError, type ClaimsInput } from './tokens';

const SECRET = 'unit-test-secret-unit-test-secret-0123';
const bm: ClaimsInput = { sub: 'bm', role: 'bed_manager', sites: ['RXT'] };
const now = () => Math.floor(Date.now() / 1000);
const codeOf = (p: Promise<unknown>) => p.then(() => 'accepted', (e: unknown) => (e instanceof AuthError ? e.code : `other: ${String(e)}`));
const hs = (secret = SECRET) => new TextEncoder().encode(secret);
/** A token signed with the demo secret, with the claims and header given (nothing added). */
const raw = (payload: Record<string, unknown>, alg = 'HS256') => new SignJWT(payload).setProtectedHeader({ alg }).sign(hs());
const good = () => ({ sub: 'bm', role: 'bed_manager', sites: ['RXT'], iss: 'pfm', aud: 'pfm', iat: now(), exp: now() + 600 });

describe('HS256 (demo) tokens', () => {
  const auth = new Auth(SECRET);

  it('round-trips the claims', async () => {
    const c = await auth.verify(await auth.issue(bm));
    expect(c).toMatchObject(bm);
    expect(c.exp).toBeGreaterThan(now());
  });

  it('a well-formed token with every required claim is accepted (the baseline the refusals below differ from)', async () => {
    expect(await codeOf(auth.verify(await raw(good())))).toBe('accepted');
  });

  it.each([
    ['no exp', { exp: undefined }],
    ['no iat', { iat: undefined }],
    ['no aud', { aud: undefined }],
    ['wrong aud', { aud: 'another-product' }],
    ['wrong iss', { iss: 'someone' }],
    ['not yet valid (nbf in an hour)', { nbf: now() + 3600 }],
    ['a ward token without wards', { role: 'ward', wards: undefined }],
    ['a ward token with an empty ward list', { role: 'ward', wards: [] }],
    ['a crisis-team token without teams', { role: 'crisis_team' }],
    ['an unknown role', { role: 'admin' }],
    ['no sites', { sites: [] }],
  ])('%s is refused', async (_what, over) => {
    const payload: Record<string, unknown> = { ...good(), ...over };
    for (const k of Object.keys(payload)) if (payload[k] === undefined) delete payload[k];
    expect(await codeOf(auth.verify(await raw(payload)))).toBe('invalid_token');
  });

  it('an expired token is refused as expired; a missing one as missing', async () => {
    expect(await codeOf(auth.verify(await raw({ ...good(), iat: now() - 120, exp: now() - 60 })))).toBe('expired_token');
    // Older than the maximum age (12 h by default) is expired whatever exp says.
    expect(await codeOf(auth.verify(await raw({ ...good(), iat: now() - 13 * 3600, exp: now() + 3600 })))).toBe('expired_token');
    expect(await codeOf(auth.verify(undefined))).toBe('missing_token');
  });

  it('alg none and a token signed with another secret are refused', async () => {
    const unsigned = new UnsecuredJWT(good()).encode();
    expect(await codeOf(auth.verify(unsigned))).toBe('invalid_token');
    expect(await codeOf(auth.verify(await new Auth(`${SECRET}-other`).issue(bm)))).toBe('invalid_token');
    expect(await codeOf(auth.verify(await raw(good(), 'HS512')))).toBe('invalid_token');
  });

  it('a signature spelled another way (the same bytes, other unused bits in its last character) is refused', async () => {
    const token = await auth.issue(bm);
    const [h, p, sig] = token.split('.') as [string, string, string];
    const bytes = Buffer.from(sig, 'base64url');
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const twins = [...alphabet].map((c) => sig.slice(0, -1) + c).filter((s) => s !== sig && Buffer.from(s, 'base64url').equals(bytes));
    expect(twins.length).toBe(3); // 32 bytes in 43 characters: the last one's 2 low bits are unused
    for (const twin of twins) expect(await codeOf(auth.verify(`${h}.${p}.${twin}`))).toBe('invalid_token');
    expect((await auth.verify(token)).sub).toBe(bm.sub);
  });

  it('fuzz: arbitrary strings and mangled tokens never verify and never throw anything but AuthError', async () => {
    const token = await auth.issue(bm);
    await fc.assert(fc.asyncProperty(fc.oneof(
      fc.string({ maxLength: 400 }),
      fc.tuple(fc.nat({ max: token.length - 1 }), fc.string({ minLength: 1, maxLength: 3 })).map(([i, s]) => token.slice(0, i) + s + token.slice(i + s.length)).filter((t) => t !== token),
      fc.array(fc.base64String({ maxLength: 60 }), { minLength: 3, maxLength: 3 }).map((p) => p.join('.')),
    ), async (t) => {
      const code = await codeOf(auth.verify(t));
      expect(['invalid_token', 'missing_token', 'expired_token']).toContain(code);
    }), { numRuns: 300 });
  }, 60000);
});

describe('asymmetric keys from a JWKS with kid rotation', () => {
  it('ES256 and RS256 tokens verify by kid; an HS256 token signed with the public key is refused (algorithm confusion)', async () => {
    const ec = await generateKeyPair('ES256');
    const rsa = await generateKeyPair('RS256');
    const ecPub: JWK = { ...(await exportJWK(ec.publicKey)), kid: 'k-2026-1', alg: 'ES256', use: 'sig' };
    const rsaPub: JWK = { ...(await exportJWK(rsa.publicKey)), kid: 'k-2026-2', alg: 'RS256', use: 'sig' };
    const verifier = new Auth({ kind: 'jwks', jwks: { keys: [ecPub, rsaPub] } });
    const es = new Auth({ kind: 'jwks', jwks: { keys: [ecPub] }, signingKey: { key: ec.privateKey, kid: 'k-2026-1', alg: 'ES256' } });
    const rs = new Auth({ kind: 'jwks', jwks: { keys: [rsaPub] }, signingKey: { key: rsa.privateKey, kid: 'k-2026-2', alg: 'RS256' } });
    expect(await codeOf(verifier.verify(await es.issue(bm)))).toBe('accepted');
    expect(await codeOf(verifier.verify(await rs.issue(bm)))).toBe('accepted');

    // The classic confusion: HS256 with the RSA public key's bytes as the "secret".
    const pubBytes = new TextEncoder().encode(JSON.stringify(rsaPub));
    const confused = await new SignJWT(good()).setProtectedHeader({ alg: 'HS256', kid: 'k-2026-2' }).sign(pubBytes);
    expect(await codeOf(verifier.verify(confused))).toBe('invalid_token');
    // A key that was rotated out (kid no longer published) no longer verifies.
    const retired = new Auth({ kind: 'jwks', jwks: { keys: [rsaPub] } });
    expect(await codeOf(retired.verify(await es.issue(bm)))).toBe('invalid_token');
    // And an HS256 demo token means nothing to a JWKS verifier.
    expect(await codeOf(verifier.verify(await new Auth(SECRET).issue(bm)))).toBe('invalid_token');
  });
});
