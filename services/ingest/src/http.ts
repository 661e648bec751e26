// HTTP ingest: POST /v1/events (canonical JSON, one event, an array, or {"events": [...]}).
// Every item is validated on its own; valid items are written to Kafka, invalid ones are
// answered with field-level reasons and kept in the rejects topic with the raw input.
//   202 all accepted | 207 some accepted, some rejected | 422 none accepted
//   400 body is not JSON, or nested deeper than the limit | 413 body or batch too large
//   503 Kafka unavailable (Retry-After)
//   401 no sender key or a wrong one | 403 an item outside the sender's scope (site, type,
//   or a type only the product writes, such as alert.acknowledged): nothing is accepted
//   415 not a JSON media type (so no browser can post it cross-site without a preflight)
// FHIR routes (fhir-http.ts) and the rejects routes (rejects.ts) are added to the same app;
// on /fhir/ paths errors are answered as OperationOutcome.
import rateLimit from '@fastify/rate-limit';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { AuthError, scopeErrors, SenderAuthError, typeAndSite, type Sender, type SenderChannel, type SenderRegistry } from '@pfm/access';
import type { Channel, FieldError } from '@pfm/contracts';
import type { Logger } from '@pfm/observability';
import { operationOutcome } from './fhir';
import { DEFAULT_MAX_AHEAD_MS, jsonDepthExceeds, jsonSyntaxError, validateItem } from './normalise';
import { UnavailableError, type EventSink } from './publisher';

export interface HttpDeps {
  publisher: EventSink;
  logger: Logger;
  maxBatch: number;
  maxBodyBytes: number;
  maxJsonDepth: number;
  ready?: () => Promise<boolean>;
  extraRoutes?: (app: FastifyInstance) => void;
  senders: SenderRegistry;
  /** Requests one client address may make per minute (429 with Retry-After beyond). */
  rateLimitPerMinute?: number;
  /** A connection that sends nothing for this long is closed (slow or stalled bodies). */
  idleTimeoutMs?: number;
  /** A whole request (headers and body) must arrive within this long. */
  requestTimeoutMs?: number;
  /** Events dated further ahead of the clock are refused (0 = no limit; default DEFAULT_MAX_AHEAD_MS). */
  maxAheadMs?: number;
}

declare module 'fastify' {
  interface FastifyRequest { sender: Sender | null }
}

/** Media types a sender may post (anything else is 415). */
export const JSON_MEDIA_TYPES = ['application/json', 'application/fhir+json'];

/** The sender authenticated for this request (set by the onRequest hook on sender routes). */
export function senderOf(req: FastifyRequest): Sender {
  if (!req.sender) throw new SenderAuthError(401, 'unauthenticated', 'Send the sender key: Authorization: ApiKey <sender id>.<secret>.');
  return req.sender;
}

/** Refuses the whole request when any item is outside the sender's scope. */
export function requireScope(sender: Sender, items: readonly { type?: string | undefined; site?: string | undefined }[], logger: Logger, pathOf?: (i: number) => string): void {
  const errors = scopeErrors(sender, items, pathOf);
  if (!errors.length) return;
  logger.warn({ sender: sender.id, refused: errors.map((e) => e.path).slice(0, 20) }, 'input outside the sender\'s scope refused');
  throw new SenderAuthError(403, 'forbidden', 'Nothing was accepted: items are outside what this sender may send.', errors);
}

/** Seconds a client is asked to wait before re-sending when Kafka is unavailable. */
export const RETRY_AFTER_SECONDS = 5;


const isFhir = (url: string): boolean => url.startsWith('/fhir/');

export function unavailable(reply: FastifyReply, e: UnavailableError, fhir = false): FastifyReply {
  const message = 'The event store (Kafka) is not reachable; nothing was accepted. Retry later.';
  reply.code(503).header('retry-after', String(RETRY_AFTER_SECONDS));
  if (fhir) return reply.send(operationOutcome([{ expression: '', code: 'transient', message: `${message} (${e.message})` }]));
  return reply.send({ error: 'unavailable', message, detail: e.message });
}

export function buildHttpApp(d: HttpDeps): FastifyInstance {
  const app = Fastify({
    loggerInstance: d.logger as unknown as FastifyBaseLogger, bodyLimit: d.maxBodyBytes, logController: new LogController({ disableRequestLogging: true }),
    // Slow-body senders cannot hold connections: idle sockets and slow requests are cut.
    connectionTimeout: d.idleTimeoutMs ?? 30_000, requestTimeout: d.requestTimeoutMs ?? 60_000,
  });
  void app.register(rateLimit, {
    global: true, max: d.rateLimitPerMinute ?? 30_000, timeWindow: 60_000,
    // By client address: keying on the (not yet verified) sender id would let anyone use up a sender's quota.
    keyGenerator: (req) => req.ip,
    errorResponseBuilder: (_req, ctx) => ({ statusCode: 429, error: 'rate_limited', message: `More than ${ctx.max} requests a minute from this client; retry in ${Math.ceil(ctx.ttl / 1000)} s.` }),
  });
  // Keep the raw text: rejects store exactly what the sender sent.
  // text/plain and the HL7 media type carry corrected HL7 messages for re-drive.
  for (const type of ['application/json', 'application/fhir+json', 'text/plain', 'x-application/hl7-v2+er7']) {
    app.addContentTypeParser(type, { parseAs: 'string' }, (_req, body, done) => done(null, body));
  }

  // Sender routes: the key is checked and the media type too before the body is read.
  app.decorateRequest('sender', null);
  app.addHook('onRequest', async (req) => {
    const path = req.url.split('?')[0]!;
    const channel: SenderChannel | undefined = req.method !== 'POST' ? undefined : path === '/v1/events' ? 'json' : isFhir(path) ? 'fhir' : undefined;
    if (!channel) return;
    req.sender = d.senders.authenticate(req.headers.authorization, channel);
    const media = String(req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (!JSON_MEDIA_TYPES.includes(media)) throw Object.assign(new Error(`Send ${JSON_MEDIA_TYPES.join(' or ')}; ${media || 'no content type'} is not accepted here.`), { statusCode: 415 });
  });

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, req, reply) => {
    const fhir = isFhir(req.url);
    const send = (status: number, error: string, message: string, errors?: FieldError[]) =>
      reply.code(status).send(fhir
        ? operationOutcome([...(errors ?? []).map((e) => ({ expression: e.path, code: 'forbidden' as const, message: e.message })), { expression: '', code: status === 413 ? 'too-costly' : status === 401 ? 'login' : status === 403 ? 'forbidden' : status < 500 ? 'invalid' : 'exception', message }])
        : { error, message, ...(errors ? { errors } : {}) });
    if (err instanceof SenderAuthError) return send(err.status, err.code, err.message, err.errors.length ? err.errors : undefined);
    if (err instanceof AuthError) return send(err.status, err.code, err.message);
    if (err instanceof UnavailableError) return unavailable(reply, err, fhir);
    if (err.statusCode === 413 || err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return send(413, 'too_large', `Request body over ${d.maxBodyBytes} bytes`);
    if (err.statusCode === 415) return send(415, 'unsupported_media_type', err.message);
    if (err.statusCode === 429) return send(429, 'rate_limited', err.message);
    if (err.statusCode && err.statusCode < 500) return send(err.statusCode, 'bad_request', err.message);
    d.logger.error({ err }, 'unexpected error');
    return send(500, 'internal', 'Unexpected error; the input was not accepted.');
  });

  // Routes in a child context, registered after the rate limiter so its hook covers them.
  void app.register(async (r) => {
    r.get('/healthz', async () => ({ status: 'alive' }));
    r.get('/readyz', async (_req, reply) => {
      const ok = d.ready ? await d.ready() : true;
      return reply.code(ok ? 200 : 503).send({ status: ok ? 'ready' : 'not_ready' });
    });

    r.post('/v1/events', async (req, reply) => {
      const raw = typeof req.body === 'string' ? req.body : '';
      const sender = senderOf(req);
      const sourceSystem = sender.sourceSystem;
      const channel: Channel = 'json';
      if (jsonDepthExceeds(raw, d.maxJsonDepth)) {
        const errors: FieldError[] = [{ path: '(body)', message: `JSON nested deeper than ${d.maxJsonDepth} levels` }];
        const r = await d.publisher.reject({ channel, sourceSystem, reason: 'body nested too deep', errors, raw, rawEncoding: 'utf8', reasonClass: 'too_deep' });
        return reply.code(400).send({ error: 'too_deep', rejectId: r.rejectId, errors });
      }
      let body: unknown;
      try {
        body = JSON.parse(raw);
      } catch {
        const errors: FieldError[] = [{ path: '(body)', message: jsonSyntaxError(raw) }];
        const r = await d.publisher.reject({ channel, sourceSystem, reason: 'body is not valid JSON', errors, raw, rawEncoding: 'utf8', reasonClass: 'invalid_json' });
        return reply.code(400).send({ error: 'invalid_json', rejectId: r.rejectId, errors });
      }
      const items: unknown[] = Array.isArray(body) ? body : body && typeof body === 'object' && Array.isArray((body as { events?: unknown }).events) ? (body as { events: unknown[] }).events : [body];
      if (items.length === 0) return reply.code(422).send({ error: 'empty', message: 'No events in the request' });
      requireScope(sender, items.slice(0, d.maxBatch).map(typeAndSite), d.logger);
      if (items.length > d.maxBatch) {
        const errors = [{ path: '(body)', message: `batch of ${items.length} events is over the limit of ${d.maxBatch}` }];
        return reply.code(413).send({ error: 'batch_too_large', errors });
      }
      const now = Date.now();
      const results = items.map((item) => validateItem(item, channel, sourceSystem, now, d.maxAheadMs ?? DEFAULT_MAX_AHEAD_MS));
      const events = results.flatMap((r) => (r.ok ? [r.event] : []));
      // The refused ones are kept first, then the good ones published: a failure of either
      // is a 503 that is true ("nothing was accepted"), and the sender's retry gives the same
      // event ids and the same reject ids (a digest of the input), so nothing counts twice.
      const rejected: { index: number; rejectId: string; errors: FieldError[] }[] = [];
      for (const [index, r] of results.entries()) {
        if (r.ok) continue;
        const rec = await d.publisher.reject({ channel, sourceSystem, reason: r.errors.map((e) => `${e.path}: ${e.message}`).join('; '), errors: r.errors, raw: JSON.stringify(items[index]), rawEncoding: 'utf8', reasonClass: 'invalid_event' });
        rejected.push({ index, rejectId: rec.rejectId, errors: r.errors });
      }
      if (events.length) await d.publisher.publish(events);
      const accepted = results.flatMap((r, index) => (r.ok ? [{ index, eventId: r.event.eventId }] : []));
      const status = rejected.length === 0 ? 202 : accepted.length === 0 ? 422 : 207;
      return reply.code(status).send({ accepted, rejected });
    });

    d.extraRoutes?.(r);
  });
  return app;
}
