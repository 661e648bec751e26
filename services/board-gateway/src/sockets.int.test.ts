// socket.io connections are capped per reader and per client address: the gateway process
// on the real stack (its own namespace and key prefix), real socket.io clients over
// websockets. The connection over a cap is refused with a connect_error that says why
// (data.code too_many_connections, status 429); other readers still get in, and a closed
// connection frees its place.
import { io, type Socket } from 'socket.io-client';
import type { ClientToServerEvents, ServerToClientEvents } from '@pfm/contracts';
import { waitFor } from '@pfm/testkit';
import { Auth } from './auth';
import { startGatewayProcess, type GatewayProcess } from './testing/gateway-process';

const SECRET = 'gateway-sockets-secret-gateway-sockets-01';
type Client = Socket<ServerToClientEvents, ClientToServerEvents>;
type Outcome = { ok: true; socket: Client } | { ok: false; message: string; data?: { code?: string; status?: number; limit?: number } };

describe('gateway: socket.io connections per reader and per address are capped', () => {
  const auth = new Auth(SECRET);
  let gw: GatewayProcess | undefined;
  let base: string;
  const open: Client[] = [];

  beforeAll(async () => {
    gw = await startGatewayProcess('gw-sockets', SECRET, { PFM_GATEWAY_MAX_SOCKETS_PER_USER: '3', PFM_GATEWAY_MAX_SOCKETS_PER_ADDRESS: '5' });
    ({ base } = gw);
  });
  afterEach(() => { for (const s of open.splice(0)) s.disconnect(); });
  afterAll(async () => { await gw?.stop(); });

  const token = (sub: string) => auth.issue({ sub, role: 'bed_manager', sites: ['RXT'] });
  /** Connects as `sub`: the connected socket, or the connect_error it got. */
  const connectAs = async (sub: string): Promise<Outcome> => {
    const socket: Client = io(base, { auth: { token: await token(sub) }, transports: ['websocket'], reconnection: false, forceNew: true });
    return new Promise((resolve) => {
      socket.once('connect', () => { open.push(socket); resolve({ ok: true, socket }); });
      socket.once('connect_error', (e: Error & { data?: { code?: string; status?: number; limit?: number } }) => { socket.disconnect(); resolve({ ok: false, message: e.message, data: e.data }); });
    });
  };
  const joinWard = (s: Client) => new Promise<{ ok: boolean }>((resolve) => s.emit('join', { kind: 'ward', site: 'RXT', ward: 'OAK' }, resolve));
  /** Connects until the gateway has seen earlier disconnects (it frees a place when it sees the socket close). */
  const connectOnceFreed = (sub: string) => waitFor(async () => { const r = await connectAs(sub); return r.ok ? r.socket : undefined; }, { what: `a connection for ${sub} once a place is free` });

  it('a reader holds at most PFM_GATEWAY_MAX_SOCKETS_PER_USER connections; the next is refused with too_many_connections; another reader gets in; closing one frees its place', async () => {
    const first = [await connectAs('bm.one'), await connectAs('bm.one'), await connectAs('bm.one')];
    expect(first.map((r) => r.ok)).toEqual([true, true, true]);
    const over = await connectAs('bm.one');
    expect(over.ok ? 'connected' : over).toEqual({ ok: false, message: 'Too many live connections for this user (at most 3): close other boards or tabs first.', data: { code: 'too_many_connections', status: 429, limit: 3 } });
    // The refused one is audited as such; the three held still work.
    await waitFor(() => gw!.gateway.logs.some((l) => l.includes('"action":"connect"') && l.includes('"who":"bm.one"') && l.includes('"status":429')), { what: 'the refusal in the audit log' });
    for (const r of first) if (r.ok) expect(await joinWard(r.socket)).toEqual({ ok: true });

    const other = await connectAs('bm.two');
    expect(other.ok).toBe(true);

    if (first[0]!.ok) first[0]!.socket.disconnect();
    const again = await connectOnceFreed('bm.one');
    expect(await joinWard(again)).toEqual({ ok: true });
    expect((await connectAs('bm.one')).ok).toBe(false);
  });

  it('one client address holds at most PFM_GATEWAY_MAX_SOCKETS_PER_ADDRESS connections, whoever the readers', async () => {
    // Every earlier connection closed (afterEach): five readers' connections from 127.0.0.1 fill the address's places.
    const five: Client[] = [];
    for (const sub of ['a.1', 'a.2', 'a.3', 'a.4', 'a.5']) five.push(await connectOnceFreed(sub));
    const over = await connectAs('a.6');
    expect(over.ok ? 'connected' : over).toEqual({ ok: false, message: 'Too many live connections from this address (at most 5): close other boards first.', data: { code: 'too_many_connections', status: 429, limit: 5 } });
    five[0]!.disconnect();
    expect(await joinWard(await connectOnceFreed('a.6'))).toEqual({ ok: true });
  });
});
