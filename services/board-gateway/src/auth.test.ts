import { Auth, AuthError, canAcknowledge, canJoin, canSeeAlert, canSeeWard, verifyBoardReader, wardScope, type Claims } from './auth';
import { socketRooms, updateRooms } from './rooms';

const SECRET = 'unit-test-secret-unit-test-secret-0123';
const exp = Math.floor(Date.now() / 1000) + 600;
const bm: Claims = { sub: 'bm', role: 'bed_manager', sites: ['RXT'], exp };
const oakOnly: Claims = { sub: 'w', role: 'ward', sites: ['RXT'], wards: ['OAK'], exp };
const crisis: Claims = { sub: 'c', role: 'crisis_team', sites: ['RXT'], teams: ['CRHT-N'], exp };

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

describe('fail closed', () => {
  const base = { alertId: 'a', rule: 'stranded', severity: 'info', threshold: { value: 7, unit: 'days' }, source: 's', message: 'm', site: 'RXT', becameTrueAt: 0, raisedAt: 0 } as const;
  // Claims that no verified token can carry (the verifier refuses them), checked here so
  // that the scope rules do not depend on the verifier alone.
  const wardless = { sub: 'w', role: 'ward', sites: ['RXT'], exp } as Claims;

  it('a ward client without wards sees no ward, no ward room, no ward alert', () => {
    expect(wardScope(wardless)).toEqual([]);
    expect(canSeeWard(wardless, 'RXT', 'OAK')).toBe(false);
    expect(canJoin(wardless, { kind: 'ward', site: 'RXT', ward: 'OAK' })).toBe(false);
    expect(canSeeAlert(wardless, { ...base, ward: 'OAK' })).toBe(false);
  });

  it('an analyst token opens no board: no site, room, ward or alert, and the verifier answers 403', async () => {
    const analyst: Claims = { sub: 'a', role: 'analyst', sites: ['RXT'], exp };
    expect(canJoin(analyst, { kind: 'site', site: 'RXT' })).toBe(false);
    expect(canSeeWard(analyst, 'RXT', 'OAK')).toBe(false);
    expect(canSeeAlert(analyst, base)).toBe(false);
    expect(canAcknowledge(analyst, base)).toBe(false);
    const auth = new Auth(SECRET);
    await expect(verifyBoardReader(auth, await auth.issue({ sub: 'a', role: 'analyst', sites: ['RXT'] }))).rejects.toMatchObject({ code: 'forbidden', status: 403 });
    await expect(verifyBoardReader(auth, await auth.issue({ sub: 'bm', role: 'bed_manager', sites: ['RXT'] }))).resolves.toMatchObject({ role: 'bed_manager' });
  });

  it('only the owners of an alert may acknowledge it', () => {
    const ops: Claims = { sub: 'o', role: 'ops', sites: ['RXT'], exp };
    const team = { ...base, team: 'CRHT-N' };
    const ward = { ...base, ward: 'OAK' };
    expect(canAcknowledge(crisis, team)).toBe(true);
    expect(canAcknowledge(crisis, { ...base, team: 'CRHT-S' })).toBe(false);
    expect(canAcknowledge(crisis, ward)).toBe(false);
    // A crisis team sees a ward's alert only about a patient of its catchment area, and does not own it.
    expect(canSeeAlert(crisis, ward)).toBe(false);
    expect(canSeeAlert({ ...crisis, areas: ['NORTH'] }, { ...ward, area: 'NORTH' })).toBe(true);
    expect(canAcknowledge({ ...crisis, areas: ['NORTH'] }, { ...ward, area: 'NORTH' })).toBe(false);
    expect(canAcknowledge(oakOnly, ward)).toBe(true);
    expect(canAcknowledge(oakOnly, { ...base, ward: 'ELM' })).toBe(false);
    expect(canAcknowledge(oakOnly, team)).toBe(false);
    expect(canAcknowledge(bm, team)).toBe(true);
    expect(canAcknowledge(bm, { ...base, site: 'RYY' })).toBe(false);
    expect(canAcknowledge(ops, ward)).toBe(false); // ops read alerts, they do not own them
    expect(canSeeAlert(ops, ward)).toBe(true);
  });
});

describe('tokens', () => {
  const auth = new Auth(SECRET);

  it('round-trips the claims and carries the expiry', async () => {
    const { exp: _exp, ...claims } = oakOnly;
    const c = await auth.verify(await auth.issue(claims));
    expect(c).toMatchObject(claims);
    expect(c.exp).toBeGreaterThan(Date.now() / 1000);
  });

  it('an expired, foreign or missing token is refused with its own code', async () => {
    const codeOf = (p: Promise<unknown>) => p.then(() => 'accepted', (e: unknown) => (e instanceof AuthError ? e.code : String(e)));
    expect(await codeOf(auth.verify(await auth.issue(bm, Math.floor(Date.now() / 1000) - 60)))).toBe('expired_token');
    expect(await codeOf(auth.verify(await new Auth(`${SECRET}-other`).issue(bm)))).toBe('invalid_token');
    expect(await codeOf(auth.verify(undefined))).toBe('missing_token');
  });
});
