// board-gateway: REST read API, socket.io rooms (site / ward / team) with a snapshot on
// join and ordered updates after it, alert acknowledgement as an audited event, and the
// web app. Each instance consumes the update and alert topics itself (its own consumer
// group), so a client on any instance sees every change.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import rateLimit from '@fastify/rate-limit';
import fastifyStatic from '@fastify/static';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyRequest } from 'fastify';
import type { Kafka, Producer, Consumer } from 'kafkajs';
import { Server, type Socket } from 'socket.io';
import { z } from 'zod';
import {
  alertSchema, boardUpdateSchema, TOPICS, type Alert, type ClientToServerEvents, type FlowEvent, type Room, type ServerToClientEvents, type SiteStatus,
} from '@pfm/contracts';
import type { FlowStore } from '@pfm/flow-store';
import { createConsumer, sendFlowEvents, superviseConsumer, type FlowEventCodec } from '@pfm/kafka-runtime';
import { endSpan, startSpanFromHeaders, type Logger, type Metrics } from '@pfm/observability';
import { Auth, AuthError, canAcknowledge, canJoin, canSeeAlert, canSeeSite, canSeeWard, verifyBoardReader, wardScope, type Claims } from './auth';
import { securityHeaders } from './headers';
import { insightsProxy } from './insights-proxy';
import { ReplayBoards } from './replay-board';
import { socketRooms, updateRooms } from './rooms';
import { admissionQueueStatus, outOfArea, patientsByFlag, sitePressure, timeline } from './views';
import { escalation, isLocalWard } from '@pfm/flow-domain';

export { roomName, socketRooms, updateRooms } from './rooms';

export interface GatewayDeps {
  store: FlowStore;
  kafka: Kafka;
  producer: Producer;
  codec: FlowEventCodec;
  auth: Auth;
  logger: Logger;
  metrics?: Metrics;
  webDir?: string;
  /** 'wall' (live) or 'engine': read the engine's clock from Redis (event-time demos and replays). */
  clock?: 'wall' | 'engine';
  topics?: { boardUpdates: string; alerts: string; flowEvents: string };
  /** Where reads of patient data are recorded (default: the log, one `audit` line each). */
  audit?: (entry: GatewayAuditEntry) => void;
  /** HTTP requests a minute from one client address before 429 (probes and /metrics are not counted). */
  rateLimitPerMinute?: number;
  /** An HTTP connection that sends nothing for this long is closed (slow clients); upgraded sockets (socket.io) are not affected. */
  idleTimeoutMs?: number;
  /** The insights service's base URL: /api/v1/insights/* is passed to it (unset: 503). */
  insightsUrl?: string;
  /** socket.io connections open at once for one reader (the token's subject); beyond it the connection is refused (default 20). */
  maxSocketsPerUser?: number;
  /** socket.io connections open at once from one client address, whoever holds them (default 500). */
  maxSocketsPerAddress?: number;
}

/**
 * One read of the board by a known reader (REST request or room join), refusals included:
 * who, role, what, where, when and the answer. `patientId` is the local id of the one
 * patient whose timeline was asked for (never a name or an NHS number).
 */
export interface GatewayAuditEntry {
  at: string;
  who: string;
  role: string;
  action: string;
  site?: string;
  ward?: string;
  team?: string;
  patientId?: string;
  status: number;
}

const roomSchema: z.ZodType<Room> = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('site'), site: z.string().max(16) }),
  z.strictObject({ kind: z.literal('ward'), site: z.string().max(16), ward: z.string().max(32) }),
  z.strictObject({ kind: z.literal('team'), site: z.string().max(16), team: z.string().max(32) }),
]);
const ackSchema = z.strictObject({ alertId: z.string().min(1).max(200), note: z.string().max(500).optional() });
/** A named owner: a person's name as staff would read it on the board (the caller's own id when left out). */
const ownerName = z.string().trim().min(1).max(80).refine((v) => !/[<>]/.test(v) && [...v].every((ch) => ch.charCodeAt(0) >= 0x20), 'a name, without control characters or angle brackets');
const ownSchema = z.strictObject({ alertId: z.string().min(1).max(200), owner: ownerName.optional() });

/** How soon after a board update the site status is re-read (updates in a burst share it). */
const SITE_STATUS_DELAY_MS = 250;
/** How often site rooms are checked for changes with no ward update (referrals waiting). */
const SITE_STATUS_CHECK_MS = 5000;

/** Alert versions remembered to drop repeats and stale changes (oldest forgotten first). */
const ALERT_VERSIONS_KEPT = 200_000;

/** Longest timer Node accepts (about 24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** What the gateway keeps on a connection: the reader's claims, and how to give back its places under the connection caps. */
interface SocketData { claims: Claims; release?: () => void }
type IoSocket = Socket<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;

/** Open connections per key (a reader, an address), each counted while its socket lives. */
class ConnectionCounts {
  private readonly open = new Map<string, number>();
  count(key: string): number { return this.open.get(key) ?? 0; }
  take(key: string): () => void {
    this.open.set(key, this.count(key) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const n = this.count(key) - 1;
      if (n > 0) this.open.set(key, n); else this.open.delete(key);
    };
  }
}

export class Gateway {
  readonly app: FastifyInstance;
  readonly io: Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;
  private consumer: Consumer | undefined;
  private readonly clockKind: 'wall' | 'engine';
  private readonly topics;
  private readonly connections;
  private readonly alertsSeen;
  /** Ward patient lists being read for a push: key -> whether another change came meanwhile. */
  private readonly patientPushes = new Map<string, { again: boolean }>();
  /** Sites with a site-status push scheduled; the last status sent per site and ward scope. */
  private readonly sitePushes = new Set<string>();
  private readonly lastSiteStatus = new Map<string, string>();
  private siteTimer: NodeJS.Timeout | undefined;
  private closing = false;
  private readonly feedRestarts;
  private readonly feedResyncs;
  /** Highest version of each alert sent on: delivery is at least once, each change is shown once. */
  private readonly alertVersions = new Map<string, number>();
  /**
   * Highest escalation level of each alert seen, so that only the version that raises it
   * is pushed to the role now responsible (not a later owner change of an escalated alert).
   * Not known after a restart: the next version of an escalated alert is pushed once more.
   */
  private readonly alertEscalations = new Map<string, number>();
  /**
   * The ward of the last version of each alert seen, so that when an alert follows its
   * patient to another ward the old ward's room is told too. Not known after a restart:
   * then the old ward's screens drop it on their next snapshot.
   */
  private readonly alertWards = new Map<string, string | undefined>();
  /** The board at a past time (sandbox replays of the flow log). */
  private readonly replays: ReplayBoards;
  /** The verified reader of each request, for its audit line. */
  private readonly readers = new WeakMap<FastifyRequest, Claims>();
  private readonly audit: (entry: GatewayAuditEntry) => void;
  /** Time-travel snapshots this gateway reads (and takes, when its main runs a keeper). */
  get snapshots(): ReplayBoards['snapshots'] { return this.replays.snapshots; }

  constructor(private readonly d: GatewayDeps) {
    this.clockKind = d.clock ?? 'wall';
    this.audit = d.audit ?? ((entry) => d.logger.info({ audit: entry }, 'audit'));
    this.topics = d.topics ?? { boardUpdates: TOPICS.boardUpdates, alerts: TOPICS.alerts, flowEvents: TOPICS.flowEvents };
    this.replays = new ReplayBoards({ store: d.store, kafka: d.kafka, producer: d.producer, codec: d.codec, logger: d.logger, flowTopic: this.topics.flowEvents });
    this.feedRestarts = d.metrics?.counter('pfm_gateway_feed_restarts_total', 'Times the board feed consumer was started again after kafkajs gave it up');
    this.feedRestarts?.inc(0);
    this.feedResyncs = d.metrics?.counter('pfm_gateway_feed_resyncs_total', 'Times every connection was told to join its rooms again for fresh snapshots, after the board feed (re)joined its consumer group');
    this.feedResyncs?.inc(0);
    this.connections = d.metrics?.gauge('pfm_gateway_connections', 'Connected socket.io clients');
    this.alertsSeen = d.metrics?.counter('pfm_gateway_alerts_total', 'Alert changes received from the engine and sent to rooms, by rule, severity and state (raised, escalated, acknowledged, resolved)', ['rule', 'severity', 'state']);
    this.app = Fastify({
      loggerInstance: d.logger as unknown as FastifyBaseLogger, bodyLimit: 64 * 1024, logController: new LogController({ disableRequestLogging: true }),
      // Slow clients cannot hold connections: idle sockets and slow requests are cut.
      connectionTimeout: d.idleTimeoutMs ?? 30_000, requestTimeout: 60_000,
    });
    securityHeaders(this.app);
    void this.app.register(rateLimit, {
      global: true, max: d.rateLimitPerMinute ?? 1200, timeWindow: 60_000,
      keyGenerator: (req) => req.ip,
      allowList: (req) => { const path = req.url.split('?')[0]; return path === '/healthz' || path === '/readyz' || path === '/metrics'; },
      errorResponseBuilder: (_req, ctx) => ({ statusCode: 429, error: 'rate_limited', message: `More than ${ctx.max} requests a minute from this client; retry in ${Math.ceil(ctx.ttl / 1000)} s.` }),
    });
    this.io = new Server(this.app.server, { serveClient: false, maxHttpBufferSize: 16 * 1024, pingInterval: 10000, pingTimeout: 10000 });
    // The routes once the rate limit is in place (it applies to routes declared after it loads).
    void this.app.register(async () => { this.routes(); });
    this.sockets();
  }

  async listen(port: number, host = '127.0.0.1'): Promise<number> {
    await this.app.listen({ port, host });
    const addr = this.app.server.address();
    return typeof addr === 'object' && addr ? addr.port : port;
  }

  /** Consumes board updates and alerts (from now on) and fans them out to rooms. */
  async startFeed(groupId = `pfm-gateway-${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`): Promise<void> {
    // Referral counts change with no ward update: look for changes every few seconds too.
    this.siteTimer = setInterval(() => {
      for (const room of this.io.sockets.adapter.rooms.keys()) if (room.startsWith('site:')) this.pushSiteStatus(room.slice(5));
    }, SITE_STATUS_CHECK_MS);
    await this.runFeed(groupId);
  }

  private async runFeed(groupId: string): Promise<void> {
    const consumer = createConsumer(this.d.kafka, { groupId });
    this.consumer = consumer;
    // A feed kafkajs gives up would freeze every board and drop alerts, silently: start it
    // again under the same group, so it goes on from where it stopped.
    superviseConsumer(consumer, {
      logger: this.d.logger, what: 'board feed', stopped: () => this.closing,
      onRestart: () => this.feedRestarts?.inc(),
      restart: async () => { await this.consumer?.disconnect().catch(() => undefined); await this.runFeed(groupId); },
    });
    // Each join of the group (the first, a restart of the feed, a rejoin after a broker
    // outage) may start a partition that had no committed offset at its end: what was
    // published before it, after a reader's snapshot, would never reach that reader. Once
    // the feed has fetched again (its positions settled, so whatever it skipped is in Redis
    // by then), every connection is told to join its rooms again for fresh snapshots.
    let joined = false;
    consumer.on(consumer.events.GROUP_JOIN, () => { joined = true; });
    consumer.on(consumer.events.FETCH, () => {
      if (!joined) return;
      joined = false;
      this.feedResyncs?.inc();
      this.io.emit('resync');
    });
    await consumer.connect();
    await consumer.subscribe({ topics: [this.topics.boardUpdates, this.topics.alerts], fromBeginning: false });
    await consumer.run({
      eachMessage: async ({ topic, message }) => {
        // Continues the trace of the event that caused this update (ingest -> engine -> here).
        const span = startSpanFromHeaders('gateway emit', message.headers, { 'messaging.system': 'kafka', 'messaging.destination.name': topic, 'messaging.kafka.offset': Number(message.offset) });
        try {
          const value = JSON.parse(message.value!.toString('utf8')) as unknown;
          if (topic === this.topics.boardUpdates) {
            const u = boardUpdateSchema.parse(value);
            this.io.to(updateRooms(u.site, u.ward)).emit('update', u);
            if (u.change) this.pushPatients(u.site, u.ward);
            this.pushSiteStatus(u.site);
          } else {
            const a = alertSchema.parse(value);
            const escalatedBefore = this.alertEscalations.get(`${a.site}/${a.alertId}`);
            if (!this.isNewAlertVersion(a)) return;
            const escalatedNow = a.escalated !== undefined && !a.acknowledged && a.resolvedAt === undefined && a.escalated.level > (escalatedBefore ?? 0);
            if (a.escalated) this.alertEscalations.set(`${a.site}/${a.alertId}`, a.escalated.level);
            this.alertsSeen?.inc({ rule: a.rule, severity: a.severity, state: a.resolvedAt !== undefined ? 'resolved' : a.acknowledged ? 'acknowledged' : escalatedNow ? 'escalated' : 'raised' });
            const rooms = [`site:${a.site}`];
            if (a.ward) rooms.push(`ward:${a.site}:${a.ward}`);
            if (a.team) rooms.push(`team:${a.site}:${a.team}`);
            // The alert followed its patient to another ward: the old ward's room is told as well.
            const key = `${a.site}/${a.alertId}`;
            const was = this.alertWards.has(key) ? this.alertWards.get(key) : a.ward;
            this.alertWards.delete(key);
            this.alertWards.set(key, a.ward);
            if (this.alertWards.size > ALERT_VERSIONS_KEPT) this.alertWards.delete(this.alertWards.keys().next().value!);
            const moved = was !== a.ward && was !== undefined;
            if (moved) rooms.push(`ward:${a.site}:${was}`);
            for (const s of await this.io.in(rooms).fetchSockets()) {
              if (canSeeAlert(s.data.claims, a)) s.emit('alert', a);
              // Shown before (on the old ward), out of this connection's scope now: off its screen.
              else if (moved && canSeeAlert(s.data.claims, { ...a, ward: was })) s.emit('alertGone', { site: a.site, alertId: a.alertId });
            }
            if (escalatedNow) await this.pushEscalation(a);
          }
        } catch (err) {
          this.d.logger.warn({ err, topic, offset: message.offset }, 'skipping a message the gateway cannot read');
          if (span) endSpan(span, err);
          return;
        }
        if (span) endSpan(span);
      },
    });
  }

  /**
   * An alert escalated: every connection of the role now responsible whose scope covers
   * the alert (site, ward, team and area, as for the feed) gets it as a new alert, in
   * whatever rooms it is, or none.
   */
  private async pushEscalation(a: Alert): Promise<void> {
    const role = a.escalated!.role;
    let n = 0;
    for (const s of await this.io.fetchSockets()) {
      if (s.data.claims.role !== role || !canSeeAlert(s.data.claims, a)) continue;
      s.emit('escalated', a);
      n += 1;
    }
    this.d.logger.info({ site: a.site, alertId: a.alertId, rule: a.rule, level: a.escalated!.level, role, connections: n }, 'alert escalated: sent to the role now responsible');
  }

  /** True the first time a version of an alert is seen and it is newer than any seen before. */
  private isNewAlertVersion(a: Alert): boolean {
    const key = `${a.site}/${a.alertId}`;
    const version = a.version ?? 1;
    const seen = this.alertVersions.get(key);
    if (seen !== undefined && seen >= version) return false;
    this.alertVersions.delete(key);
    this.alertVersions.set(key, version);
    if (this.alertVersions.size > ALERT_VERSIONS_KEPT) this.alertVersions.delete(this.alertVersions.keys().next().value!);
    if (this.alertEscalations.size > ALERT_VERSIONS_KEPT) this.alertEscalations.delete(this.alertEscalations.keys().next().value!);
    return true;
  }

  /**
   * After a change on a ward, sends the ward room the ward's patient list (the bed board
   * needs who moved, not only the counts). One read at a time per ward: changes that
   * arrive while it runs are folded into one more read, so a burst costs two reads.
   */
  private pushPatients(site: string, ward: string): void {
    const room = `ward:${site}:${ward}`;
    if (!this.io.sockets.adapter.rooms.get(room)?.size) return;
    const pending = this.patientPushes.get(room);
    if (pending) { pending.again = true; return; }
    const state = { again: false };
    this.patientPushes.set(room, state);
    const run = async (): Promise<void> => {
      do {
        state.again = false;
        const patients = await this.d.store.patientsOnWard(site, ward, await this.now(site));
        this.io.to(room).emit('patients', { site, ward, patients });
      } while (state.again);
    };
    void run().catch((err: unknown) => this.d.logger.warn({ err, site, ward }, 'could not push the ward patient list'))
      .finally(() => this.patientPushes.delete(room));
  }

  /** Site status for a client's ward scope (what GET /api/v1/site answers it). */
  private async siteStatus(c: Claims, site: string): Promise<SiteStatus> {
    const { store } = this.d;
    const now = await this.now(site);
    const wards = await store.wardSummaries(site, (await store.wardCodes(site)).filter((w) => canSeeWard(c, site, w)), now);
    const teams = await store.teamCounts(site);
    return {
      site, pressure: sitePressure(wards, store.ctxFor(site).thresholds.occupancyPct), referralsWaiting: Object.values(teams).reduce((a, b) => a + b, 0), referralsByTeam: teams,
      outOfArea: await outOfArea(store, site, wards, now),
      admissionQueue: admissionQueueStatus(await store.admissionQueue(site, now), store.ctxFor(site).thresholds.admissionWaitHours),
      expectedDischarges: await store.expectedDischarges(site, wards.filter(isLocalWard).map((w) => w.ward), now),
    };
  }

  /**
   * Sends the site room's clients their site status when it has changed: one read per
   * distinct ward scope, at most one push per site every SITE_STATUS_DELAY_MS.
   */
  private pushSiteStatus(site: string): void {
    if (this.sitePushes.has(site)) return;
    this.sitePushes.add(site);
    setTimeout(() => {
      this.sitePushes.delete(site);
      void (async () => {
        const byScope = new Map<string, { claims: Claims; sockets: { emit: IoSocket['emit'] }[] }>();
        for (const s of await this.io.in(`site:${site}`).fetchSockets()) {
          const key = wardScope(s.data.claims)?.join(',') ?? '*';
          const group = byScope.get(key) ?? { claims: s.data.claims, sockets: [] };
          group.sockets.push(s);
          byScope.set(key, group);
        }
        for (const [key, group] of byScope) {
          const status = await this.siteStatus(group.claims, site);
          const text = JSON.stringify(status);
          if (this.lastSiteStatus.get(`${site}|${key}`) === text) continue;
          this.lastSiteStatus.set(`${site}|${key}`, text);
          for (const s of group.sockets) s.emit('site', status);
        }
      })().catch((err: unknown) => this.d.logger.warn({ err, site }, 'could not push the site status'));
    }, SITE_STATUS_DELAY_MS);
  }

  async close(): Promise<void> {
    this.closing = true;
    clearInterval(this.siteTimer);
    await this.consumer?.disconnect();
    this.io.close();
    await this.app.close();
  }

  /** What "now" is for LOS and flags: the wall clock, or the engine's event-time clock. */
  private async now(site: string): Promise<number> {
    if (this.clockKind === 'wall') return Date.now();
    return (await this.d.store.clock(site)) ?? Date.now();
  }

  private async claims(req: FastifyRequest): Promise<Claims> {
    const h = req.headers.authorization;
    const c = await verifyBoardReader(this.d.auth, h?.startsWith('Bearer ') ? h.slice(7) : undefined);
    this.readers.set(req, c);
    return c;
  }

  /** One audit line per answered API request of a verified reader (what it asked for, cut short; never the answer). */
  private auditRequest(req: FastifyRequest, status: number): void {
    const c = this.readers.get(req);
    if (!c) return;
    const text = (v: unknown, max: number) => (typeof v === 'string' && v ? v.slice(0, max) : undefined);
    const params = (req.params ?? {}) as Record<string, unknown>;
    const query = (req.query ?? {}) as Record<string, unknown>;
    const site = text(query.site, 16) ?? c.sites[0];
    const ward = text(params.ward, 32);
    const patientId = text(params.patientId, 64);
    this.audit({
      at: new Date().toISOString(), who: c.sub, role: c.role, action: `${req.method} ${req.routeOptions.url ?? 'unknown'}`,
      ...(site ? { site } : {}), ...(ward ? { ward } : {}), ...(patientId ? { patientId } : {}), status,
    });
  }

  private routes(): void {
    const app = this.app;
    const { store } = this.d;
    app.setErrorHandler((err: Error & { statusCode?: number }, _req, reply) => {
      if (err instanceof AuthError) return reply.code(err.code === 'forbidden' ? 403 : 401).send({ error: err.code, message: err.message });
      if (err instanceof z.ZodError) return reply.code(400).send({ error: 'bad_request', errors: err.issues.map((i) => ({ path: i.path.join('.'), message: i.message })) });
      if (err.statusCode === 429) return reply.code(429).send({ error: 'rate_limited', message: err.message });
      if (err.statusCode && err.statusCode < 500) return reply.code(err.statusCode).send({ error: 'bad_request', message: err.message });
      this.d.logger.error({ err }, 'request failed');
      return reply.code(500).send({ error: 'internal', message: 'The board could not be read; try again.' });
    });
    // Every read of the API by a verified reader is audited, refusals included.
    app.addHook('onResponse', async (req, reply) => { this.auditRequest(req, reply.statusCode); });
    app.get('/healthz', async () => ({ status: 'alive' }));
    app.get('/readyz', async (_req, reply) => {
      const ok = (await store.redis.ping()) === 'PONG';
      return reply.code(ok ? 200 : 503).send({ status: ok ? 'ready' : 'not_ready' });
    });
    if (this.d.metrics) {
      const m = this.d.metrics;
      app.get('/metrics', async (_req, reply) => reply.type(m.registry.contentType).send(await m.registry.metrics()));
    }
    const q = z.object({ site: z.string().max(16).optional(), flag: z.enum(['stranded', 'super_stranded', 'long_stay', 'crfd', 'edd_passed', 'oap', 'on_leave']).optional(), spellId: z.string().max(64).optional() });
    const siteOf = (c: Claims, site?: string): string => {
      const s = site ?? c.sites[0]!;
      if (!canSeeSite(c, s)) throw new AuthError('forbidden', `Your access does not include site ${s}.`);
      return s;
    };

    app.get('/api/v1/wards', async (req) => {
      const c = await this.claims(req);
      const site = siteOf(c, q.parse(req.query).site);
      const codes = (await store.wardCodes(site)).filter((w) => canSeeWard(c, site, w));
      return store.wardSummaries(site, codes, await this.now(site));
    });
    app.get<{ Params: { ward: string } }>('/api/v1/wards/:ward', async (req, reply) => {
      const c = await this.claims(req);
      const site = siteOf(c, q.parse(req.query).site);
      const ward = z.string().max(32).parse(req.params.ward);
      if (!canSeeWard(c, site, ward)) throw new AuthError('forbidden', `Your access does not include ward ${ward}.`);
      if (!(await store.wardCodes(site)).includes(ward)) return reply.code(404).send({ error: 'not_found', message: `No ward ${ward} at ${site}` });
      const now = await this.now(site);
      const [summary] = await store.wardSummaries(site, [ward], now);
      return { summary, patients: await store.patientsOnWard(site, ward, now) };
    });
    app.get('/api/v1/patients', async (req) => {
      const c = await this.claims(req);
      const { site: s, flag } = q.parse(req.query);
      const site = siteOf(c, s);
      return (await patientsByFlag(store, site, flag, await this.now(site))).filter((r) => canSeeWard(c, site, r.ward));
    });
    app.get<{ Params: { patientId: string } }>('/api/v1/patients/:patientId/timeline', async (req, reply) => {
      const c = await this.claims(req);
      const { site: s, spellId } = q.parse(req.query);
      const site = siteOf(c, s);
      const rows = await store.patient(site, req.params.patientId);
      const wardsOf = rows ? rows.events.map((e) => (e.payload as { ward?: string }).ward).filter((w): w is string => !!w) : [];
      if (!rows || !wardsOf.some((w) => canSeeWard(c, site, w))) return reply.code(404).send({ error: 'not_found', message: 'No such patient in your scope' });
      // Only the stays on wards in scope (a ward reader must not see the patient's history elsewhere).
      return { events: await timeline(store, site, req.params.patientId, spellId, (w) => (w === undefined ? wardScope(c) === null : canSeeWard(c, site, w))) };
    });
    app.get('/api/v1/alerts', async (req) => {
      const c = await this.claims(req);
      const site = siteOf(c, q.parse(req.query).site);
      const now = await this.now(site);
      // Who each unacknowledged alert is with now (Critical: ward or crisis team, then bed
      // manager, then ops). `escalated` is what the engine wrote and pushed; the level here
      // never reads lower than it (the engine writes a level within a scan interval of it falling due).
      return (await store.alerts(site, { limit: 'all' })).filter((a) => canSeeAlert(c, a)).map((a) => {
        const esc = escalation(a, now, store.ctxFor(site).thresholds.escalation);
        if (!esc) return a;
        return { ...a, escalation: a.escalated && a.escalated.level > esc.level ? { level: a.escalated.level, role: a.escalated.role } : esc };
      });
    });
    // A named person takes an alert (no body or no owner: the caller) or is given it by one of
    // the alert's owners (canAcknowledge). Written to the flow log as alert.owned; the engine
    // puts the owner on the alert and publishes its next version (202: accepted, applied shortly).
    app.post<{ Params: { alertId: string } }>('/api/v1/alerts/:alertId/owner', async (req, reply) => {
      const c = await this.claims(req);
      const body = z.strictObject({ owner: ownerName.optional() }).parse(req.body ?? {});
      const r = await this.own(c, z.string().min(1).max(200).parse(req.params.alertId), body.owner);
      if (r.ok) return reply.code(202).send(r);
      return reply.code(r.status).send({ error: r.status === 404 ? 'not_found' : r.status === 403 ? 'forbidden' : 'conflict', message: r.error });
    });
    // The 72h follow-up worklist, cut to the client's scope like the alerts it would raise.
    app.get('/api/v1/followups', async (req) => {
      const c = await this.claims(req);
      const site = siteOf(c, q.parse(req.query).site);
      const now = await this.now(site);
      return (await store.followUpsDue(site, now)).filter((f) =>
        canSeeAlert(c, { alertId: '', rule: 'followup_missed', severity: 'critical', threshold: { value: 0, unit: 'hours' }, source: '', message: '', becameTrueAt: 0, raisedAt: 0, ...f }));
    });
    app.get('/api/v1/site', async (req) => {
      const c = await this.claims(req);
      return this.siteStatus(c, siteOf(c, q.parse(req.query).site));
    });

    // Time travel (ops and bed managers): the board as it was at `at`, replayed from the
    // flow log into a sandbox; `basis` = what the board showed then ("shown", by
    // recordedAt) or what had happened by then ("known", by occurredAt, with hindsight).
    const replayRole = (c: Claims): void => {
      if (c.role !== 'ops' && c.role !== 'bed_manager') throw new AuthError('forbidden', 'Replay is for ops and bed managers.');
    };
    const replayQuery = z.object({
      at: z.string({ error: 'required: an ISO-8601 time or epoch milliseconds' }).max(40).transform((v, ctx) => {
        const t = /^\d{1,15}$/.test(v) ? Number(v) : Date.parse(v);
        if (!Number.isFinite(t) || t < 0) {
          ctx.addIssue({ code: 'custom', message: 'not a time: give an ISO-8601 time (2026-03-01T12:00:00Z) or epoch milliseconds' });
          return z.NEVER;
        }
        return t;
      }),
      basis: z.enum(['shown', 'known']).default('shown'),
    });
    app.get('/api/v1/replay/board', async (req) => {
      const c = await this.claims(req);
      replayRole(c);
      const { at, basis } = replayQuery.parse(req.query);
      const board = await this.replays.boardAt(at, basis);
      const sites = board.sites.filter((s) => canSeeSite(c, s.site)).map((s) => ({
        site: s.site,
        wards: s.wards.filter((w) => canSeeWard(c, s.site, w.ward)),
        flagged: s.flagged.filter((r) => canSeeWard(c, s.site, r.ward)),
        alerts: s.alerts.filter((a) => canSeeAlert(c, a)),
      }));
      // A past board lists patients: the read is audited (who, when, which instant; never the content).
      this.d.logger.info({ audit: { at: Date.now(), who: c.sub, role: c.role, action: 'timetravel.board', instant: at, basis, patients: sites.reduce((n, s) => n + s.flagged.length, 0) } }, 'audit');
      return { at: board.at, basis, sites };
    });
    app.get('/api/v1/replay/range', async (req) => {
      replayRole(await this.claims(req));
      return this.replays.eventRange();
    });

    insightsProxy(app, this.d.insightsUrl, this.d.logger);

    const web = this.d.webDir ?? join(__dirname, '..', 'web', 'dist');
    if (existsSync(join(web, 'index.html'))) {
      void app.register(fastifyStatic, { root: web, prefix: '/' });
    } else {
      app.get('/', async (_req, reply) => reply.type('text/plain').send('The web app is not built: run pnpm --filter @pfm/board-web build'));
    }
  }

  private sockets(): void {
    const perUser = new ConnectionCounts();
    const perAddress = new ConnectionCounts();
    const maxPerUser = this.d.maxSocketsPerUser ?? 20;
    const maxPerAddress = this.d.maxSocketsPerAddress ?? 500;
    /** The connect_error clients get for a connection over a cap: message for people, data.code + data.status for code. */
    const tooMany = (message: string, limit: number) => Object.assign(new Error(message), { data: { code: 'too_many_connections', status: 429, limit } });
    this.io.use((socket, next) => {
      const address = socket.handshake.address;
      // The address first, before the token costs anything to check.
      if (perAddress.count(address) >= maxPerAddress) {
        this.d.logger.warn({ limit: maxPerAddress }, 'socket.io connection refused: too many from one client address');
        next(tooMany(`Too many live connections from this address (at most ${maxPerAddress}): close other boards first.`, maxPerAddress));
        return;
      }
      const token = (socket.handshake.auth as { token?: unknown }).token;
      verifyBoardReader(this.d.auth, typeof token === 'string' ? token : undefined)
        .then((claims) => {
          // One issuer per deployment: the subject names the reader.
          const user = claims.sub;
          if (perUser.count(user) >= maxPerUser) {
            this.audit({ at: new Date().toISOString(), who: claims.sub, role: claims.role, action: 'connect', status: 429 });
            next(tooMany(`Too many live connections for this user (at most ${maxPerUser}): close other boards or tabs first.`, maxPerUser));
            return;
          }
          if (perAddress.count(address) >= maxPerAddress) {
            next(tooMany(`Too many live connections from this address (at most ${maxPerAddress}): close other boards first.`, maxPerAddress));
            return;
          }
          // Counted from here until the socket closes.
          const u = perUser.take(user);
          const a = perAddress.take(address);
          socket.data.release = () => { u(); a(); };
          socket.data.claims = claims;
          next();
        })
        .catch((e: unknown) => {
          // The shape clients rely on: message for people, data.code + data.status for code.
          const code = e instanceof AuthError ? e.code : 'invalid_token';
          const err = new Error(e instanceof AuthError ? e.message : 'The access token is not valid.') as Error & { data?: unknown };
          err.data = { code, status: code === 'forbidden' ? 403 : 401 };
          next(err);
        });
    });
    this.io.on('connection', (socket: IoSocket) => {
      this.connections?.inc();
      // A live connection must not outlive its token: say why, then close it.
      const exp = socket.data.claims.exp;
      const expiry = exp === undefined ? undefined : setTimeout(() => {
        socket.emit('problem', { code: 'token_expired', message: 'The access token has expired: ask for a new board link.' });
        socket.disconnect(true);
      }, Math.min(MAX_TIMER_MS, Math.max(0, exp * 1000 - Date.now())));
      socket.on('disconnect', () => { this.connections?.dec(); clearTimeout(expiry); socket.data.release?.(); });
      socket.on('join', (raw, ack) => {
        const reply = typeof ack === 'function' ? ack : () => undefined;
        const parsed = roomSchema.safeParse(raw);
        if (!parsed.success) return reply({ ok: false, error: 'invalid room' });
        const room = parsed.data;
        const c = socket.data.claims;
        const allowed = canJoin(c, room);
        this.audit({
          at: new Date().toISOString(), who: c.sub, role: c.role, action: `join ${room.kind}`, site: room.site,
          ...(room.kind === 'ward' ? { ward: room.ward } : {}), ...(room.kind === 'team' ? { team: room.team } : {}), status: allowed ? 200 : 403,
        });
        if (!allowed) return reply({ ok: false, error: 'forbidden: this room is outside your access' });
        void socket.join(socketRooms(socket.data.claims, room));
        void this.snapshot(socket, room).then(() => reply({ ok: true })).catch((err: unknown) => {
          this.d.logger.error({ err }, 'snapshot failed');
          reply({ ok: false, error: 'snapshot failed; retry' });
        });
      });
      socket.on('leave', (raw) => {
        const parsed = roomSchema.safeParse(raw);
        if (parsed.success) for (const r of socketRooms(socket.data.claims, parsed.data)) void socket.leave(r);
      });
      socket.on('own', (raw, ack) => {
        const reply = typeof ack === 'function' ? ack : () => undefined;
        const parsed = ownSchema.safeParse(raw);
        if (!parsed.success) return reply({ ok: false, error: 'invalid owner' });
        void this.own(socket.data.claims, parsed.data.alertId, parsed.data.owner).then((r) => reply(r.ok ? r : { ok: false, error: r.error })).catch((err: unknown) => {
          this.d.logger.error({ err }, 'owning an alert failed');
          reply({ ok: false, error: 'could not record the owner; retry' });
        });
      });
      socket.on('acknowledge', (raw, ack) => {
        const reply = typeof ack === 'function' ? ack : () => undefined;
        const parsed = ackSchema.safeParse(raw);
        if (!parsed.success) return reply({ ok: false, error: 'invalid acknowledgement' });
        void this.acknowledge(socket.data.claims, parsed.data.alertId, parsed.data.note).then(reply).catch((err: unknown) => {
          this.d.logger.error({ err }, 'acknowledge failed');
          reply({ ok: false, error: 'could not record the acknowledgement; retry' });
        });
      });
    });
  }

  private async snapshot(socket: IoSocket, room: Room): Promise<void> {
    const { store } = this.d;
    const c = socket.data.claims;
    const now = await this.now(room.site);
    const codes = room.kind === 'ward' ? [room.ward] : (await store.wardCodes(room.site)).filter((w) => canSeeWard(c, room.site, w));
    const wards = room.kind === 'team' ? [] : await store.wardSummaries(room.site, codes, now);
    const patients = room.kind === 'ward' ? await store.patientsOnWard(room.site, room.ward, now) : [];
    // Every active alert in the room's scope, not the site's newest few hundred.
    const alerts = (await store.alerts(room.site, { limit: 'all' })).filter((a) => canSeeAlert(c, a) && (room.kind !== 'team' || a.team === room.team) && (room.kind !== 'ward' || a.ward === room.ward));
    const status = room.kind === 'site' ? await this.siteStatus(c, room.site) : undefined;
    socket.emit('snapshot', { room, wards, patients, alerts, at: now });
    if (status) socket.emit('site', status);
  }

  /** Records who owns an alert as an alert.owned event (audited, replayable): `owner` defaults to the caller. */
  private async own(c: Claims, alertId: string, owner?: string): Promise<{ ok: true; owner: string } | { ok: false; status: 403 | 404 | 409; error: string }> {
    let alert: Alert | null = null;
    for (const site of c.sites) { alert = await this.d.store.alert(site, alertId); if (alert) break; }
    if (!alert || !canSeeAlert(c, alert)) return { ok: false, status: 404, error: 'no such alert in your scope' };
    if (!canAcknowledge(c, alert)) return { ok: false, status: 403, error: 'forbidden: only the team, ward or bed manager who owns this alert may take it or give it to someone' };
    if (alert.resolvedAt !== undefined) return { ok: false, status: 409, error: 'the alert is resolved: nothing to own' };
    const name = owner ?? c.sub;
    if (alert.owner?.name === name) return { ok: true, owner: name };
    const now = Date.now();
    const e: FlowEvent = {
      eventId: `own:${alertId}:${now}:${c.sub}`.slice(0, 120), type: 'alert.owned', occurredAt: now, recordedAt: now, site: alert.site,
      patientId: alert.patientId ?? `team:${alert.team ?? 'site'}`, nhsNumber: alert.nhsNumber, sourceSystem: 'pfm-board', channel: 'ui',
      payload: { alertId, owner: name, by: c.sub },
    };
    await sendFlowEvents(this.d.producer, this.d.codec, [e], this.topics.flowEvents);
    return { ok: true, owner: name };
  }

  /** Records an acknowledgement as an alert.acknowledged event (audited, replayable). */
  private async acknowledge(c: Claims, alertId: string, note?: string): Promise<{ ok: true } | { ok: false; error: string }> {
    let alert: Alert | null = null;
    for (const site of c.sites) { alert = await this.d.store.alert(site, alertId); if (alert) break; }
    if (!alert || !canSeeAlert(c, alert)) return { ok: false, error: 'no such alert in your scope' };
    if (!canAcknowledge(c, alert)) return { ok: false, error: 'forbidden: only the team, ward or bed manager who owns this alert may acknowledge it' };
    // A second acknowledgement (another person, or the same one again) is recorded on the
    // log too: the alert keeps the first, and the log says who else saw it and when. The
    // event id is per person, so one person acknowledging twice is one record.
    const now = Date.now();
    const e: FlowEvent = {
      eventId: `ack:${alertId}:${c.sub}`, type: 'alert.acknowledged', occurredAt: now, recordedAt: now, site: alert.site,
      patientId: alert.patientId ?? `team:${alert.team ?? 'site'}`, nhsNumber: alert.nhsNumber, sourceSystem: 'pfm-board', channel: 'ui',
      payload: { alertId, by: c.sub, note },
    };
    await sendFlowEvents(this.d.producer, this.d.codec, [e], this.topics.flowEvents);
    return { ok: true };
  }
}
