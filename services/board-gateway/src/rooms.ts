// socket.io room names: which rooms a client's room stands for, and which rooms a
// board update goes to.
import type { Room } from '@pfm/contracts';
import { wardScope, type Claims } from './auth';

export const roomName = (r: Room): string => (r.kind === 'site' ? `site:${r.site}` : r.kind === 'ward' ? `ward:${r.site}:${r.ward}` : `team:${r.site}:${r.team}`);

/**
 * The socket.io rooms behind one client room. A site room is three kinds of room: every
 * member is in `site:S` (alerts, filtered per client), members who may see every ward are
 * in `site-wards:S` (all board updates), and members limited to some wards are in
 * `site-ward:S:W` for each of their wards only, so a ward-scoped client never receives
 * another ward's figures.
 */
export function socketRooms(c: Claims, r: Room): string[] {
  if (r.kind !== 'site') return [roomName(r)];
  const scope = wardScope(c);
  return [roomName(r), ...(scope === null ? [`site-wards:${r.site}`] : scope.map((w) => `site-ward:${r.site}:${w}`))];
}

/** Rooms that receive a ward's board update. */
export const updateRooms = (site: string, ward: string): string[] => [`site-wards:${site}`, `site-ward:${site}:${ward}`, `ward:${site}:${ward}`];
