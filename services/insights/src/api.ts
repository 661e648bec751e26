// HTTP API of the insights service (reads, and recording improvement notes):
//   GET /api/v1/insights/measures   the measures catalogue
//   GET /api/v1/insights/series?measure=&period=week|month&by=&site=&from=&to=
//       one measure by period and segment: numerator, denominator and value per point,
//       and SPC per segment (mean, limits, point type; assurance when the measure has a target)
//   GET /api/v1/insights/export?format=parquet|csv&from=&to=
//       every table, the measure series and the data dictionary, as one .tar.gz, cut to
//       the token's sites (one export at a time; 429 beyond)
//   POST/GET /api/v1/insights/improvements   the improvement loop (improvements-api.ts)
// Every route but /healthz needs a verified reader token (analyst, bed_manager or ops);
// results hold only the token's sites (a site outside them is 403). Every answer to an
// authenticated request is written as one audit log line: who, role, what, when, status
// (never a row of data). Reads go through a connection of their own on the warehouse
// instance the service already holds (DuckDB allows one process per file).
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { create as tarCreate } from 'tar';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyRequest } from 'fastify';
import { z } from 'zod';
import { AuthError, bearer, canSeeSite, requireRole, type Auth, type Claims, type Role } from '@pfm/access';
import type { Logger } from '@pfm/observability';
import { isIsoDate, spc, type Assurance, type PointType } from '@pfm/spc';
import { exportWarehouse } from './export';
import { IMPLEMENTED, measureSeries, QueryError, SEGMENTS, spcInput, type Catalogue, type PopulationRow, type Series } from './measures';
import { registerImprovementRoutes, type ImprovementDeps } from './improvements-api';
import type { Warehouse } from './warehouse';

export const INSIGHTS_ROLES: readonly Role[] = ['analyst', 'bed_manager', 'ops'];

export interface AuditEntry {
  at: string;
  who: string;
  role: Role;
  action: string;
  status: number;
  /** The query's parameters (measure ids, periods, segments, site codes, dates: no patient data). */
  query?: Record<string, string>;
  /** Points returned (series), or rows written (export). */
  points?: number;
}

export interface InsightsApiDeps {
  warehouse: Warehouse;
  catalogue: Catalogue;
  population: PopulationRow[];
  auth: Auth;
  logger: Logger;
  /** Where reads are recorded (default: the log, one `audit` line each). */
  audit?: (entry: AuditEntry) => void;
  /** Puts an improvement note on the flow log (POST /api/v1/insights/improvements); without it that route answers 503. */
  sendNote?: ImprovementDeps['sendNote'];
}

export interface SeriesPointOut {
  periodStart: string; numerator: number; denominator: number | null; value: number | null; complete: boolean;
  /** SPC of the segment's complete points; null for a point SPC does not cover (the period in progress, no value). */
  mean: number | null; lpl: number | null; upl: number | null; pointType: PointType | null;
}
export interface SeriesOut {
  measure: Catalogue['measures'][number]; period: 'week' | 'month'; by: string | null; sites: string[]; from: string | null; to: string | null;
  segments: { segment: string | null; assurance: Assurance | null; points: SeriesPointOut[] }[];
}

const day = z.string().refine(isIsoDate, 'must be a date, YYYY-MM-DD');
const dayMs = (d: string): number => Date.parse(`${d}T00:00:00Z`);

/** The series query, checked against the catalogue: every problem comes back with its field. */
function seriesSchema(catalogue: Catalogue) {
  const served = catalogue.measures.filter((m) => IMPLEMENTED.includes(m.id));
  return z.strictObject({
    measure: z.string().max(80).refine((id) => served.some((m) => m.id === id), { message: `unknown measure (one of ${served.map((m) => m.id).join(', ')})` }),
    period: z.enum(['week', 'month'], { error: 'must be week or month' }),
    by: z.enum(SEGMENTS, { error: `must be one of ${SEGMENTS.join(', ')}` }).optional(),
    site: z.string().regex(/^[A-Za-z0-9_-]{1,16}$/, 'must be a site code').optional(),
    from: day.optional(),
    to: day.optional(),
  }).superRefine((q, ctx) => {
    const m = served.find((x) => x.id === q.measure);
    if (m && q.by && !m.by.includes(q.by)) ctx.addIssue({ code: 'custom', path: ['by'], message: `not a segment of ${m.id} (one of ${m.by.join(', ')})` });
    if (q.from && q.to && q.from >= q.to) ctx.addIssue({ code: 'custom', path: ['to'], message: 'must be after from' });
  });
}

const exportSchema = z.strictObject({
  format: z.enum(['parquet', 'csv'], { error: 'must be parquet or csv' }).default('parquet'),
  from: day.optional(),
  to: day.optional(),
}).refine((q) => !q.from || !q.to || q.from < q.to, { path: ['to'], message: 'must be after from' });

/** Each segment's points with the SPC of its complete points beside them. */
export function withSpc(s: Series): SeriesOut['segments'] {
  const charts = new Map(spcInput(s).map((g) => [g.group, spc(g.points, { improvement: s.measure.direction, target: s.measure.target ?? null })]));
  const order: (string | null)[] = [];
  const bySegment = new Map<string | null, SeriesPointOut[]>();
  for (const p of s.points) {
    if (!bySegment.has(p.segment)) { bySegment.set(p.segment, []); order.push(p.segment); }
    const spcPoint = p.complete && p.value !== null ? charts.get(p.segment)?.points.find((x) => x.date === p.periodStart) : undefined;
    bySegment.get(p.segment)!.push({
      periodStart: p.periodStart, numerator: p.numerator, denominator: p.denominator, value: p.value, complete: p.complete,
      mean: spcPoint?.mean ?? null, lpl: spcPoint?.lpl ?? null, upl: spcPoint?.upl ?? null, pointType: spcPoint?.pointType ?? null,
    });
  }
  return order.map((segment) => ({ segment, assurance: charts.get(segment)?.assurance ?? null, points: bySegment.get(segment)! }));
}

/** The known parameters of a query, cut short, for the audit line (codes and dates only). */
const auditedQuery = (raw: Record<string, unknown>): Record<string, string> =>
  Object.fromEntries(Object.entries(raw).filter(([k]) => ['measure', 'period', 'by', 'site', 'from', 'to', 'format'].includes(k)).map(([k, v]) => [k, String(v).slice(0, 80)]));

interface Audited { claims?: Claims; auditQuery?: Record<string, string>; auditPoints?: number }

export function buildInsightsApi(d: InsightsApiDeps): FastifyInstance {
  const app = Fastify({
    loggerInstance: d.logger as unknown as FastifyBaseLogger, logController: new LogController({ disableRequestLogging: true }),
    requestTimeout: 60_000, connectionTimeout: 10_000,
  });
  const audit = d.audit ?? ((entry: AuditEntry) => d.logger.info({ audit: entry }, 'audit'));
  const seriesQuery = seriesSchema(d.catalogue);
  const state = (req: FastifyRequest) => req as unknown as Audited;

  app.addHook('onRequest', async (req) => {
    if (req.url === '/healthz') return;
    const c = await d.auth.verify(bearer(req.headers.authorization));
    requireRole(c, INSIGHTS_ROLES, 'Insights');
    state(req).claims = c;
  });
  // One line per answered request of a known reader, refusals included.
  app.addHook('onResponse', async (req, reply) => {
    const { claims, auditQuery, auditPoints } = state(req);
    if (!claims) return;
    audit({
      at: new Date().toISOString(), who: claims.sub, role: claims.role, action: `${req.method} ${req.routeOptions.url ?? 'unknown'}`, status: reply.statusCode,
      ...(auditQuery ? { query: auditQuery } : {}), ...(auditPoints !== undefined ? { points: auditPoints } : {}),
    });
  });

  app.setErrorHandler((err: Error & { statusCode?: number }, _req, reply) => {
    if (err instanceof AuthError) return reply.code(err.status).send({ error: err.code, message: err.message });
    if (err instanceof z.ZodError) return reply.code(400).send({ error: 'bad_request', errors: err.issues.map((i) => ({ field: i.path.join('.'), message: i.message })) });
    if (err instanceof QueryError) return reply.code(400).send({ error: 'bad_request', errors: [{ field: err.field, message: err.message.slice(err.field.length + 2) }] });
    if (err.statusCode && err.statusCode < 500) return reply.code(err.statusCode).send({ error: 'bad_request', message: err.message });
    d.logger.error({ err }, 'insights API error');
    return reply.code(500).send({ error: 'internal', message: 'The insights request failed; see the insights service log.' });
  });

  app.get('/healthz', async () => ({ status: 'alive' }));

  app.get('/api/v1/insights/measures', async () => ({
    about: d.catalogue.about, periods: ['week', 'month'], segments: SEGMENTS,
    measures: d.catalogue.measures.filter((m) => IMPLEMENTED.includes(m.id)),
  }));

  app.get('/api/v1/insights/series', async (req): Promise<SeriesOut> => {
    const raw = req.query as Record<string, unknown>;
    // The audit names the parameters asked for (short codes and dates), whatever their fate.
    state(req).auditQuery = auditedQuery(raw);
    const q = seriesQuery.parse(raw);
    const c = state(req).claims!;
    if (q.site && !canSeeSite(c, q.site)) throw new AuthError('forbidden', `Your access does not include site ${q.site}.`);
    const sites = q.site ? [q.site] : c.sites;
    const series = await d.warehouse.read((r) => measureSeries(r, d.catalogue, {
      measure: q.measure, period: q.period, by: q.by, sites,
      from: q.from ? dayMs(q.from) : undefined, to: q.to ? dayMs(q.to) : undefined,
    }, d.population));
    state(req).auditPoints = series.points.length;
    return { measure: series.measure, period: series.period, by: series.by, sites: [...sites], from: q.from ?? null, to: q.to ?? null, segments: withSpc(series) };
  });
  registerImprovementRoutes(app, d, {
    claims: (req) => state(req).claims!,
    audit: (req, query, points) => { state(req).auditQuery = query; if (points !== undefined) state(req).auditPoints = points; },
  });
  let exporting = false;
  app.get('/api/v1/insights/export', async (req, reply) => {
    state(req).auditQuery = auditedQuery(req.query as Record<string, unknown>);
    const q = exportSchema.parse(req.query);
    if (exporting) return reply.code(429).header('retry-after', '60').send({ error: 'export_running', message: 'One export runs at a time; try again when it has finished.' });
    exporting = true;
    const dir = mkdtempSync(join(tmpdir(), 'pfm-insights-export-'));
    const cleanup = () => { rmSync(dir, { recursive: true, force: true }); exporting = false; };
    try {
      const c = state(req).claims!;
      const r = await d.warehouse.read((w) => exportWarehouse(w, {
        format: q.format, out: dir, sites: c.sites, from: q.from ? dayMs(q.from) : undefined, to: q.to ? dayMs(q.to) : undefined,
        measures: { catalogue: d.catalogue, population: d.population },
      }));
      state(req).auditPoints = r.files.reduce((a, f) => a + f.rows, 0);
      // The archive streams from the directory; it goes when the response is over.
      reply.raw.on('close', cleanup);
      const name = `pfm-insights-${q.format}${q.from ? `-${q.from}` : ''}${q.to ? `-${q.to}` : ''}.tar.gz`;
      return reply.header('content-type', 'application/gzip').header('content-disposition', `attachment; filename="${name}"`).header('cache-control', 'no-store')
        .send(tarCreate({ gzip: true, cwd: dir, portable: true }, readdirSync(dir).sort()));
    } catch (e) {
      cleanup();
      throw e;
    }
  });
  return app;
}
