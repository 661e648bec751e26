// board-gateway on the real stack: the engine and two gateway instances as processes,
// flow events produced straight onto the (namespaced) flow topic, socket.io clients.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import Redis from 'ioredis';
import { io, type Socket } from 'socket.io-client';
import { topicsFor, type Alert, type BoardUpdate, type ClientToServerEvents, type FlowEvent, type PatientRow, type Room, type ServerToClientEvents, type SiteStatus, type SnapshotPayload, type Ward } from '@pfm/contracts';
import { createProducer, FlowEventCodec, kafkaClientConfig, partitionBounds, readRanges, sendFlowEvents } from '@pfm/kafka-runtime';
import { freePort, httpReady, logReady, requireStack, startService, uniqueName, waitFor, type RunningService } from '@pfm/testkit';
import { DEFAULT_THRESHOLDS } from '@pfm/flow-domain';
import { FlowStore, Keys, WardRegistry } from '@pfm/flow-store';
import { Auth, type Claims } from './auth';

type Client = Socket<ServerToClientEvents, ClientToServerEvents>;

const SECRET = 'gateway-int-secret-gateway-int-secret-01';
const WARDS: Ward[] = [
  { site: 'RXT', code: 'OAK', name: 'Oak Ward', type: 'adult_acute', beds: 10 },
  { site: 'RXT', code: 'ELM', name: 'Elm Ward', type: 'picu', beds: 6 },
  // A second site with its own occupancy line (thresholds file `sites.RYY.occupancyPct`).
  { site: 'RYY', code: 'MAPLE', name: 'Maple Ward', type: 'adult_acute', beds: 2 },
];
const HOUR = 3_600_000;

/** What one client has received, in order. */
class Recorder {
  readonly updates: BoardUpdate[] = [];
  readonly snapshots: SnapshotPayload[] = [];
  readonly patients: { ward: string; patients: PatientRow[] }[] = [];
  readonly problems: { code: string; message: string }[] = [];
  readonly sites: SiteStatus[] = [];
  readonly alerts: Alert[] = [];
  readonly gone: string[] = [];
  resyncs = 0;
  constructor(readonly socket: Client) {
    socket.on('resync', () => { this.resyncs += 1; });
    socket.on('alert', (a) => this.alerts.push(a));
    socket.on('alertGone', (g) => this.gone.push(g.alertId));
    socket.on('site', (s) => this.sites.push(s));
    socket.on('update', (u) => this.updates.push(u));
    socket.on('snapshot', (s) => this.snapshots.push(s));
    socket.on('patients', (p) => this.patients.push(p));
    socket.on('problem', (p) => this.problems.push(p));
  }
  join(room: Room): Promise<{ ok: boolean; error?: string }> {
    return new Promise((resolve) => this.socket.emit('join', room, resolve));
  }
}

describe('board-gateway on the real stack', () => {
  const ns = uniqueName('gw');
  const prefix = ns.replace(/-/g, '_');
  const topics = topicsFor(ns);
  const auth = new Auth(SECRET);
  const sockets: Client[] = [];
  const services: RunningService[] = [];
  let gateways: string[] = [];
  let kafka: Kafka;
  let producer: Producer;
  let codec: FlowEventCodec;
  let redis: Redis;
  let n = 0;
  let wardsFile = '';

  const token = (claims: Partial<Claims> = {}, ttl?: number) => auth.issue({ sub: 'int-test', role: 'bed_manager', sites: ['RXT'], ...claims }, ttl);
  const connect = (url: string, tok: string, opts: { reconnection?: boolean } = {}): Client => {
    const s: Client = io(url, { auth: { token: tok }, transports: ['websocket'], reconnection: opts.reconnection ?? false });
    sockets.push(s);
    return s;
  };
  const connected = (s: Client) => new Promise<void>((resolve, reject) => { s.once('connect', () => resolve()); s.once('connect_error', reject); });
  const admit = (ward: string, patientId = `P${++n}`): FlowEvent => ({
    eventId: `int-adm-${patientId}`, type: 'patient.admitted', occurredAt: Date.now() - HOUR, recordedAt: Date.now(), site: 'RXT', patientId,
    sourceSystem: 'int-test', channel: 'json', payload: { spellId: `S-${patientId}`, ward, bed: `B-${patientId}`, initials: 'AB' },
  });
  const send = (events: FlowEvent[]) => sendFlowEvents(producer, codec, events, topics.flowEvents);
  const get = async (url: string, tok: string) => fetch(url, { headers: { authorization: `Bearer ${tok}` } });

  beforeAll(async () => {
    const stack = await requireStack();
    const dir = mkdtempSync(join(tmpdir(), 'pfm-gw-int-'));
    writeFileSync(join(dir, 'wards.json'), JSON.stringify(WARDS));
    wardsFile = join(dir, 'wards.json');
    writeFileSync(join(dir, 'thresholds.json'), JSON.stringify({ teamsByArea: { NORTH: 'CRHT-N', SOUTH: 'CRHT-S' }, sites: { RYY: { occupancyPct: 40 } } }));
    const env: Record<string, string> = {
      KAFKA_BROKERS: stack.kafkaBrokers.join(','), SCHEMA_REGISTRY_URL: stack.schemaRegistryUrl, REDIS_URL: stack.redisUrl,
      PFM_TOPIC_NAMESPACE: ns, PFM_TOPIC_PARTITIONS: '2', PFM_KEY_PREFIX: prefix, PFM_WARDS_FILE: join(dir, 'wards.json'), PFM_THRESHOLDS_FILE: join(dir, 'thresholds.json'),
      PFM_JWT_SECRET: SECRET, PFM_ENGINE_GROUP: `${ns}-engine`, PFM_SCAN_INTERVAL_MS: '1000', PFM_LOG_LEVEL: 'warn',
    };
    services.push(await startService('flow-engine', { ...env, PFM_LOG_LEVEL: 'info' }, logReady('flow-engine running')));
    const ports = [await freePort(), await freePort()];
    gateways = ports.map((p) => `http://127.0.0.1:${p}`);
    for (const [i, port] of ports.entries()) {
      services.push(await startService('board-gateway', { ...env, PFM_GATEWAY_PORT: String(port) }, httpReady(`${gateways[i]}/healthz`)));
    }
    kafka = new Kafka(kafkaClientConfig({ brokers: stack.kafkaBrokers, clientId: ns, logLevel: logLevel.NOTHING }));
    producer = createProducer(kafka);
    await producer.connect();
    codec = new FlowEventCodec(stack.schemaRegistryUrl, `${topics.flowEvents}-value`);
    await codec.init();
    redis = new Redis(stack.redisUrl);
  });

  afterAll(async () => {
    for (const s of sockets) s.disconnect();
    await producer?.disconnect();
    await Promise.all(services.map((s) => s.stop()));
    if (redis) {
      const keys = await redis.keys(`${prefix}:*`);
      if (keys.length) await redis.unlink(...keys);
      redis.disconnect();
    }
  });

  it('a ward room gets a snapshot, then every update in seq order and the ward\'s patient list, on both instances', async () => {
    const clients = await Promise.all(gateways.map(async (url) => {
      const r = new Recorder(connect(url, await token()));
      await connected(r.socket);
      expect(await r.join({ kind: 'ward', site: 'RXT', ward: 'OAK' })).toEqual({ ok: true });
      return r;
    }));
    const base = clients.map((c) => c.snapshots[0]!.wards[0]!.seq);
    expect(base[0]).toBe(base[1]);

    const events = [admit('OAK'), admit('OAK'), admit('OAK'), admit('OAK')];
    await send(events);
    for (const c of clients) {
      await waitFor(() => c.updates.find((u) => u.change?.eventId === events[3]!.eventId), { timeoutMs: 30000, what: 'the last admission\'s update' });
      // seq is the ward's change counter; one update per engine batch, so it may jump,
      // and concurrent batches may publish the same figures twice, but it never goes back.
      const oak = c.updates.filter((u) => u.ward === 'OAK');
      expect(oak.every((u, i) => u.seq > base[0]! && (i === 0 || u.seq >= oak[i - 1]!.seq))).toBe(true);
      const last = await waitFor(() => c.updates.find((u) => u.seq === base[0]! + 4), { timeoutMs: 10000, what: 'the update after all four changes' });
      expect(last.summary.occupied).toBe(4);
      const list = await waitFor(() => c.patients.find((p) => p.patients.length === 4), { timeoutMs: 10000, what: 'a pushed patient list with all four' });
      expect(list.ward).toBe('OAK');
      expect(list.patients.map((p) => p.patientId).sort()).toEqual(events.map((e) => e.patientId).sort());
    }
  });

  it('a client that reconnects gets a snapshot with what it missed', async () => {
    const s = connect(gateways[0]!, await token());
    const r = new Recorder(s);
    await connected(s);
    await r.join({ kind: 'site', site: 'RXT' });
    const before = r.snapshots[0]!.wards.find((w) => w.ward === 'ELM')!;
    s.disconnect();
    const missed = admit('ELM');
    await send([missed]);
    // Watch for the event through another client so we know it has been applied.
    const watcher = new Recorder(connect(gateways[1]!, await token()));
    await connected(watcher.socket);
    await watcher.join({ kind: 'ward', site: 'RXT', ward: 'ELM' });
    await waitFor(async () => {
      const w = (await (await get(`${gateways[1]}/api/v1/wards/ELM`, await token())).json()) as { summary: { occupied: number } };
      return w.summary.occupied === before.occupied + 1;
    }, { timeoutMs: 30000, what: 'the missed admission to be applied' });

    s.connect();
    await connected(s);
    await r.join({ kind: 'site', site: 'RXT' });
    const after = r.snapshots.at(-1)!.wards.find((w) => w.ward === 'ELM')!;
    expect(after.occupied).toBe(before.occupied + 1);
    expect(after.seq).toBeGreaterThan(before.seq);
  });

  it('a ward-scoped client in the site room sees only its ward: snapshot, updates and REST', async () => {
    const tok = await token({ sub: 'oak-nurse', role: 'ward', wards: ['OAK'] });
    const scoped = new Recorder(connect(gateways[0]!, tok));
    const broad = new Recorder(connect(gateways[0]!, await token()));
    await Promise.all([connected(scoped.socket), connected(broad.socket)]);
    expect(await scoped.join({ kind: 'site', site: 'RXT' })).toEqual({ ok: true });
    await broad.join({ kind: 'site', site: 'RXT' });
    expect(scoped.snapshots[0]!.wards.map((w) => w.ward)).toEqual(['OAK']);
    expect(await scoped.join({ kind: 'ward', site: 'RXT', ward: 'ELM' })).toEqual({ ok: false, error: expect.stringMatching(/forbidden/) });

    const elm = admit('ELM');
    const oak = admit('OAK');
    await send([elm, oak]);
    await waitFor(() => broad.updates.find((u) => u.change?.eventId === elm.eventId) && broad.updates.find((u) => u.change?.eventId === oak.eventId), { timeoutMs: 30000, what: 'both updates at the broad client' });
    await waitFor(() => scoped.updates.find((u) => u.change?.eventId === oak.eventId), { timeoutMs: 10000, what: 'the OAK update at the scoped client' });
    expect(scoped.updates.every((u) => u.ward === 'OAK')).toBe(true);

    expect((await get(`${gateways[0]}/api/v1/wards/ELM`, tok)).status).toBe(403);
    const wards = (await (await get(`${gateways[0]}/api/v1/wards`, tok)).json()) as { ward: string }[];
    expect(wards.map((w) => w.ward)).toEqual(['OAK']);
  });

  it('passes each alert change on once, in version order, however often the alerts topic repeats it', async () => {
    const r = new Recorder(connect(gateways[0]!, await token()));
    await connected(r.socket);
    await r.join({ kind: 'site', site: 'RXT' });
    const v1: Alert = { alertId: `gw-dup-${++n}`, rule: 'stranded', severity: 'warning', threshold: { value: 7, unit: 'days' }, source: 'int-test', message: 'stranded', site: 'RXT', ward: 'OAK', patientId: `A${n}`, becameTrueAt: Date.now() - HOUR, raisedAt: Date.now(), version: 1 };
    const v2: Alert = { ...v1, acknowledged: { by: 'int-test', at: Date.now() }, version: 2 };
    const marker: Alert = { ...v1, alertId: `gw-marker-${n}`, version: 1 };
    const msg = (a: Alert) => ({ key: `${a.site}/${a.alertId}`, value: JSON.stringify(a) });
    // At-least-once delivery: the raise twice, then the acknowledgement, then the raise again.
    await producer.send({ topic: topics.alerts, messages: [msg(v1), msg(v1), msg(v2), msg(v1), msg(marker)] });
    await waitFor(() => r.alerts.find((a) => a.alertId === marker.alertId), { timeoutMs: 30000, what: 'the marker alert' });
    expect(r.alerts.filter((a) => a.alertId === v1.alertId).map((a) => a.version)).toEqual([1, 2]);
  });

  it('an alert that follows its patient to another ward reaches the new ward; the old ward\'s ward-scoped reader is told it is gone, a bed manager on the old ward sees where it went', async () => {
    const oakNurse = new Recorder(connect(gateways[0]!, await token({ sub: 'oak-nurse-move', role: 'ward', wards: ['OAK'] })));
    const elmNurse = new Recorder(connect(gateways[0]!, await token({ sub: 'elm-nurse-move', role: 'ward', wards: ['ELM'] })));
    const bm = new Recorder(connect(gateways[0]!, await token()));
    await Promise.all([connected(oakNurse.socket), connected(elmNurse.socket), connected(bm.socket)]);
    expect(await oakNurse.join({ kind: 'ward', site: 'RXT', ward: 'OAK' })).toEqual({ ok: true });
    expect(await elmNurse.join({ kind: 'ward', site: 'RXT', ward: 'ELM' })).toEqual({ ok: true });
    expect(await bm.join({ kind: 'ward', site: 'RXT', ward: 'OAK' })).toEqual({ ok: true });
    const v1: Alert = { alertId: `gw-move-${++n}`, rule: 'stranded', severity: 'info', threshold: { value: 7, unit: 'days' }, source: 'int-test', message: 'stranded', site: 'RXT', ward: 'OAK', patientId: `M${n}`, becameTrueAt: Date.now() - HOUR, raisedAt: Date.now(), version: 1 };
    const v2: Alert = { ...v1, ward: 'ELM', version: 2 };
    const msg = (a: Alert) => ({ key: `${a.site}/${a.alertId}`, value: JSON.stringify(a) });
    await producer.send({ topic: topics.alerts, messages: [msg(v1)] });
    await waitFor(() => oakNurse.alerts.find((a) => a.alertId === v1.alertId), { timeoutMs: 30000, what: 'the alert on OAK' });
    await producer.send({ topic: topics.alerts, messages: [msg(v2)] });
    await waitFor(() => elmNurse.alerts.find((a) => a.alertId === v1.alertId && a.ward === 'ELM'), { timeoutMs: 30000, what: 'the moved alert on ELM' });
    await waitFor(() => oakNurse.gone.includes(v1.alertId), { timeoutMs: 10000, what: 'the OAK nurse told the alert is gone' });
    await waitFor(() => bm.alerts.find((a) => a.alertId === v1.alertId && a.ward === 'ELM'), { timeoutMs: 10000, what: 'the bed manager on OAK shown where it went' });
    expect(oakNurse.alerts.filter((a) => a.alertId === v1.alertId).map((a) => a.version)).toEqual([1]);
    expect(elmNurse.gone).toEqual([]);
  });

  it('a site\'s own occupancy line (thresholds sites.<site>.occupancyPct) decides its pressure, not the trust\'s 85%', async () => {
    const pid = `Y${++n}`;
    await send([{ ...admit('MAPLE', pid), site: 'RYY' }]);
    const tok = await token({ sites: ['RYY'] });
    await waitFor(async () => {
      const wards = (await (await get(`${gateways[0]}/api/v1/wards?site=RYY`, tok)).json()) as { ward: string; occupied: number }[];
      return wards.find((w) => w.ward === 'MAPLE')?.occupied === 1;
    }, { timeoutMs: 30000, what: 'the admission on MAPLE (RYY)' });
    const status = (await (await get(`${gateways[0]}/api/v1/site?site=RYY`, tok)).json()) as SiteStatus;
    // 1 of 2 beds: 50%, over RYY's own 40% line (under the trust's 85%).
    expect(status.pressure).toMatchObject({ level: 2, reasons: ['occupancy incl. leave 50% > 40%'] });
  });

  it('a site room gets the site status after joining and again when it changes (referrals waiting)', async () => {
    const r = new Recorder(connect(gateways[1]!, await token()));
    await connected(r.socket);
    await r.join({ kind: 'site', site: 'RXT' });
    const first = await waitFor(() => r.sites[0], { timeoutMs: 10000, what: 'the site status after joining' });
    expect(first).toMatchObject({ site: 'RXT', pressure: { level: expect.any(Number) } });
    const referral: FlowEvent = {
      eventId: `int-ref-${++n}`, type: 'referral.received', occurredAt: Date.now() - 60_000, recordedAt: Date.now(), site: 'RXT', patientId: `R${n}`,
      sourceSystem: 'int-test', channel: 'json', payload: { referralId: `REF${n}`, team: 'CRHT-N', teamType: 'crisis', urgency: 'urgent' },
    };
    await send([referral]);
    const next = await waitFor(() => r.sites.find((s) => s.referralsWaiting === first.referralsWaiting + 1), { timeoutMs: 30000, what: 'a pushed site status with the new referral' });
    expect(next.referralsByTeam['CRHT-N']).toBeGreaterThanOrEqual(1);
  });

  it('lists discharges waiting for their 72h follow-up to the crisis team of the patient\'s area only', async () => {
    const pid = `F${++n}`;
    const at = Date.now() - 10 * HOUR;
    await send([
      { eventId: `int-fa-${pid}`, type: 'patient.admitted', occurredAt: at, recordedAt: at, site: 'RXT', patientId: pid, sourceSystem: 'int-test', channel: 'json', payload: { spellId: `S-${pid}`, ward: 'OAK', area: 'NORTH' } },
      { eventId: `int-fd-${pid}`, type: 'patient.discharged', occurredAt: at + 4 * HOUR, recordedAt: at + 4 * HOUR, site: 'RXT', patientId: pid, sourceSystem: 'int-test', channel: 'json', payload: { spellId: `S-${pid}`, destination: '19' } },
    ]);
    const north = await token({ role: 'crisis_team', teams: ['CRHT-N'] });
    const list = await waitFor(async () => {
      const rows = (await (await get(`${gateways[0]}/api/v1/followups`, north)).json()) as { patientId: string; team?: string; hoursLeft: number }[];
      return rows.find((r) => r.patientId === pid);
    }, { timeoutMs: 30000, what: 'the discharge on the follow-up worklist' });
    expect(list).toMatchObject({ team: 'CRHT-N', area: 'NORTH', ward: 'OAK' });
    expect(list.hoursLeft).toBeGreaterThan(60);
    expect(list.hoursLeft).toBeLessThanOrEqual(66);
    const south = (await (await get(`${gateways[0]}/api/v1/followups`, await token({ role: 'crisis_team', teams: ['CRHT-S'] }))).json()) as { patientId: string }[];
    expect(south.map((r) => r.patientId)).not.toContain(pid);
  });

  it('the site status counts patients waiting for a bed since a decision to admit, not unassessed referrals', async () => {
    const pid = `Q${++n}`;
    const at = Date.now() - 13 * HOUR;
    const base = { recordedAt: at, site: 'RXT', sourceSystem: 'int-test', channel: 'json' } as const;
    await send([
      { ...base, eventId: `int-qr-${pid}`, type: 'referral.received', occurredAt: at, patientId: pid, payload: { referralId: `QR-${pid}`, team: 'LIAISON-1', teamType: 'liaison', urgency: 'emergency' } },
      { ...base, eventId: `int-qd-${pid}`, type: 'admission.decided', occurredAt: at + HOUR, patientId: pid, payload: { referralId: `QR-${pid}`, gender: 'M' } },
      { ...base, eventId: `int-qc-${pid}`, type: 'referral.received', occurredAt: at, patientId: `${pid}c`, payload: { referralId: `QC-${pid}`, team: 'CMHT-1', teamType: 'community', urgency: 'routine' } },
    ]);
    const tok = await token();
    const site = await waitFor(async () => {
      const s = (await (await get(`${gateways[1]}/api/v1/site`, tok)).json()) as SiteStatus;
      return s.admissionQueue.entries.some((e) => e.patientId === pid) ? s : undefined;
    }, { timeoutMs: 30000, what: 'the decision to admit in the queue' });
    expect(site.admissionQueue.entries.find((e) => e.patientId === pid)).toMatchObject({ source: 'A&E', sex: 'M', waitedHours: 12 });
    expect(site.admissionQueue.entries.map((e) => e.patientId)).not.toContain(`${pid}c`);
    expect(site.admissionQueue.breaches).toBeGreaterThanOrEqual(1);
    expect(site.expectedDischarges).toEqual({ today: expect.any(Number), tomorrow: expect.any(Number) });
  });

  it('GET /api/v1/alerts says who an unacknowledged Critical alert is with now (escalation after 30 min)', async () => {
    const pid = `X${++n}`;
    const at = Date.now() - 3 * HOUR;
    const base = { recordedAt: at, site: 'RXT', sourceSystem: 'int-test', channel: 'json' } as const;
    // An emergency liaison referral received 3 h ago: its 1 h response clock is already past.
    await send([{ ...base, eventId: `int-xr-${pid}`, type: 'referral.received', occurredAt: at, patientId: pid, payload: { referralId: `XR-${pid}`, team: 'LIAISON-1', teamType: 'liaison', urgency: 'emergency' } }]);
    const tok = await token();
    const alert = await waitFor(async () => {
      const list = (await (await get(`${gateways[0]}/api/v1/alerts`, tok)).json()) as (Alert & { escalation?: { level: number; role: string } })[];
      return list.find((a) => a.referralId === `XR-${pid}`);
    }, { timeoutMs: 30000, what: 'the referral response alert' });
    expect(alert.severity).toBe('critical');
    // Raised moments ago (when the engine applied the late referral): still with the team, the bed manager next.
    expect(alert.escalation).toEqual({ level: 0, role: 'crisis_team', nextAt: alert.raisedAt + 30 * 60_000 });
  });

  it('a second acknowledgement is recorded on the log; the alert keeps the first', async () => {
    const pid = `Y${++n}`;
    const at = Date.now() - 3 * HOUR;
    await send([{ recordedAt: at, site: 'RXT', sourceSystem: 'int-test', channel: 'json', eventId: `int-yr-${pid}`, type: 'referral.received', occurredAt: at, patientId: pid, payload: { referralId: `YR-${pid}`, team: 'LIAISON-1', teamType: 'liaison', urgency: 'emergency' } }]);
    const first = await token({ sub: 'bm-first' });
    const alert = await waitFor(async () => ((await (await get(`${gateways[0]}/api/v1/alerts`, first)).json()) as Alert[]).find((a) => a.referralId === `YR-${pid}`), { timeoutMs: 30000, what: 'the referral response alert' });
    const ack = async (tok: string) => {
      const s = connect(gateways[0]!, tok);
      await connected(s);
      return new Promise<{ ok: boolean; error?: string }>((resolve) => s.emit('acknowledge', { alertId: alert.alertId }, resolve));
    };
    expect(await ack(first)).toEqual({ ok: true });
    await waitFor(async () => ((await (await get(`${gateways[0]}/api/v1/alerts`, first)).json()) as Alert[]).find((a) => a.alertId === alert.alertId)?.acknowledged !== undefined, { timeoutMs: 30000, what: 'the first acknowledgement applied' });
    // Another bed manager, then the first one again.
    expect(await ack(await token({ sub: 'bm-second' }))).toEqual({ ok: true });
    expect(await ack(first)).toEqual({ ok: true });
    const recorded = new Map<string, string>();
    await waitFor(async () => {
      const bounds = await partitionBounds(kafka, topics.flowEvents);
      await readRanges(kafka, topics.flowEvents, new Map([...bounds].map(([p, b]) => [p, [{ from: b.low, to: b.high }]])), async (_p, messages) => {
        for (const m of messages) {
          const e = await codec.decode(m.value!);
          if (e.type === 'alert.acknowledged' && e.payload.alertId === alert.alertId) recorded.set(e.eventId, e.payload.by);
        }
      }, { groupPrefix: `${ns}-read` });
      return recorded.size >= 2;
    }, { timeoutMs: 30000, what: 'both acknowledgements on the flow topic' });
    expect([...recorded.values()].sort()).toEqual(['bm-first', 'bm-second']);
    const now = ((await (await get(`${gateways[0]}/api/v1/alerts`, first)).json()) as Alert[]).find((a) => a.alertId === alert.alertId);
    expect(now?.acknowledged?.by).toBe('bm-first');
  });

  it('out of scope is refused on the real stack: another ward\'s history, patient and alerts, another site\'s room, and acknowledgements by those who do not own the alert', async () => {
    const moved = `X${++n}`; // admitted on ELM, then moved to OAK
    const elmOnly = `X${++n}`;
    const at = Date.now() - 3 * HOUR;
    const ev = (pid: string, type: FlowEvent['type'], t: number, payload: Record<string, unknown>) =>
      ({ eventId: `int-x-${type}-${pid}`, type, occurredAt: t, recordedAt: t, site: 'RXT', patientId: pid, sourceSystem: 'int-test', channel: 'json', payload }) as FlowEvent;
    await send([
      ev(moved, 'patient.admitted', at, { spellId: `S-${moved}`, ward: 'ELM', bed: `B-${moved}`, initials: 'CD' }),
      ev(moved, 'patient.transferred', at + HOUR, { spellId: `S-${moved}`, ward: 'OAK', bed: `B2-${moved}` }),
      ev(elmOnly, 'patient.admitted', at, { spellId: `S-${elmOnly}`, ward: 'ELM', bed: `B-${elmOnly}`, initials: 'EF' }),
      ev(moved, 'referral.received', at, { referralId: `XR-${moved}`, team: 'LIAISON-1', teamType: 'liaison', urgency: 'emergency' }),
    ]);
    const manager = await token({ sub: 'bm-x' });
    const oak = await token({ sub: 'oak-nurse', role: 'ward', wards: ['OAK'] });
    const json = async <T>(path: string, tok: string) => { const r = await get(`${gateways[0]}${path}`, tok); return { status: r.status, body: (await r.json()) as T }; };
    type Timeline = { events: { type: string; summary: string }[] };
    // The baseline: a bed manager sees the whole history and the team's alert.
    const full = await waitFor(async () => { const r = await json<Timeline>(`/api/v1/patients/${moved}/timeline`, manager); return r.status === 200 && r.body.events.length >= 2 ? r.body : undefined; }, { timeoutMs: 30000, what: 'the moved patient\'s history' });
    expect(full.events.map((e) => e.type)).toEqual(expect.arrayContaining(['patient.admitted', 'patient.transferred']));
    const alert = await waitFor(async () => (await json<Alert[]>('/api/v1/alerts', manager)).body.find((a) => a.referralId === `XR-${moved}`), { timeoutMs: 30000, what: 'the team\'s referral alert' });
    expect(alert.team).toBe('LIAISON-1');

    // A ward reader: the stay on its ward only, nothing of a patient never on it, no team alert.
    const cut = await json<Timeline>(`/api/v1/patients/${moved}/timeline`, oak);
    expect(cut.status).toBe(200);
    expect(cut.body.events.map((e) => e.summary)).toEqual([`Transferred to OAK bed B2-${moved}`]);
    expect((await json(`/api/v1/patients/${elmOnly}/timeline`, oak)).status).toBe(404);
    expect((await json<Alert[]>('/api/v1/alerts', oak)).body.map((a) => a.alertId)).not.toContain(alert.alertId);
    expect((await json('/api/v1/alerts?site=RYY', manager)).status).toBe(403);

    // socket.io: another site's room is refused; acknowledgements only by the alert's owners.
    const ack = async (tok: string) => {
      const r = new Recorder(connect(gateways[0]!, tok));
      await connected(r.socket);
      return new Promise<{ ok: boolean; error?: string }>((resolve) => r.socket.emit('acknowledge', { alertId: alert.alertId }, resolve));
    };
    const other = new Recorder(connect(gateways[0]!, manager));
    await connected(other.socket);
    expect((await other.join({ kind: 'site', site: 'RYY' })).ok).toBe(false);
    expect(await ack(oak)).toEqual({ ok: false, error: 'no such alert in your scope' });
    expect(await ack(await token({ sub: 'crht-n-nurse', role: 'crisis_team', teams: ['CRHT-N'] }))).toEqual({ ok: false, error: 'no such alert in your scope' });
    expect(await ack(await token({ sub: 'ops-x', role: 'ops' }))).toEqual({ ok: false, error: expect.stringMatching(/^forbidden/) });
    expect(await ack(await token({ sub: 'liaison-nurse', role: 'crisis_team', teams: ['LIAISON-1'] }))).toEqual({ ok: true });
    const acked = await waitFor(async () => (await json<Alert[]>('/api/v1/alerts', manager)).body.find((a) => a.alertId === alert.alertId && a.acknowledged), { timeoutMs: 30000, what: 'the owner\'s acknowledgement applied' });
    expect(acked.acknowledged?.by).toBe('liaison-nurse');
  });

  it('an alert can be owned by a named person through the API: given by a bed manager, taken over by the team, never by ops; the owner is on the alert and its feed version', async () => {
    const pid = `W${++n}`;
    const at = Date.now() - 3 * HOUR;
    await send([{ eventId: `int-wr-${pid}`, type: 'referral.received', occurredAt: at, recordedAt: at, site: 'RXT', patientId: pid, sourceSystem: 'int-test', channel: 'json', payload: { referralId: `WR-${pid}`, team: 'LIAISON-1', teamType: 'liaison', urgency: 'emergency' } }]);
    const manager = await token({ sub: 'bm-jones' });
    type Listed = Alert & { escalation?: { level: number; role: string } };
    const listed = async (tok: string) => ((await (await get(`${gateways[1]}/api/v1/alerts`, tok)).json()) as Listed[]).find((a) => a.referralId === `WR-${pid}`);
    const raised = await waitFor(() => listed(manager), { timeoutMs: 30000, what: 'the referral response alert' });
    expect(raised.owner).toBeUndefined();
    const feed = new Recorder(connect(gateways[1]!, manager));
    await connected(feed.socket);
    await feed.join({ kind: 'site', site: 'RXT' });
    const post = (tok: string, body?: object) => fetch(`${gateways[0]}/api/v1/alerts/${encodeURIComponent(raised.alertId)}/owner`, {
      method: 'POST', headers: { authorization: `Bearer ${tok}`, ...(body ? { 'content-type': 'application/json' } : {}) }, ...(body ? { body: JSON.stringify(body) } : {}),
    });

    // Ops read alerts but do not own them; a ward outside the alert's scope cannot see it.
    expect((await post(await token({ sub: 'ops-1', role: 'ops' }), { owner: 'Someone' })).status).toBe(403);
    expect((await post(await token({ sub: 'oak-nurse', role: 'ward', wards: ['OAK'] }))).status).toBe(404);
    expect((await post(manager, { owner: '<script>' })).status).toBe(400);

    const given = await post(manager, { owner: 'Dr A Patel' });
    expect(given.status).toBe(202);
    expect(await given.json()).toEqual({ ok: true, owner: 'Dr A Patel' });
    const owned = await waitFor(async () => { const a = await listed(manager); return a?.owner ? a : undefined; }, { timeoutMs: 30000, what: 'the owner on the alert' });
    expect(owned.owner).toEqual({ name: 'Dr A Patel', by: 'bm-jones', at: expect.any(Number) });
    expect(owned.version).toBe((raised.version ?? 1) + 1);
    // Owning is not acknowledging: an unacknowledged Critical alert still escalates.
    expect(owned.escalation).toMatchObject({ level: 0, role: 'crisis_team' });

    // The liaison team's nurse takes it over (no owner named: the caller).
    const nurse = await token({ sub: 'liaison-nurse-kim', role: 'crisis_team', teams: ['LIAISON-1'] });
    expect((await post(nurse)).status).toBe(202);
    const taken = await waitFor(async () => { const a = await listed(manager); return a?.owner?.name === 'liaison-nurse-kim' ? a : undefined; }, { timeoutMs: 30000, what: 'the handover' });
    expect(taken.owner).toMatchObject({ name: 'liaison-nurse-kim', by: 'liaison-nurse-kim' });
    expect(taken.version).toBe((raised.version ?? 1) + 2);
    // Live clients get each owned version on the alert feed.
    await waitFor(() => feed.alerts.find((a) => a.alertId === raised.alertId && a.owner?.name === 'liaison-nurse-kim'), { timeoutMs: 30000, what: 'the owned alert on the socket feed' });
    expect(feed.alerts.filter((a) => a.alertId === raised.alertId).map((a) => a.owner?.name)).toContain('Dr A Patel');
  });

  it('refuses a bad token with a code and status, and closes a connection when its token expires', async () => {
    const bad = connect(gateways[0]!, 'not-a-token');
    const err = (await connected(bad).then(() => null, (e: unknown) => e)) as Error & { data?: unknown };
    expect(err.message).toMatch(/not valid/);
    expect(err.data).toEqual({ code: 'invalid_token', status: 401 });

    const shortLived = new Recorder(connect(gateways[0]!, await token({}, Math.floor(Date.now() / 1000) + 2)));
    await connected(shortLived.socket);
    const reason = await new Promise<string>((resolve) => shortLived.socket.once('disconnect', resolve));
    expect(reason).toBe('io server disconnect');
    expect(shortLived.problems).toEqual([{ code: 'token_expired', message: expect.stringMatching(/expired/) }]);
  });
  it('a snapshot and the alert list hold every active alert in scope, however many newer ones the site has', async () => {
    // 10 alerts on Maple, older than 600 on another ward of the site: a cut by the site's
    // newest 500 would leave Maple's reader with none of its own.
    const store = new FlowStore(redis, new Keys(prefix), new WardRegistry([]), DEFAULT_THRESHOLDS);
    const alert = (i: number, ward: string): Alert => ({
      alertId: `many-${ward}-${i}`, rule: 'stranded', severity: 'info', threshold: { value: 7, unit: 'days' }, source: 'test', message: 'stranded',
      site: 'RYY', ward, patientId: `M-${ward}-${i}`, becameTrueAt: (ward === 'MAPLE' ? 1_000 : 1_000_000) + i, raisedAt: (ward === 'MAPLE' ? 1_000 : 1_000_000) + i,
    });
    const raised = [...Array.from({ length: 10 }, (_, i) => alert(i, 'MAPLE')), ...Array.from({ length: 600 }, (_, i) => alert(i, 'X9'))];
    for (let i = 0; i < raised.length; i += 100) await store.raiseAlerts('RYY', raised.slice(i, i + 100).map((a) => ({ alert: a, dueMember: `x-${a.alertId}` })));
    const tok = await token({ sub: 'maple-nurse', role: 'ward', sites: ['RYY'], wards: ['MAPLE'] });
    const nurse = new Recorder(connect(gateways[0]!, tok));
    await connected(nurse.socket);
    expect(await nurse.join({ kind: 'ward', site: 'RYY', ward: 'MAPLE' })).toEqual({ ok: true });
    expect(nurse.snapshots[0]!.alerts.filter((a) => a.alertId.startsWith('many-')).map((a) => a.alertId).sort()).toEqual(raised.slice(0, 10).map((a) => a.alertId).sort());
    const listed = (await (await get(`${gateways[0]}/api/v1/alerts?site=RYY`, tok)).json()) as Alert[];
    expect(listed.filter((a) => a.alertId.startsWith('many-'))).toHaveLength(10);
    const manager = await token({ sub: 'bm-ryy', sites: ['RYY'] });
    const all = (await (await get(`${gateways[0]}/api/v1/alerts?site=RYY`, manager)).json()) as Alert[];
    expect(all.filter((a) => a.alertId.startsWith('many-'))).toHaveLength(610);
  });
  it('tells every connection to join its rooms again once its feed has rejoined the consumer group (positions may have moved past changes)', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const group = `${ns}-gw-known`;
    const stack = await requireStack();
    services.push(await startService('board-gateway', {
      KAFKA_BROKERS: stack.kafkaBrokers.join(','), SCHEMA_REGISTRY_URL: stack.schemaRegistryUrl, REDIS_URL: stack.redisUrl, PFM_TOPIC_NAMESPACE: ns, PFM_TOPIC_PARTITIONS: '2',
      PFM_KEY_PREFIX: prefix, PFM_WARDS_FILE: wardsFile, PFM_JWT_SECRET: SECRET, PFM_LOG_LEVEL: 'warn', PFM_GATEWAY_PORT: String(port), PFM_GATEWAY_GROUP: group,
    }, httpReady(`${url}/healthz`)));
    const reader = new Recorder(connect(url, await token()));
    await connected(reader.socket);
    expect(await reader.join({ kind: 'site', site: 'RXT' })).toEqual({ ok: true });
    const before = reader.resyncs;
    const snapshotsBefore = reader.snapshots.length;
    // Another member joins the gateway's group: the group rebalances and the feed rejoins.
    const other = kafka.consumer({ groupId: group });
    await other.connect();
    try {
      await other.subscribe({ topics: [topics.boardUpdates, topics.alerts], fromBeginning: false });
      await other.run({ eachMessage: async () => undefined });
      await waitFor(() => reader.resyncs > before, { timeoutMs: 60_000, what: 'the resync after the rejoin' });
    } finally {
      await other.disconnect();
    }
    // What a board does when told (live.ts): join again, and a fresh snapshot comes.
    expect(await reader.join({ kind: 'site', site: 'RXT' })).toEqual({ ok: true });
    expect(reader.snapshots.length).toBeGreaterThan(snapshotsBefore);
  }, 120_000);
});
