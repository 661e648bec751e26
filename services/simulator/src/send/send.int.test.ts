/** @pfm-stack none */
// The senders against a fake ingest on loopback (no Kafka needed): MLLP framing, ACK
// waiting, resend on timeout, reconnect, AE handling; and a few simulated days through
// every channel, checking per-patient order and that planned bad NHS numbers (and only
// those) come back rejected.
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { flowEventInputSchema, normaliseNhsNumber, type FlowEventInput } from '@pfm/contracts';
import { buildAck, mapAdt } from '@pfm/hl7';
import { createSimulation, DAY_MS } from '../model';
import { defaultTrust } from '../trust';
import { FrameReader, mllpFrame, MllpClient, MllpPool } from './mllp-client';
import { TrustSender } from './sender';

type Answer = (text: string, attempt: number, socket: Socket) => string | 'silent' | 'close';

async function fakeMllp(answer: Answer): Promise<{ server: Server; port: number; received: string[]; connections: number }> {
  const state = { received: [] as string[], connections: 0 };
  const attempts = new Map<string, number>();
  const server = createServer((socket) => {
    state.connections += 1;
    const reader = new FrameReader();
    socket.on('error', () => undefined);
    socket.on('data', (chunk) => {
      for (const text of reader.push(chunk)) {
        state.received.push(text);
        const id = /MSH\|[^\r]*/.exec(text)?.[0].split('|')[9] ?? '';
        const n = (attempts.get(id) ?? 0) + 1;
        attempts.set(id, n);
        const a = answer(text, n, socket);
        if (a === 'close') socket.destroy();
        else if (a !== 'silent') socket.write(mllpFrame(a));
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return Object.assign(state, { server, port: (server.address() as AddressInfo).port });
}

const adt = (id: string): string => `MSH|^~\\&|PAS|RXT|PFM|RXT|20260101120000+0000||ADT^A22^ADT_A21|${id}|P|2.4\rEVN||20260101120000+0000\r`;
const aa = (text: string): string => buildAck(text, 'AA');

describe('MllpClient', () => {
  const servers: Server[] = [];
  const clients: (MllpClient | MllpPool)[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
  });

  it('sends one message at a time, in order, and resolves each with its ACK (AE included)', async () => {
    const f = await fakeMllp((text) => (text.includes('|BAD|') ? buildAck(text, 'AE', [{ segment: 'PID', sequence: 1, field: 3, path: 'PID-3', code: 102, message: 'NHS number fails the Modulus 11 check' }]) : aa(text)));
    servers.push(f.server);
    const c = new MllpClient({ host: '127.0.0.1', port: f.port });
    clients.push(c);
    const acks = await Promise.all([c.send(adt('M1'), 'M1'), c.send(adt('M2').replace('|P|', '|BAD|P|'), 'M2'), c.send(adt('M3'), 'M3')]);
    expect(acks.map((a) => [a.controlId, a.code])).toEqual([['M1', 'AA'], ['M2', 'AE'], ['M3', 'AA']]);
    expect(acks[1]!.text).toMatch(/Modulus 11/);
    expect(f.received.map((t) => t.split('|')[9])).toEqual(['M1', 'M2', 'M3']);
    expect(f.connections).toBe(1);
  });

  it('resends the same message (same MSH-10) on a new connection when no ACK comes in time', async () => {
    const f = await fakeMllp((text, attempt) => (attempt === 1 ? 'silent' : aa(text)));
    servers.push(f.server);
    const c = new MllpClient({ host: '127.0.0.1', port: f.port, ackTimeoutMs: 200, backoffMs: 10 });
    clients.push(c);
    const ack = await c.send(adt('T1'), 'T1');
    expect(ack.code).toBe('AA');
    expect(f.received.map((t) => t.split('|')[9])).toEqual(['T1', 'T1']);
    expect(c.stats).toMatchObject({ sent: 1, resent: 1, timeouts: 1, reconnects: 1 });
  });

  it('reconnects and resends when ingest closes the connection without answering', async () => {
    const f = await fakeMllp((text, attempt) => (attempt === 1 ? 'close' : aa(text)));
    servers.push(f.server);
    const c = new MllpClient({ host: '127.0.0.1', port: f.port, backoffMs: 10 });
    clients.push(c);
    expect((await c.send(adt('C1'), 'C1')).code).toBe('AA');
    expect(f.connections).toBe(2);
  });

  it('ignores an ACK for another control id (a late answer to an earlier attempt)', async () => {
    const f = await fakeMllp((text, _n, socket) => {
      socket.write(mllpFrame(buildAck(adt('OLD'), 'AA')));
      return aa(text);
    });
    servers.push(f.server);
    const c = new MllpClient({ host: '127.0.0.1', port: f.port });
    clients.push(c);
    expect((await c.send(adt('S1'), 'S1')).controlId).toBe('S1');
  });

  it('waits for ingest to come up (connection refused -> backoff)', async () => {
    const probe = await fakeMllp(aa);
    const port = probe.port;
    await new Promise((r) => probe.server.close(r));
    const c = new MllpClient({ host: '127.0.0.1', port, backoffMs: 20, maxBackoffMs: 50 });
    clients.push(c);
    const pending = c.send(adt('W1'), 'W1');
    await new Promise((r) => setTimeout(r, 150));
    const server = createServer((s) => { const rd = new FrameReader(); s.on('data', (ch) => rd.push(ch).forEach((t) => s.write(mllpFrame(aa(t))))); });
    servers.push(server);
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
    expect((await pending).code).toBe('AA');
  });

  it('a pool keeps each key on one connection', () => {
    const p = new MllpPool({ host: '127.0.0.1', port: 1, connections: 4 });
    clients.push(p);
    expect(p.clientFor('RXT/P1')).toBe(p.clientFor('RXT/P1'));
    const used = new Set(Array.from({ length: 50 }, (_, i) => p.clientFor(`RXT/P${i}`)));
    expect(used.size).toBe(4);
  });
});

describe('TrustSender against a fake ingest', () => {
  it('sends days of a simulated trust over MLLP, FHIR and JSON in per-patient order; only planned bad NHS numbers are rejected', async () => {
    const arrived: FlowEventInput[] = [];
    const channels = { mllp: 0, fhir: 0, json: 0 };
    const mllp = await fakeMllp((text) => {
      const r = mapAdt(text, { defaultSite: 'RXT', siteForFacility: (f) => (f.startsWith('RXT') ? 'RXT' : undefined) });
      if (!r.ok) return buildAck(text, r.ack, r.errors);
      channels.mllp += 1;
      arrived.push(...r.events);
      return buildAck(text, 'AA');
    });
    const http: HttpServer = createHttpServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => { body += c.toString('utf8'); });
      req.on('end', () => {
        const json = JSON.parse(body) as unknown;
        res.setHeader('content-type', 'application/json');
        if (req.url === '/v1/events') {
          const accepted: { index: number }[] = [];
          const rejected: { index: number; errors: { path: string; message: string }[] }[] = [];
          (json as unknown[]).forEach((item, index) => {
            const v = flowEventInputSchema.safeParse(item);
            if (v.success) { accepted.push({ index }); arrived.push(v.data); channels.json += 1; } else rejected.push({ index, errors: [{ path: 'nhsNumber', message: v.error.issues[0]?.message ?? '' }] });
          });
          res.statusCode = rejected.length ? (accepted.length ? 207 : 422) : 202;
          res.end(JSON.stringify({ accepted, rejected }));
        } else if (req.url === '/fhir/r4') {
          const entry = (json as { entry: { resource: { subject: { reference: string; identifier?: { value: string } }; status: string; identifier: { value: string }[] } }[] }).entry.map((e) => {
            const nhs = e.resource.subject.identifier?.value;
            if (nhs && !normaliseNhsNumber(nhs)) return { response: { status: '422 Unprocessable Entity', outcome: { issue: [{ diagnostics: 'NHS number fails the Modulus 11 check' }] } } };
            channels.fhir += 1;
            arrived.push({ site: 'RXT', patientId: e.resource.subject.reference.slice(8), type: e.resource.status === 'active' ? 'referral.received' : 'referral.closed', occurredAt: 0, payload: { referralId: e.resource.identifier[0]!.value } } as FlowEventInput);
            return { response: { status: '202 Accepted' } };
          });
          res.end(JSON.stringify({ resourceType: 'Bundle', type: 'batch-response', entry }));
        } else {
          res.statusCode = 404;
          res.end('{}');
        }
      });
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', () => r()));
    const sender = new TrustSender({
      ingestUrl: `http://127.0.0.1:${(http.address() as AddressInfo).port}`, mllp: { host: '127.0.0.1', port: mllp.port, connections: 4 }, trusts: [defaultTrust],
    });
    try {
      const start = Date.UTC(2026, 0, 10);
      const sim = createSimulation({ seed: 7, start, historyDays: 3, burnInDays: 120, faults: { duplicate: 0.02, badNhs: 0.01, late: 0.01 } });
      const deliveries = [...sim.deliveries(sim.history(3), start), ...sim.deliveries(sim.advance(start + DAY_MS), start + DAY_MS)];
      for (const d of deliveries) {
        await sender.capacity();
        void sender.send(d);
      }
      await sender.drain();
      const s = sender.stats;
      expect(s.sent).toBe(deliveries.length);
      expect(s.accepted + s.rejected).toBe(deliveries.length);
      expect(s.unexpected).toEqual([]);
      expect(s.rejected).toBe(s.rejectedAsPlanned);
      expect(s.faults.bad_nhs).toBeGreaterThan(0);
      expect(s.rejected).toBe(deliveries.filter((d) => d.fault === 'bad_nhs').length);
      expect(channels.mllp).toBeGreaterThan(50);
      expect(channels.fhir).toBeGreaterThan(100);
      expect(channels.json).toBeGreaterThan(100);
      // Per patient, events arrived in the order they were delivered (types compared: FHIR ids differ).
      const order = (list: { site: string; patientId: string; type: string }[]) => {
        const m = new Map<string, string[]>();
        for (const e of list) (m.get(`${e.site}/${e.patientId}`) ?? m.set(`${e.site}/${e.patientId}`, []).get(`${e.site}/${e.patientId}`)!).push(e.type);
        return m;
      };
      const sent = order(deliveries.filter((d) => d.fault !== 'bad_nhs').map((d) => d.event));
      const got = order(arrived);
      for (const [k, types] of sent) expect([k, got.get(k)]).toEqual([k, types]);
    } finally {
      await sender.close();
      await new Promise((r) => mllp.server.close(r));
      await new Promise((r) => http.close(r));
    }
  });
});
