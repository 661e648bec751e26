// HTTP API of the insights service (reads, and recording improvement notes):
//   GET /api/v1/insights/measures   the measures catalogue
//   GET /api/v1/insights/series?measure=&period=week|month&by=&site=&from=&to=
//       one measure by period and segment: numerator, denominator and value per point,
//       and SPC per segment (mean, limits, point type; assurance when the measure has a target)
//       &ward=&wardType= (scope) &rebaseAt=YYYY-MM-DD (limits recalculated from that date: a new phase)
//   GET /api/v1/insights/equity?measure=&by=&site=&ward=&wardType=&from=&to=[&format=csv]
//       every segment of one dimension over [from, to) on a funnel plot against the trust
//       value; counts under PFM_INSIGHTS_SUPPRESS_BELOW are sent only as "small" (and the
//       CSV leaves them out)
//   GET /api/v1/insights/export?format=parquet|csv&from=&to=
//       every table, the measure series and the data dictionary, as one .tar.gz, cut to
//       the token's sites (one export at a time; 429 beyond)
//   POST/GET /api/v1/insights/improvements   the improvement loop (improvements-api.ts)
// Every route but /healthz needs a verified reader token (analyst, bed_manager, ops, or
// ward: a ward's staff see only their wards' rows and no team measures, nor the export);
// results hold only the token's sites (a site or ward outside them is 403). Every answer to an
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
import { DEFAULT_SUPPRESS_BELOW, EQUITY_SEGMENTS, equity, equityCsv, type EquityOut } from './equity';
import { registerImprovementRoutes, type ImprovementDeps } from './improvements-api';
import { hasWard, IMPLEMENTED, measureKind, measureSeries, QueryError, SEGMENTS, spcInput, type Catalogue, type PopulationRow, type Series } from './measures';
import type { Warehouse } from './warehouse';

export const INSIGHTS_ROLES: readonly Role[] = ['analyst', 'bed_manager', 'ops', 'ward'];
/** The whole-warehouse export is for analysts, bed managers and ops (never a ward's token). */
export const EXPORT_ROLES: readonly Role[] = ['analyst', 'bed_manager', 'ops'];

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
  /** A connection that sends nothing for this long is closed (default 10 s). */
  connectionIdleMs?: number;
  /** Counts from 1 to this minus 1 are suppressed in the equity view (default 5). */
  suppressBelow?: number;
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
  rebaseAt: string | null;
  segments: { segment: string | null; assurance: Assurance | null; points: SeriesPointOut[] }[];
}
export type EquityResponse = EquityOut & { measure: Catalogue['measures'][number]; by: string; sites: string[]; from: string | null; to: string | null };

const day = z.string().refine(isIsoDate, 'must be a date, YYYY-MM-DD');
const dayMs = (d: string): number => Date.parse(`${d}T00:00:00Z`);

const code = (what: string, max: number) => z.string().regex(new RegExp(`^[A-Za-z0-9_-]{1,${max}}$`), `must be a ${what} code`);
const scopeFields = {
  site: code('site', 16).optional(),
  ward: code('ward', 32).optional(),
  wardType: code('ward type', 32).optional(),
  from: day.optional(),
  to: day.optional(),
};

/** The series query, checked against the catalogue: every problem comes back with its field. */
function seriesSchema(catalogue: Catalogue) {
  const served = catalogue.measures.filter((m) => IMPLEMENTED.includes(m.id));
  return z.strictObject({
    measure: z.string().max(80).refine((id) => served.some((m) => m.id === id), { message: `unknown measure (one of ${served.map((m) => m.id).join(', ')})` }),
    period: z.enum(['week', 'month'], { error: 'must be week or month' }),
    by: z.enum(SEGMENTS, { error: `must be one of ${SEGMENTS.join(', ')}` }).optional(),
    rebaseAt: day.optional(),
    ...scopeFields,
  }).superRefine((q, ctx) => {
    const m = served.find((x) => x.id === q.measure);
    if (m && q.by && !m.by.includes(q.by)) ctx.addIssue({ code: 'custom', path: ['by'], message: `not a segment of ${m.id} (one of ${m.by.join(', ')})` });
    if (q.from && q.to && q.from >= q.to) ctx.addIssue({ code: 'custom', path: ['to'], message: 'must be after from' });
  });
}

function equitySchema(catalogue: Catalogue) {
  const served = catalogue.measures.filter((m) => IMPLEMENTED.includes(m.id) && measureKind(m.id) !== 'value');
  return z.strictObject({
    measure: z.string().max(80).refine((id) => served.some((m) => m.id === id), { message: `not a measure the equity view compares (one of ${served.map((m) => m.id).join(', ')})` }),
    by: z.enum(EQUITY_SEGMENTS as [string, ...string[]], { error: `must be one of ${EQUITY_SEGMENTS.join(', ')}` }),
    format: z.enum(['json', 'csv'], { error: 'must be json or csv' }).default('json'),
    ...scopeFields,
  }).superRefine((q, ctx) => {
    const m = served.find((x) => x.id === q.measure);
    if (m && !m.by.includes(q.by as never)) ctx.addIssue({ code: 'custom', path: ['by'], message: `not a segment of ${m.id} (one of ${m.by.join(', ')})` });
    if (q.from && q.to && q.from >= q.to) ctx.addIssue({ code: 'custom', path: ['to'], message: 'must be after from' });
  });
}

const exportSchema = z.strictObject({
  format: z.enum(['parquet', 'csv'], { error: 'must be parquet or csv' }).default('parquet'),
  from: day.optional(),
  to: day.optional(),
}).refine((q) => !q.from || !q.to || q.from < q.to, { path: ['to'], message: 'must be after from' });

/** Each segment's points with the SPC of its complete points beside them. */
export function withSpc(s: Series, opts: { rebaseAt?: string } = {}): SeriesOut['segments'] {
  const rebase = opts.rebaseAt ? [opts.rebaseAt] : [];
  const charts = new Map(spcInput(s).map((g) => [g.group, spc(g.points, { improvement: s.measure.direction, target: s.measure.target ?? null, rebase })]));
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
  Object.fromEntries(Object.entries(raw).filter(([k]) => ['measure', 'period', 'by', 'site', 'ward', 'wardType', 'rebaseAt', 'from', 'to', 'format'].includes(k)).map(([k, v]) => [k, String(v).slice(0, 80)]));

interface Audited { claims?: Claims; auditQuery?: Record<string, string>; auditPoints?: number }

export function buildInsightsApi(d: InsightsApiDeps): FastifyInstance {
  const idleMs = d.connectionIdleMs ?? 10_000;
  const app = Fastify({
    loggerInstance: d.logger as unknown as FastifyBaseLogger, logController: new LogController({ disableRequestLogging: true }),
    requestTimeout: 60_000, connectionTimeout: idleMs,
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

  /**
   * The reader's scope for a query: their sites (or the one asked for, if theirs), a ward
   * reader's wards, and the view's ward / ward type. Throws forbidden outside it.
   */
  const scoped = (c: Claims, q: { measure: string; site?: string | undefined; ward?: string | undefined; wardType?: string | undefined }) => {
    if (q.site && !canSeeSite(c, q.site)) throw new AuthError('forbidden', `Your access does not include site ${q.site}.`);
    const wards = c.role === 'ward' ? c.wards ?? [] : undefined;
    if (wards) {
      if (!hasWard(q.measure)) throw new AuthError('forbidden', `${q.measure} is counted by team: a ward's access does not include it.`);
      if (q.ward && !wards.includes(q.ward)) throw new AuthError('forbidden', `Your access does not include ward ${q.ward}.`);
    }
    return { sites: q.site ? [q.site] : c.sites, wards, ward: q.ward, wardType: q.wardType };
  };

  app.get('/api/v1/insights/measures', async (req) => {
    const c = state(req).claims!;
    const wardsInScope = c.role === 'ward' ? c.wards ?? [] : null;
    const wards = (await d.warehouse.read((r) => r.rows('SELECT site, ward, name, ward_type FROM wards ORDER BY site, ward')))
      .map((w) => ({ site: String(w.site), ward: String(w.ward), name: String(w.name), wardType: String(w.ward_type) }))
      .filter((w) => c.sites.includes(w.site) && (wardsInScope === null || wardsInScope.includes(w.ward)));
    return {
      about: d.catalogue.about, periods: ['week', 'month'], segments: SEGMENTS, equitySegments: EQUITY_SEGMENTS,
      suppressBelow: d.suppressBelow ?? DEFAULT_SUPPRESS_BELOW,
      scope: { role: c.role, sites: c.sites, wards },
      measures: d.catalogue.measures.filter((m) => IMPLEMENTED.includes(m.id) && (wardsInScope === null || hasWard(m.id)))
        .map((m) => ({ ...m, kind: measureKind(m.id) })),
    };
  });

  app.get('/api/v1/insights/series', async (req): Promise<SeriesOut> => {
    const raw = req.query as Record<string, unknown>;
    // The audit names the parameters asked for (short codes and dates), whatever their fate.
    state(req).auditQuery = auditedQuery(raw);
    const q = seriesQuery.parse(raw);
    const scope = scoped(state(req).claims!, q);
    const series = await d.warehouse.read((r) => measureSeries(r, d.catalogue, {
      measure: q.measure, period: q.period, by: q.by, ...scope,
      from: q.from ? dayMs(q.from) : undefined, to: q.to ? dayMs(q.to) : undefined,
    }, d.population));
    state(req).auditPoints = series.points.length;
    return { measure: series.measure, period: series.period, by: series.by, sites: [...scope.sites], from: q.from ?? null, to: q.to ?? null, rebaseAt: q.rebaseAt ?? null, segments: withSpc(series, { rebaseAt: q.rebaseAt }) };
  });

  const equityQuery = equitySchema(d.catalogue);
  app.get('/api/v1/insights/equity', async (req, reply) => {
    state(req).auditQuery = auditedQuery(req.query as Record<string, unknown>);
    const q = equityQuery.parse(req.query);
    const scope = scoped(state(req).claims!, q);
    // Months add up to the whole period (counts, numerators and denominators are sums).
    const series = await d.warehouse.read((r) => measureSeries(r, d.catalogue, {
      measure: q.measure, period: 'month', by: q.by as Series['by'] & string, ...scope,
      from: q.from ? dayMs(q.from) : undefined, to: q.to ? dayMs(q.to) : undefined,
    }, d.population));
    const e = equity(series, d.population, d.suppressBelow ?? DEFAULT_SUPPRESS_BELOW);
    state(req).auditPoints = e.segments.length;
    if (q.format === 'csv') {
      const name = `pfm-equity-${q.measure}-by-${q.by}${q.from ? `-${q.from}` : ''}${q.to ? `-${q.to}` : ''}.csv`;
      return reply.header('content-type', 'text/csv; charset=utf-8').header('content-disposition', `attachment; filename="${name}"`).send(equityCsv(e, q.measure, q.by));
    }
    const out: EquityResponse = { ...e, measure: series.measure, by: q.by, sites: [...scope.sites], from: q.from ?? null, to: q.to ?? null };
    return out;
  });
  registerImprovementRoutes(app, d, {
    claims: (req) => state(req).claims!,
    audit: (req, query, points) => { state(req).auditQuery = query; if (points !== undefined) state(req).auditPoints = points; },
  });
  let exporting = false;
  app.get('/api/v1/insights/export', async (req, reply) => {
    state(req).auditQuery = auditedQuery(req.query as Record<string, unknown>);
    const q = exportSchema.parse(req.query);
    requireRole(state(req).claims!, EXPORT_ROLES, 'The export');
    if (exporting) return reply.code(429).header('retry-after', '60').send({ error: 'export_running', message: 'One export runs at a time; try again when it has finished.' });
    exporting = true;
    // The idle cut-off guards against slow clients; here the server is the one working (an
    // export of years can take minutes before its first byte), so it is off until the reply ends.
    const socket = req.raw.socket;
    socket.setTimeout(0);
    reply.raw.once('close', () => { if (!socket.destroyed) socket.setTimeout(idleMs); });
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
