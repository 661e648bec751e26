// HTTP API of the replay service:
//   POST   /v1/replays                 start a sandbox replay (202), body: name, until, basis, from, speed, outputs, thresholds
//   GET    /v1/replays/:name           progress and result
//   GET    /v1/replays/:name/board?at= the sandbox's board at a time
//   DELETE /v1/replays/:name           drop the sandbox
//   GET    /v1/board?at=&basis=        time travel in one call (from the nearest snapshot to T, returns the board)
// Every route but /healthz needs a verified reader token with the ops role; boards are cut
// to the token's sites; at most maxConcurrent replays run at once (429 beyond); each client
// address at most rateLimitPerMinute requests (429 beyond); every answered request of a
// verified reader is one audit line (who, what, which sandbox, the answer).
import rateLimit from '@fastify/rate-limit';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { z } from 'zod';
import { DEFAULT_THRESHOLDS, type Thresholds } from '@pfm/flow-domain';
import { AuthError, bearer, requireRole, type Auth, type Claims } from '@pfm/access';
import { FlowStore, Keys } from '@pfm/flow-store';
import { boardAt, replay, sandboxPrefix, type ReplayResult } from '@pfm/flow-processing';
import type { ReplayContext } from './context';

const instant = z.union([z.number().int(), z.iso.datetime({ offset: true }).transform((s) => Date.parse(s))]);
const startSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9_-]{1,40}$/),
  until: instant.optional(),
  basis: z.enum(['shown', 'known']).default('shown'),
  from: instant.optional(),
  speed: z.number().min(0).default(0),
  outputs: z.boolean().default(false),
  thresholds: z.strictObject({
    losConvention: z.enum(['elapsed', 'inclusive']),
    strandedDays: z.number().int().min(1).max(365),
    superStrandedDays: z.number().int().min(1).max(3650),
    longStayDays: z.record(z.string().max(40), z.number().int().min(1).max(3650)),
    occupancyPct: z.number().min(1).max(200),
    referralResponseHours: z.strictObject({ emergency: z.number().min(0.25).max(720), very_urgent: z.number().min(0.25).max(720), urgent: z.number().min(0.25).max(720), routine: z.number().min(0.25).max(8760) }).partial(),
    followUpHours: z.number().min(1).max(720),
    parkMinutes: z.number().int().min(1).max(10080),
    followUpExemptDestinations: z.array(z.string().max(32)).max(100),
    followUpWardTypes: z.array(z.string().max(40)).max(50),
  }).partial().optional(),
});

export interface ApiAccess {
  auth: Auth;
  /** Where reads of boards (patient rows) are recorded; default: the log, as audit lines. */
  boardAudit?: (entry: BoardAudit) => void;
  /** Replays running at once in this process (each reads the whole log): beyond it, 429. */
  maxConcurrent?: number;
  /** Requests a minute from one client address (default 120): beyond it, 429. */
  rateLimitPerMinute?: number;
  /** Where reads of replayed boards and replay runs are recorded (default: the log, one `audit` line each). */
  audit?: (entry: ReplayAuditEntry) => void;
}

export interface ReplayAuditEntry { at: string; who: string; role: string; action: string; sandbox?: string; status: number }
/** One read of a past or sandbox board (it lists patients): who, when, which board; never the content. */
export interface BoardAudit { at: number; who: string; role: string; action: 'timetravel.board' | 'sandbox.board'; instant: number; basis?: 'shown' | 'known'; sandbox?: string; patients: number }

/** A board cut to the sites the token names. */
const forSites = <B extends { sites: { site: string }[] }>(c: Claims, board: B): B => ({ ...board, sites: board.sites.filter((s) => c.sites.includes(s.site)) });

interface Job { status: 'running' | 'done' | 'failed'; done: number; total: number; watermark: number; startedAt: number; result?: Omit<ReplayResult, 'store'>; error?: string }

export function buildApi(ctx: ReplayContext, access: ApiAccess): FastifyInstance {
  const app = Fastify({
    loggerInstance: ctx.logger as unknown as FastifyBaseLogger, bodyLimit: 64 * 1024, logController: new LogController({ disableRequestLogging: true }),
    // A time travel computes for a while before its first byte: the socket's idle timeout
    // must not cut it before requestTimeout does.
    requestTimeout: 120_000, connectionTimeout: 125_000,
  });
  const jobs = new Map<string, Job>();
  const maxConcurrent = access.maxConcurrent ?? 2;
  let running = 0;
  /** Runs a replay under the quota, or answers 429 (null). */
  const slot = async <T>(work: () => Promise<T>): Promise<{ value: Promise<T> } | null> => {
    if (running >= maxConcurrent) return null;
    running += 1;
    const value = work().finally(() => { running -= 1; });
    return { value };
  };
  const busy = { error: 'too_many_replays', message: `At most ${maxConcurrent} replays run at once; try again when one has finished.` };

  const audit = access.audit ?? ((entry: ReplayAuditEntry) => ctx.logger.info({ audit: entry }, 'audit'));
  void app.register(rateLimit, {
    global: true, max: access.rateLimitPerMinute ?? 120, timeWindow: 60_000, keyGenerator: (req) => req.ip,
    allowList: (req) => req.url === '/healthz',
    errorResponseBuilder: (_req, c) => ({ statusCode: 429, error: 'rate_limited', message: `More than ${c.max} requests a minute from this client; retry in ${Math.ceil(c.ttl / 1000)} s.` }),
  });
  app.addHook('onResponse', async (req, reply) => {
    const c = (req as unknown as { claims: Claims | null }).claims;
    if (!c) return;
    const name = (req.params as { name?: unknown } | undefined)?.name;
    const body = req.body as { name?: unknown } | undefined;
    const sandbox = typeof name === 'string' ? name : typeof body?.name === 'string' ? body.name : undefined;
    audit({ at: new Date().toISOString(), who: c.sub, role: c.role, action: `${req.method} ${req.routeOptions.url ?? 'unknown'}`, ...(sandbox ? { sandbox: sandbox.slice(0, 40) } : {}), status: reply.statusCode });
  });

  app.decorateRequest('claims', null);
  // After the rate limit (a route's onRequest) and before the body is read.
  app.addHook('preParsing', async (req, _reply, payload) => {
    if (req.url === '/healthz') return payload;
    const c = await access.auth.verify(bearer(req.headers.authorization));
    requireRole(c, ['ops'], 'Replay');
    (req as unknown as { claims: Claims }).claims = c;
    return payload;
  });
  const claimsOf = (req: unknown): Claims => (req as { claims: Claims }).claims;
  const auditBoard = access.boardAudit ?? ((entry: BoardAudit) => ctx.logger.info({ audit: entry }, 'audit'));
  const patients = (b: { sites: { flagged: unknown[] }[] }) => b.sites.reduce((n, s) => n + s.flagged.length, 0);
  const storeOf = (name: string) => new FlowStore(ctx.redis, new Keys(sandboxPrefix(name)), ctx.registry, ctx.live.thresholds);

  app.setErrorHandler((err: Error & { statusCode?: number }, _req, reply) => {
    if (err instanceof AuthError) return reply.code(err.status).send({ error: err.code, message: err.message });
    if (err instanceof z.ZodError) return reply.code(400).send({ error: 'bad_request', errors: err.issues.map((i) => ({ path: i.path.join('.'), message: i.message })) });
    if (err.statusCode === 429) return reply.code(429).send({ error: 'rate_limited', message: err.message });
    if (err.statusCode && err.statusCode < 500) return reply.code(err.statusCode).send({ error: 'bad_request', message: err.message });
    ctx.logger.error({ err }, 'replay API error');
    // Internal detail stays in the log; the client learns only that it failed.
    return reply.code(500).send({ error: 'internal', message: 'The replay request failed; see the replay service log.' });
  });
  // The routes once the rate limit is in place (it applies to routes declared after it loads).
  void app.register(async () => {
    app.get('/healthz', async () => ({ status: 'alive' }));

    app.post('/v1/replays', async (req, reply) => {
      const b = startSchema.parse(req.body);
      if (jobs.get(b.name)?.status === 'running') return reply.code(409).send({ error: 'running', message: `sandbox ${b.name} is already replaying` });
      const thresholds: Thresholds = { ...ctx.live.thresholds, ...(b.thresholds as Partial<Thresholds> | undefined) };
      const job: Job = { status: 'running', done: 0, total: 0, watermark: 0, startedAt: Date.now() };
      const started = await slot(() => replay(ctx, {
        name: b.name, thresholds, sourceTopic: ctx.topic, until: b.until, basis: b.basis, fromTimestamp: b.from, speed: b.speed, outputs: b.outputs, snapshots: ctx.snapshots,
        onProgress: (p) => Object.assign(job, p),
      }));
      if (!started) return reply.code(429).header('retry-after', '30').send(busy);
      jobs.set(b.name, job);
      started.value.then(({ store: _store, ...result }) => { job.status = 'done'; job.result = result; }, (e: unknown) => { job.status = 'failed'; job.error = (e as Error).message; });
      return reply.code(202).send({ name: b.name, status: job.status, links: { self: `/v1/replays/${b.name}`, board: `/v1/replays/${b.name}/board` } });
    });

    app.get<{ Params: { name: string } }>('/v1/replays/:name', async (req, reply) => {
      const job = jobs.get(req.params.name);
      if (!job) return reply.code(404).send({ error: 'not_found', message: `no replay ${req.params.name} in this process` });
      return { name: req.params.name, ...job };
    });

    app.get<{ Params: { name: string } }>('/v1/replays/:name/board', async (req) => {
      const { at } = z.object({ at: instant.optional() }).parse(req.query);
      const store = storeOf(req.params.name);
      const sites = await store.sites();
      const clock = sites.length ? (await store.clock(sites[0]!)) ?? Date.now() : Date.now();
      const c = claimsOf(req);
      const board = forSites(c, await boardAt(store, at ?? clock));
      auditBoard({ at: Date.now(), who: c.sub, role: c.role, action: 'sandbox.board', instant: board.at, sandbox: req.params.name, patients: patients(board) });
      return board;
    });

    app.delete<{ Params: { name: string } }>('/v1/replays/:name', async (req) => {
      jobs.delete(req.params.name);
      return { dropped: await storeOf(req.params.name).clear() };
    });

    app.get('/v1/board', async (req, reply) => {
      const q = z.object({ at: instant, basis: z.enum(['shown', 'known']).default('shown') }).parse(req.query);
      const name = `at-${q.at}-${q.basis}`;
      const started = await slot(() => replay(ctx, { name, thresholds: ctx.live.thresholds ?? DEFAULT_THRESHOLDS, sourceTopic: ctx.topic, until: q.at, basis: q.basis, snapshots: ctx.snapshots, restore: 'on-demand' }));
      if (!started) return reply.code(429).header('retry-after', '30').send(busy);
      const r = await started.value;
      ctx.logger.info({ at: q.at, basis: q.basis, events: r.events, ms: r.ms, snapshot: r.fromSnapshot?.id ?? null, phases: r.phases }, 'time travel');
      try {
        const c = claimsOf(req);
        const board = forSites(c, await boardAt(r.store, q.at));
        auditBoard({ at: Date.now(), who: c.sub, role: c.role, action: 'timetravel.board', instant: q.at, basis: q.basis, patients: patients(board) });
        return board;
      } finally {
        await r.store.clear();
      }
    });
  });
  return app;
}
