// Reader access tokens (JWT): who is asking, in which role, with which site / ward / team
// scope. One verifier for every door that serves people (board-gateway REST and sockets,
// ingest's rejects and re-drive, the replay API), so the rules cannot drift apart.
//
// Keys: asymmetric (ES256 or RS256) from a JWKS file or URL, chosen by the token's `kid`
// (rotation = publish the new key next to the old one); HS256 with a shared secret only
// for the demo and tests. Every token must carry exp, iat, aud and iss; tokens older than
// maxAgeSeconds are refused whatever their exp says; clocks may differ by
// clockToleranceSeconds. `alg: none` and algorithm confusion (an HS256 token signed with a
// public key) are refused because the algorithms accepted are fixed by the key source.
import { readFileSync } from 'node:fs';
import { createLocalJWKSet, createRemoteJWKSet, errors, jwtVerify, SignJWT, type JSONWebKeySet, type JWTVerifyGetKey, type KeyLike } from 'jose';
import { z } from 'zod';

// analyst: reads the insights warehouse (pseudonymous keys only, never direct identifiers),
// scoped by site; no board, alert, reject or replay door lets an analyst in.
export const ROLES = ['bed_manager', 'ward', 'crisis_team', 'ops', 'analyst'] as const;
export type Role = (typeof ROLES)[number];

const scopeList = z.array(z.string().min(1).max(32)).max(500);

export const claimsSchema = z.object({
  sub: z.string().min(1).max(80),
  role: z.enum(ROLES),
  sites: z.array(z.string().min(1).max(16)).min(1).max(100),
  wards: scopeList.optional(),
  teams: scopeList.optional(),
  /** Catchment areas (crisis teams): alerts about patients of these areas. */
  areas: scopeList.optional(),
  /** Expiry (epoch seconds); the gateway closes live connections when it passes. */
  exp: z.number(),
}).superRefine((c, ctx) => {
  // Fail closed: a ward token that names no ward would otherwise read as "every ward".
  if (c.role === 'ward' && !c.wards?.length) ctx.addIssue({ code: 'custom', path: ['wards'], message: 'a ward token must name its wards' });
  if (c.role === 'crisis_team' && !c.teams?.length) ctx.addIssue({ code: 'custom', path: ['teams'], message: 'a crisis-team token must name its teams' });
});
export type Claims = z.infer<typeof claimsSchema>;
/** What an issuer puts in a token (exp is set from the lifetime). */
export type ClaimsInput = Omit<Claims, 'exp'> & { exp?: number };

export type AuthErrorCode = 'missing_token' | 'invalid_token' | 'expired_token' | 'forbidden';
export class AuthError extends Error {
  constructor(readonly code: AuthErrorCode, message: string) { super(message); }
  get status(): 401 | 403 { return this.code === 'forbidden' ? 403 : 401; }
}

export interface TokenPolicy {
  /** `iss` every token must carry. */
  issuer: string;
  /** `aud` every token must carry. */
  audience: string;
  /** Oldest accepted token, by `iat`, in seconds. */
  maxAgeSeconds: number;
  clockToleranceSeconds: number;
}
export const DEFAULT_POLICY: TokenPolicy = { issuer: 'pfm', audience: 'pfm', maxAgeSeconds: 12 * 3600, clockToleranceSeconds: 30 };

export type KeySource =
  | { kind: 'hs256'; secret: string }
  | { kind: 'jwks'; jwks: JSONWebKeySet; signingKey?: { key: KeyLike; kid: string; alg: 'ES256' | 'RS256' } }
  | { kind: 'jwks-url'; url: string };

export const ASYMMETRIC_ALGS = ['ES256', 'RS256'];

export class Auth {
  private readonly key: Uint8Array | JWTVerifyGetKey;
  private readonly algorithms: string[];
  readonly policy: TokenPolicy;

  /** `new Auth(secret)` is the demo's HS256; pass a KeySource for asymmetric keys. */
  constructor(private readonly source: string | KeySource, policy: Partial<TokenPolicy> = {}) {
    this.policy = { ...DEFAULT_POLICY, ...policy };
    const s: KeySource = typeof source === 'string' ? { kind: 'hs256', secret: source } : source;
    if (s.kind === 'hs256') {
      if (s.secret.length < 32) throw new Error('the token secret (PFM_JWT_SECRET) must be at least 32 characters');
      this.key = new TextEncoder().encode(s.secret);
      this.algorithms = ['HS256'];
    } else {
      this.key = s.kind === 'jwks' ? createLocalJWKSet(s.jwks) : createRemoteJWKSet(new URL(s.url));
      this.algorithms = ASYMMETRIC_ALGS;
    }
  }

  /** Verification keys from a JWKS file (JSON `{ "keys": [...] }`); private members are refused. */
  static jwksFile(path: string, policy: Partial<TokenPolicy> = {}): Auth {
    const jwks = JSON.parse(readFileSync(path, 'utf8')) as JSONWebKeySet;
    if (!Array.isArray(jwks.keys) || jwks.keys.length === 0) throw new Error(`${path}: no keys`);
    for (const k of jwks.keys) {
      if (!k.kid) throw new Error(`${path}: every key needs a kid (rotation picks keys by kid)`);
      if ('d' in k) throw new Error(`${path}: key ${k.kid} holds a private part; publish public keys only`);
    }
    return new Auth({ kind: 'jwks', jwks }, policy);
  }

  /** Issues a token (demo, tests): needs an HS256 secret or a private signing key. */
  async issue(claims: ClaimsInput, ttl: string | number = '12h'): Promise<string> {
    const { sub, exp: _exp, ...rest } = claims;
    const s = typeof this.source === 'string' ? { kind: 'hs256' as const, secret: this.source } : this.source;
    const jwt = new SignJWT(rest).setSubject(sub).setIssuedAt().setIssuer(this.policy.issuer).setAudience(this.policy.audience).setExpirationTime(ttl);
    if (s.kind === 'hs256') return jwt.setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(s.secret));
    if (s.kind === 'jwks' && s.signingKey) return jwt.setProtectedHeader({ alg: s.signingKey.alg, kid: s.signingKey.kid }).sign(s.signingKey.key);
    throw new Error('this verifier holds no signing key: tokens come from the identity provider');
  }

  async verify(token: string | undefined): Promise<Claims> {
    if (!token) throw new AuthError('missing_token', 'No access token: open the board with a link that carries a token.');
    if (token.length > 8192 || !canonicalCompact(token)) throw new AuthError('invalid_token', 'The access token is not valid.');
    try {
      const { payload } = await jwtVerify(token, this.key as Uint8Array, {
        issuer: this.policy.issuer, audience: this.policy.audience, algorithms: this.algorithms,
        requiredClaims: ['exp', 'iat', 'sub'], maxTokenAge: this.policy.maxAgeSeconds, clockTolerance: this.policy.clockToleranceSeconds,
      });
      const parsed = claimsSchema.safeParse(payload);
      if (!parsed.success) throw new AuthError('invalid_token', 'The access token lacks a role or scope.');
      return parsed.data;
    } catch (e) {
      if (e instanceof AuthError) throw e;
      if (e instanceof errors.JWTExpired) throw new AuthError('expired_token', 'The access token has expired: ask for a new board link.');
      throw new AuthError('invalid_token', 'The access token is not valid.');
    }
  }
}

/**
 * Three base64url segments, each in its one canonical spelling. Base64url leaves a few bits of
 * a segment's last character unused, so several strings decode to the same signature; the
 * JWT library accepts them all. Only the spelling the signer wrote is accepted here, so a
 * token has one string (what an audit record or a revocation list names is the token).
 */
function canonicalCompact(token: string): boolean {
  const parts = token.split('.');
  return parts.length === 3 && parts.every((p) => /^[A-Za-z0-9_-]+$/.test(p) && Buffer.from(p, 'base64url').toString('base64url') === p);
}

/** Throws `forbidden` unless the claims carry one of the roles. */
export function requireRole(c: Claims, roles: readonly Role[], what: string): void {
  if (!roles.includes(c.role)) throw new AuthError('forbidden', `${what} is for ${roles.join(' / ')} only.`);
}

/** The token from an `Authorization: Bearer <token>` header. */
export function bearer(h: string | string[] | undefined): string | undefined {
  const v = Array.isArray(h) ? h[0] : h;
  return v?.startsWith('Bearer ') ? v.slice(7).trim() || undefined : undefined;
}

export interface AccessSettings {
  PFM_ENV: 'development' | 'production';
  PFM_JWT_SECRET?: string | undefined;
  PFM_JWKS_FILE?: string | undefined;
  PFM_JWKS_URL?: string | undefined;
  PFM_JWT_ISSUER: string;
  PFM_JWT_AUDIENCE: string;
  PFM_JWT_MAX_AGE_SECONDS: number;
  PFM_JWT_CLOCK_TOLERANCE_SECONDS: number;
}

/**
 * The verifier the settings describe (see @pfm/config accessEnv). Refuses to build one
 * that would accept tokens nobody can check: no key at all, or (in production) a shared
 * HS256 secret instead of the identity provider's public keys.
 */
export function authFromSettings(s: AccessSettings): Auth {
  const policy: TokenPolicy = { issuer: s.PFM_JWT_ISSUER, audience: s.PFM_JWT_AUDIENCE, maxAgeSeconds: s.PFM_JWT_MAX_AGE_SECONDS, clockToleranceSeconds: s.PFM_JWT_CLOCK_TOLERANCE_SECONDS };
  if (s.PFM_JWKS_FILE) return Auth.jwksFile(s.PFM_JWKS_FILE, policy);
  if (s.PFM_JWKS_URL) {
    if (s.PFM_ENV === 'production' && !s.PFM_JWKS_URL.startsWith('https://')) throw new Error('PFM_JWKS_URL must be https in production');
    return new Auth({ kind: 'jwks-url', url: s.PFM_JWKS_URL }, policy);
  }
  if (s.PFM_ENV === 'production') throw new Error('production (PFM_ENV=production) needs the identity provider\'s keys: set PFM_JWKS_FILE or PFM_JWKS_URL (HS256 secrets are for the demo only)');
  if (!s.PFM_JWT_SECRET) throw new Error('no token keys: set PFM_JWKS_FILE or PFM_JWKS_URL (or PFM_JWT_SECRET, 32+ characters, for the demo)');
  return new Auth(s.PFM_JWT_SECRET, policy);
}

export function canSeeSite(c: Claims, site: string): boolean { return c.sites.includes(site); }
