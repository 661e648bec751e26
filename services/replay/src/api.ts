// HTTP API of the replay service:
//   POST   /v1/replays                 start a sandbox replay (202), body: name, until, basis, from, speed, outputs, thresholds
//   GET    /v1/replays/:name           progress and result
//   GET    /v1/replays/:name/board?at= the sandbox's board at a time
//   DELETE /v1/replays/:name           drop the sandbox
//   GET    /v1/board?at=&basis=        time travel in one call (replays to T, returns the board)
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { z } from 'zod';
import { DEFAULT_THRESHOLDS, type Thresholds } from '@pfm/flow-domain';
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
  thresholds: z.record(z.string(), z.unknown()).optional(),
});

interface Job { status: 'running' | 'done' | 'failed'; done: number; total: number; watermark: number; startedAt: number; result?: Omit<ReplayResult, 'store'>; error?: string }

export function buildApi(ctx: ReplayContext): FastifyInstance {
  const app = Fastify({ loggerInstance: ctx.logger as unknown as FastifyBaseLogger, bodyLimit: 64 * 1024, logController: new LogController({ disableRequestLogging: true }) });
  const jobs = new Map<string, Job>();
  const storeOf = (name: string) => new FlowStore(ctx.redis, new Keys(sandboxPrefix(name)), ctx.registry, ctx.live.thresholds);

  app.setErrorHandler((err: Error & { statusCode?: number }, _req, reply) => {
    if (err instanceof z.ZodError) return reply.code(400).send({ error: 'bad_request', errors: err.issues.map((i) => ({ path: i.path.join('.'), message: i.message })) });
    if (err.statusCode && err.statusCode < 500) return reply.code(err.statusCode).send({ error: 'bad_request', message: err.message });
    ctx.logger.error({ err }, 'replay API error');
    return reply.code(500).send({ error: 'internal', message: err.message });
  });
  app.get('/healthz', async () => ({ status: 'alive' }));

  app.post('/v1/replays', async (req, reply) => {
    const b = startSchema.parse(req.body);
    if (jobs.get(b.name)?.status === 'running') return reply.code(409).send({ error: 'running', message: `sandbox ${b.name} is already replaying` });
    const thresholds: Thresholds = { ...ctx.live.thresholds, ...(b.thresholds as Partial<Thresholds> | undefined) };
    const job: Job = { status: 'running', done: 0, total: 0, watermark: 0, startedAt: Date.now() };
    jobs.set(b.name, job);
    replay(ctx, {
      name: b.name, thresholds, sourceTopic: ctx.topic, until: b.until, basis: b.basis, fromTimestamp: b.from, speed: b.speed, outputs: b.outputs,
      onProgress: (p) => Object.assign(job, p),
    }).then(({ store: _store, ...result }) => { job.status = 'done'; job.result = result; }, (e: unknown) => { job.status = 'failed'; job.error = (e as Error).message; });
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
    return boardAt(store, at ?? clock);
  });

  app.delete<{ Params: { name: string } }>('/v1/replays/:name', async (req) => {
    jobs.delete(req.params.name);
    return { dropped: await storeOf(req.params.name).clear() };
  });

  app.get('/v1/board', async (req) => {
    const q = z.object({ at: instant, basis: z.enum(['shown', 'known']).default('shown') }).parse(req.query);
    const name = `at-${q.at}-${q.basis}`;
    const r = await replay(ctx, { name, thresholds: ctx.live.thresholds ?? DEFAULT_THRESHOLDS, sourceTopic: ctx.topic, until: q.at, basis: q.basis });
    try {
      return await boardAt(r.store, q.at);
    } finally {
      await r.store.clear();
    }
  });
  return app;
}
