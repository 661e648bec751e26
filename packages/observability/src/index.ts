// Logging, metrics and the health/metrics HTTP surface every service exposes.
// Logs: JSON lines (pino) with the service name; PFM_LOG_LEVEL sets the level.
// Metrics: Prometheus text at /metrics; health: /healthz (alive) and /readyz (ready).
import { createServer, type Server } from 'node:http';
import pino, { type Logger } from 'pino';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export type { Logger };

/**
 * Fields that may hold patient data or secrets and never belong in a log: Redis errors carry
 * their command's arguments (patient state JSON; AUTH's user and password when a login is
 * refused), reject records their raw input.
 */
export const REDACT_PATHS = [
  'err.command.args', 'err.args', 'err.raw', 'err.body', 'err.previousErrors[*].command.args', '*.err.command.args',
  'raw', '*.raw', 'body', 'nhsNumber', '*.nhsNumber', 'dob', '*.dob', 'birthDate', '*.birthDate',
];
const NHS_LIKE = /\b\d{3}[ -]?\d{3}[ -]?\d{4}\b/g;
/** The password of a URL's login: redis://pfm:<password>@host (REDIS_URL carries one). */
const URL_PASSWORD = /\b([a-z][a-z0-9+.-]*:\/\/[^\s:/@]*):[^\s/@]*@/gi;
/** A URL (or text quoting one) with the password of its login masked: redis://pfm:***@127.0.0.1:6380. */
export const maskUrlPassword = (s: string): string => s.replace(URL_PASSWORD, '$1:***@');
/**
 * Error text may quote data too (a server's message, a parser's): NHS-number-shaped digits
 * are masked, and so are URL passwords (a bad REDIS_URL's error quotes it, in `input`).
 */
const scrub = (s: unknown): unknown => (typeof s === 'string' ? maskUrlPassword(s).replace(NHS_LIKE, '[nhs-number]') : s);

export function createLogger(service: string, destination?: pino.DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    name: service, level: process.env.PFM_LOG_LEVEL ?? 'info', base: { service },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    serializers: {
      err: (e: unknown) => {
        const out = pino.stdSerializers.err(e as Error) as unknown as Record<string, unknown>;
        return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, scrub(v)]));
      },
    },
  };
  return destination ? pino(options, destination) : pino(options);
}

export class Metrics {
  readonly registry = new Registry();
  constructor(service: string) {
    this.registry.setDefaultLabels({ service });
    collectDefaultMetrics({ register: this.registry });
  }
  counter(name: string, help: string, labelNames: string[] = []): Counter {
    return new Counter({ name, help, labelNames, registers: [this.registry] });
  }
  gauge(name: string, help: string, labelNames: string[] = []): Gauge {
    return new Gauge({ name, help, labelNames, registers: [this.registry] });
  }
  histogram(name: string, help: string, buckets: number[], labelNames: string[] = []): Histogram {
    return new Histogram({ name, help, buckets, labelNames, registers: [this.registry] });
  }
  /** A counter whose `collect` runs (and is awaited) before each scrape reads it. */
  counterCollected(name: string, help: string, labelNames: string[], collect: () => Promise<void>): Counter {
    return new Counter({ name, help, labelNames, registers: [this.registry], collect });
  }
  /**
   * A gauge whose series are read fresh on every scrape: `read` sets the current values
   * (series it does not set disappear, so a partition that moved away is not reported).
   */
  gaugeCollected(name: string, help: string, labelNames: string[], read: (set: (labels: Record<string, string>, value: number) => void) => Promise<void>): Gauge {
    return new Gauge({
      name, help, labelNames, registers: [this.registry],
      async collect() {
        this.reset();
        await read((labels, value) => this.set(labels, value));
      },
    });
  }
}

export type ReadinessCheck = () => Promise<{ ok: boolean; detail?: string }>;

/**
 * `pfm_dependency_up{dependency}`: 1 when the check passes at scrape time, 0 when it fails
 * or throws (Kafka, the schema registry, Redis). Alert rules read this, not the logs.
 */
export function exportDependencyChecks(metrics: Metrics, checks: Record<string, ReadinessCheck>): void {
  metrics.gaugeCollected('pfm_dependency_up', 'Whether a dependency answered its check at scrape time (1) or not (0)', ['dependency'], async (set) => {
    await Promise.all(Object.entries(checks).map(async ([dependency, check]) => {
      let ok = false;
      try { ok = (await check()).ok; } catch { ok = false; }
      set({ dependency }, ok ? 1 : 0);
    }));
  });
}

/** A counter of errors by class (the error's name): `record(err)` counts one. */
export function errorCounter(metrics: Metrics, name: string, help: string): (err: unknown) => void {
  const c = metrics.counter(name, help, ['class']);
  return (err) => c.inc({ class: err instanceof Error ? err.name : 'unknown' });
}

/** A tiny ops server: /healthz, /readyz (runs the checks), /metrics. */
export function startOpsServer(opts: { port: number; host?: string; metrics: Metrics; checks: Record<string, ReadinessCheck>; logger: Logger }): Promise<Server> {
  const server = createServer((req, res) => {
    void (async () => {
      if (req.url === '/healthz') {
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"alive"}');
      } else if (req.url === '/readyz') {
        const results: Record<string, { ok: boolean; detail?: string }> = {};
        for (const [name, check] of Object.entries(opts.checks)) {
          try { results[name] = await check(); } catch (e) { results[name] = { ok: false, detail: (e as Error).message }; }
        }
        const ok = Object.values(results).every((r) => r.ok);
        res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify({ status: ok ? 'ready' : 'not_ready', checks: results }));
      } else if (req.url === '/metrics') {
        res.writeHead(200, { 'content-type': opts.metrics.registry.contentType }).end(await opts.metrics.registry.metrics());
      } else {
        res.writeHead(404).end();
      }
    })().catch((e: unknown) => { opts.logger.error({ err: e }, 'ops server error'); res.writeHead(500).end(); });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host ?? '127.0.0.1', () => resolve(server));
  });
}

/** Runs the given closers in order on SIGTERM/SIGINT, once; exits 0 when all finish, 1 on error or after the grace period. */
export function onShutdown(logger: Logger, closers: (() => Promise<void>)[], graceMs = 15000): void {
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: stop intake, finish in-flight work, commit, close');
    const timer = setTimeout(() => { logger.error('shutdown grace period over, exiting'); process.exit(1); }, graceMs);
    timer.unref();
    void (async () => {
      let code = 0;
      for (const c of closers) {
        try { await c(); } catch (e) { code = 1; logger.error({ err: e }, 'error while closing'); }
      }
      logger.info('stopped');
      process.exit(code);
    })();
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}
export * from './tracing';
