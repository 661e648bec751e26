// Every read of patient data on the gateway is audited: the REST reads and the room joins
// of a verified reader, refusals included (who, role, what, where, when, the answer).
// The gateway in-process on a loopback port over the real Redis (its own key prefix).
import { connect } from 'node:net';
import type Redis from 'ioredis';
import { io, type Socket } from 'socket.io-client';
import type { ClientToServerEvents, Room, ServerToClientEvents } from '@pfm/contracts';
import { waitFor } from '@pfm/testkit';
import { Auth, type Claims } from './auth';
import type { GatewayAuditEntry } from './gateway';
import { startGatewayProcess, type GatewayProcess } from './testing/gateway-process';

const SECRET = 'gateway-audit-secret-gateway-audit-secret';

describe('gateway doors: audit of patient-data reads, slow clients, rate limit', () => {
  const auth = new Auth(SECRET);
  let gw: GatewayProcess | undefined;
  let base: string;
  let redis: Redis;
  /** The audit lines the gateway has logged so far (its default audit sink). */
  const audited = (): GatewayAuditEntry[] => gw!.gateway.logs.flatMap((l) => {
    try { const j = JSON.parse(l) as { msg?: string; audit?: GatewayAuditEntry }; return j.msg === 'audit' && j.audit ? [j.audit] : []; } catch { return []; }
  });

  beforeAll(async () => {
    gw = await startGatewayProcess('opssec-audit', SECRET, { PFM_GATEWAY_RATE_LIMIT_PER_MINUTE: '40', PFM_GATEWAY_IDLE_TIMEOUT_MS: '1500' });
    ({ base, redis } = gw);
  });
  afterAll(async () => { await gw?.stop(); });

  const token = (c: Partial<Claims> = {}) => auth.issue({ sub: 'nurse.jones', role: 'ward', sites: ['RXT'], wards: ['OAK'], ...c });
  const get = async (path: string, tok?: string) => (await fetch(`${base}${path}`, tok ? { headers: { authorization: `Bearer ${tok}` } } : {})).status;

  it('each REST read by a verified reader is one audit line, refusals included; no line without a verified reader', async () => {
    const before = audited().length;
    const tok = await token();
    expect(await get('/api/v1/wards/OAK?site=RXT', tok)).toBe(200);
    expect(await get('/api/v1/patients?site=RXT', tok)).toBe(200);
    expect(await get('/api/v1/patients/P123/timeline?site=RXT', tok)).toBe(404);
    expect(await get('/api/v1/alerts?site=RXT', tok)).toBe(200);
    expect(await get('/api/v1/followups?site=RXT', tok)).toBe(200);
    expect(await get('/api/v1/site?site=RXT', tok)).toBe(200);
    expect(await get('/api/v1/wards/ELM?site=RXT', tok)).toBe(403);
    expect(await get('/api/v1/patients?site=RYY', tok)).toBe(403);
    expect(await get('/api/v1/patients?site=RXT')).toBe(401);
    expect(await get('/healthz')).toBe(200);
    const line = (action: string, status: number, extra: Partial<GatewayAuditEntry> = {}) =>
      ({ at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/), who: 'nurse.jones', role: 'ward', action, site: 'RXT', status, ...extra });
    const entries = await waitFor(() => (audited().length >= before + 8 ? audited().slice(before) : undefined), { what: 'eight audit lines' });
    expect(entries).toEqual([
      line('GET /api/v1/wards/:ward', 200, { ward: 'OAK' }),
      line('GET /api/v1/patients', 200),
      line('GET /api/v1/patients/:patientId/timeline', 404, { patientId: 'P123' }),
      line('GET /api/v1/alerts', 200),
      line('GET /api/v1/followups', 200),
      line('GET /api/v1/site', 200),
      line('GET /api/v1/wards/:ward', 403, { ward: 'ELM' }),
      line('GET /api/v1/patients', 403, { site: 'RYY' }),
    ]);
  });

  it('each room join is audited with its room and whether it was allowed', async () => {
    const before = audited().length;
    const socket: Socket<ServerToClientEvents, ClientToServerEvents> = io(base, { auth: { token: await token() }, transports: ['websocket'], reconnection: false });
    try {
      const join = (room: Room) => new Promise<{ ok: boolean }>((resolve) => socket.emit('join', room, resolve));
      expect(await join({ kind: 'ward', site: 'RXT', ward: 'OAK' })).toEqual({ ok: true });
      expect((await join({ kind: 'ward', site: 'RXT', ward: 'ELM' })).ok).toBe(false);
      const entries = await waitFor(() => (audited().length >= before + 2 ? audited().slice(before) : undefined), { what: 'two audit lines' });
      expect(entries).toEqual([
        { at: expect.any(String), who: 'nurse.jones', role: 'ward', action: 'join ward', site: 'RXT', ward: 'OAK', status: 200 },
        { at: expect.any(String), who: 'nurse.jones', role: 'ward', action: 'join ward', site: 'RXT', ward: 'ELM', status: 403 },
      ]);
    } finally {
      socket.disconnect();
    }
  });

  it('an internal failure is answered 500 with a fixed text; the error itself stays in the log', async () => {
    // A key of the wrong type makes the store's read fail inside Redis (WRONGTYPE).
    await redis.set(`${gw!.prefix}:{RZZ}:alerts`, 'not-a-sorted-set');
    try {
      const r = await fetch(`${base}/api/v1/alerts?site=RZZ`, { headers: { authorization: `Bearer ${await token({ sub: 'bm.khan', role: 'bed_manager', sites: ['RZZ'], wards: undefined })}` } });
      const body = await r.text();
      expect(r.status).toBe(500);
      expect(JSON.parse(body)).toEqual({ error: 'internal', message: 'The board could not be read; try again.' });
      expect(body).not.toMatch(/WRONGTYPE|alerts|RZZ|redis/i);
      await waitFor(() => gw!.gateway.logs.some((l) => l.includes('request failed') && l.includes('WRONGTYPE')), { what: 'the failure in the gateway log' });
    } finally {
      await redis.del(`${gw!.prefix}:{RZZ}:alerts`);
    }
  });

  it('a request whose headers stop arriving is cut off, while a good client still gets through', async () => {
    const slow = connect({ host: '127.0.0.1', port: Number(new URL(base).port) });
    let closed = false;
    slow.on('close', () => { closed = true; });
    slow.on('error', () => undefined);
    await new Promise<void>((resolve) => slow.once('connect', () => resolve()));
    slow.write('GET /api/v1/site?site=RXT HTTP/1.1\r\nHost: gateway\r\n');
    expect(await get('/api/v1/site?site=RXT', await token())).toBe(200);
    await waitFor(() => closed, { what: 'the stalled connection to be closed', timeoutMs: 20000 });
    // A board's socket.io connection is not an idle HTTP request: it stays open past the idle time.
    const socket: Socket<ServerToClientEvents, ClientToServerEvents> = io(base, { auth: { token: await token() }, transports: ['websocket'], reconnection: false });
    try {
      await new Promise<void>((resolve, reject) => { socket.once('connect', () => resolve()); socket.once('connect_error', reject); });
      await new Promise((resolve) => setTimeout(resolve, 3000));
      expect(await new Promise<{ ok: boolean }>((resolve) => socket.emit('join', { kind: 'ward', site: 'RXT', ward: 'OAK' }, resolve))).toEqual({ ok: true });
    } finally {
      socket.disconnect();
    }
  });

  // Last: it uses up this client's quota for the minute.
  it('a client over its rate gets 429 with Retry-After; probes are not counted', async () => {
    const tok = await token();
    const answers: { status: number; retryAfter: string | null; error?: string }[] = [];
    for (let i = 0; i < 45; i++) {
      const r = await fetch(`${base}/api/v1/site?site=RXT`, { headers: { authorization: `Bearer ${tok}` } });
      answers.push({ status: r.status, retryAfter: r.headers.get('retry-after'), error: r.status === 429 ? ((await r.json()) as { error: string }).error : undefined });
    }
    const first = answers.findIndex((a) => a.status === 429);
    expect(first).toBeGreaterThan(0);
    expect(answers.slice(0, first).every((a) => a.status === 200)).toBe(true);
    expect(answers.slice(first).every((a) => a.status === 429 && a.error === 'rate_limited' && Number(a.retryAfter) > 0)).toBe(true);
    expect(await get('/healthz')).toBe(200);
  });
});
