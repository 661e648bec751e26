// Access for the boards: tokens are verified by @pfm/access (the same verifier as every
// other door); this module holds what a verified reader may see and do here. Every check
// fails closed: a ward token sees only the wards it names, a team token only its teams.
import { canSeeSite as siteInScope, requireRole, type Auth, type Claims, type Role } from '@pfm/access';
import type { Alert, Room } from '@pfm/contracts';

export { Auth, AuthError, claimsSchema, ROLES, type Claims, type ClaimsInput } from '@pfm/access';

const broad = (c: Claims) => c.role === 'bed_manager' || c.role === 'ops';

/** Roles the boards serve: an analyst's token opens the insights API only, never a board. */
export const BOARD_ROLES: readonly Role[] = ['bed_manager', 'ward', 'crisis_team', 'ops'];

/** Verifies a reader token and refuses (403) a role the boards do not serve. */
export async function verifyBoardReader(auth: Auth, token: string | undefined): Promise<Claims> {
  const c = await auth.verify(token);
  requireRole(c, BOARD_ROLES, 'The boards');
  return c;
}

/** Fails closed for a role the boards do not serve, whatever sites its token names. */
export const canSeeSite = (c: Claims, site: string): boolean => BOARD_ROLES.includes(c.role) && siteInScope(c, site);

/**
 * The wards of a site this client may see: null = every ward (including wards registered
 * later), otherwise the listed ones. Used to scope what a site room delivers.
 */
export function wardScope(c: Claims): string[] | null {
  return broad(c) || c.role === 'crisis_team' ? null : (c.wards ?? []);
}

export function canSeeWard(c: Claims, site: string, ward: string): boolean {
  return canSeeSite(c, site) && (broad(c) || c.role === 'crisis_team' || !!c.wards?.includes(ward));
}

export function canJoin(c: Claims, room: Room): boolean {
  if (!canSeeSite(c, room.site)) return false;
  switch (room.kind) {
    // Everyone with the site may join its room: what it delivers is cut to the client's
    // ward scope (updates) and alert scope (alerts).
    case 'site': return true;
    case 'ward': return canSeeWard(c, room.site, room.ward);
    case 'team': return broad(c) || !!c.teams?.includes(room.team);
  }
}

export function canSeeAlert(c: Claims, a: Alert): boolean {
  if (!canSeeSite(c, a.site)) return false;
  if (broad(c)) return true;
  if (a.team && c.teams?.includes(a.team)) return true;
  // A crisis team is scoped by team and catchment area, never by every ward of the site.
  if (c.role === 'crisis_team') return !!a.area && !!c.areas?.includes(a.area);
  if (a.team) return false;
  if (a.ward) return !!c.wards?.includes(a.ward);
  // A site-wide alert (neither ward nor team) is for everyone with the site.
  return true;
}

/**
 * Who may acknowledge an alert: the people who own acting on it. A team's alert is its
 * crisis team's (or a bed manager's); a ward's alert is that ward's staff's (or a bed
 * manager's); a site alert is the bed managers'. Ops read alerts but do not own them.
 */
export function canAcknowledge(c: Claims, a: Alert): boolean {
  if (!canSeeSite(c, a.site)) return false;
  if (c.role === 'bed_manager') return true;
  if (a.team) return c.role === 'crisis_team' && !!c.teams?.includes(a.team);
  if (a.ward) return c.role === 'ward' && !!c.wards?.includes(a.ward);
  return false;
}
