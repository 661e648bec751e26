import { Auth, AuthError, canJoin, canSeeAlert, wardScope, type Claims } from './auth';
import { socketRooms, updateRooms } from './rooms';

const SECRET = 'unit-test-secret-unit-test-secret-0123';
const bm: Claims = { sub: 'bm', role: 'bed_manager', sites: ['RXT'] };
const oakOnly: Claims = { sub: 'w', role: 'ward', sites: ['RXT'], wards: ['OAK'] };
const crisis: Claims = { sub: 'c', role: 'crisis_team', sites: ['RXT'], teams: ['CRHT-N'] };

describe('scopes', () => {
  it('every role with the site may join its site room; other sites are refused', () => {
    for (const c of [bm, oakOnly, crisis]) {
      expect(canJoin(c, { kind: 'site', site: 'RXT' })).toBe(true);
      expect(canJoin(c, { kind: 'site', site: 'RYY' })).toBe(false);
    }
  });

  it('a ward-scoped client joins only its wards\' site rooms, so other wards\' updates never reach it', () => {
    expect(wardScope(oakOnly)).toEqual(['OAK']);
    expect(wardScope(bm)).toBeNull();
    expect(wardScope(crisis)).toBeNull();
    const rooms = socketRooms(oakOnly, { kind: 'site', site: 'RXT' });
    expect(rooms).toEqual(['site:RXT', 'site-ward:RXT:OAK']);
    expect(updateRooms('RXT', 'ELM').some((r) => rooms.includes(r))).toBe(false);
    expect(updateRooms('RXT', 'OAK').some((r) => rooms.includes(r))).toBe(true);
    expect(socketRooms(bm, { kind: 'site', site: 'RXT' })).toEqual(['site:RXT', 'site-wards:RXT']);
    expect(socketRooms(bm, { kind: 'ward', site: 'RXT', ward: 'ELM' })).toEqual(['ward:RXT:ELM']);
  });

  it('ward and team rooms follow the scope', () => {
    expect(canJoin(oakOnly, { kind: 'ward', site: 'RXT', ward: 'ELM' })).toBe(false);
    expect(canJoin(oakOnly, { kind: 'ward', site: 'RXT', ward: 'OAK' })).toBe(true);
    expect(canJoin(crisis, { kind: 'team', site: 'RXT', team: 'CRHT-N' })).toBe(true);
    expect(canJoin(crisis, { kind: 'team', site: 'RXT', team: 'CRHT-S' })).toBe(false);
  });

  it('alerts are cut to the scope', () => {
    const base = { alertId: 'a', rule: 'stranded', severity: 'info', threshold: { value: 7, unit: 'days' }, source: 's', message: 'm', site: 'RXT', becameTrueAt: 0, raisedAt: 0 } as const;
    expect(canSeeAlert(oakOnly, { ...base, ward: 'ELM' })).toBe(false);
    expect(canSeeAlert(oakOnly, { ...base, ward: 'OAK' })).toBe(true);
    expect(canSeeAlert(crisis, { ...base, team: 'CRHT-S' })).toBe(false);
    expect(canSeeAlert(bm, { ...base, team: 'CRHT-S' })).toBe(true);
  });

  it('a crisis team sees the alerts of its teams and areas, not every ward\'s', () => {
    const base = { alertId: 'a', rule: 'stranded', severity: 'info', threshold: { value: 7, unit: 'days' }, source: 's', message: 'm', site: 'RXT', becameTrueAt: 0, raisedAt: 0 } as const;
    const north: Claims = { ...crisis, areas: ['NORTH'] };
    expect(canSeeAlert(crisis, { ...base, ward: 'ELM' })).toBe(false);
    expect(canSeeAlert(crisis, { ...base, rule: 'followup_missed', ward: 'ELM', team: 'CRHT-N' })).toBe(true);
    expect(canSeeAlert(north, { ...base, ward: 'ELM', area: 'NORTH' })).toBe(true);
    expect(canSeeAlert(north, { ...base, ward: 'ELM', area: 'SOUTH' })).toBe(false);
  });
});

describe('tokens', () => {
  const auth = new Auth(SECRET);

  it('round-trips the claims and carries the expiry', async () => {
    const c = await auth.verify(await auth.issue(oakOnly));
    expect(c).toMatchObject(oakOnly);
    expect(c.exp).toBeGreaterThan(Date.now() / 1000);
  });

  it('an expired, foreign or missing token is refused with its own code', async () => {
    const codeOf = (p: Promise<unknown>) => p.then(() => 'accepted', (e: unknown) => (e instanceof AuthError ? e.code : String(e)));
    expect(await codeOf(auth.verify(await auth.issue(bm, Math.floor(Date.now() / 1000) - 60)))).toBe('expired_token');
    expect(await codeOf(auth.verify(await new Auth(`${SECRET}-other`).issue(bm)))).toBe('invalid_token');
    expect(await codeOf(auth.verify(undefined))).toBe('missing_token');
  });
});
