// Access: signed tokens (JWT, HS256 here; a trust's identity provider would issue them,
// see the README) carrying a role and a scope. A client sees only its scope.
import { jwtVerify, SignJWT, errors } from 'jose';
import { z } from 'zod';
import type { Alert, Room } from '@pfm/contracts';

export const ROLES = ['bed_manager', 'ward', 'crisis_team', 'ops'] as const;

export const claimsSchema = z.object({
  sub: z.string().min(1),
  role: z.enum(ROLES),
  sites: z.array(z.string()).min(1),
  wards: z.array(z.string()).optional(),
  teams: z.array(z.string()).optional(),
  /** Catchment areas (crisis teams): alerts about patients of these areas. */
  areas: z.array(z.string()).optional(),
  /** Expiry (epoch seconds) from the token; the gateway closes live connections when it passes. */
  exp: z.number().optional(),
});
export type Claims = z.infer<typeof claimsSchema>;

export class AuthError extends Error {
  constructor(readonly code: 'missing_token' | 'invalid_token' | 'expired_token' | 'forbidden', message: string) { super(message); }
}

export class Auth {
  private readonly key: Uint8Array;
  constructor(secret: string) {
    if (secret.length < 32) throw new Error('PFM_JWT_SECRET must be at least 32 characters');
    this.key = new TextEncoder().encode(secret);
  }

  async issue(claims: Claims, ttl: string | number = '12h'): Promise<string> {
    const { sub, exp: _exp, ...rest } = claims;
    return new SignJWT(rest).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setIssuedAt().setIssuer('pfm').setExpirationTime(ttl).sign(this.key);
  }

  async verify(token: string | undefined): Promise<Claims> {
    if (!token) throw new AuthError('missing_token', 'No access token: open the board with a link that carries a token.');
    try {
      const { payload } = await jwtVerify(token, this.key, { issuer: 'pfm', algorithms: ['HS256'] });
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

const broad = (c: Claims) => c.role === 'bed_manager' || c.role === 'ops';

export function canSeeSite(c: Claims, site: string): boolean { return c.sites.includes(site); }

/**
 * The wards of a site this client may see: null = every ward (including wards registered
 * later), otherwise the listed ones. Used to scope what a site room delivers.
 */
export function wardScope(c: Claims): string[] | null {
  return broad(c) || c.role === 'crisis_team' || !c.wards ? null : c.wards;
}

export function canJoin(c: Claims, room: Room): boolean {
  if (!canSeeSite(c, room.site)) return false;
  switch (room.kind) {
    // Everyone with the site may join its room: what it delivers is cut to the client's
    // ward scope (updates) and alert scope (alerts).
    case 'site': return true;
    case 'ward': return broad(c) || !c.wards || c.wards.includes(room.ward);
    case 'team': return broad(c) || !!c.teams?.includes(room.team);
  }
}

export function canSeeWard(c: Claims, site: string, ward: string): boolean {
  return canSeeSite(c, site) && (broad(c) || c.role === 'crisis_team' || !c.wards || c.wards.includes(ward));
}

export function canSeeAlert(c: Claims, a: Alert): boolean {
  if (!canSeeSite(c, a.site)) return false;
  if (broad(c)) return true;
  if (a.team && c.teams?.includes(a.team)) return true;
  // A crisis team is scoped by team and catchment area, never by every ward of the site.
  if (c.role === 'crisis_team') return !!a.area && !!c.areas?.includes(a.area);
  if (a.team) return false;
  if (a.ward) return !c.wards || c.wards.includes(a.ward);
  return true;
}
