// Rejected input for ops: a bounded in-process index of recent reject records, fed from
// pfm.ingest-rejects.v1 (read from the beginning by a consumer group of this process's
// own, so every ingest instance sees every reject, and nothing is committed), and re-drive:
// the stored raw input (or a corrected body) goes through the CURRENT mapping again and
// the result is published.
//
// A re-driven input is applied once however often it is re-driven: HL7 keeps its MSH-10
// ids, FHIR its fact ids (spell + fact), a JSON event its own eventId; JSON events without
// one get "rd-<digest of rejectId>-<n>", the same on every re-drive of that reject, with or
// without corrections; an engine reject is re-driven as "<eventId>~rd" (the engine treats a
// re-sent rejected id as a duplicate). The engine drops the repeats.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { bearer, isProductOnly, requireRole, type Auth, type Claims } from '@pfm/access';
import type { Consumer, Kafka } from 'kafkajs';
import { rejectSchema, type Channel, type FieldError, type FlowEvent, type FlowEventInput, type Reject } from '@pfm/contracts';
import { createConsumer } from '@pfm/kafka-runtime';
import type { Logger, Metrics } from '@pfm/observability';
import { mapBundle, mapResource, type FhirContext, type FhirIssue } from './fhir';
import { decodeHl7, issuesToFieldErrors, type Hl7Intake } from './hl7-intake';
import { canonicalise, DEFAULT_MAX_AHEAD_MS, digest, jsonDepthExceeds, jsonSyntaxError, validateItem } from './normalise';
import { TRUNCATED_PATH, type EventSink } from './publisher';

export interface Redrive { at: number; eventIds: string[]; corrected: boolean }
export interface RejectEntry { reject: Reject; redrives: Redrive[]; bytes: number }

/** Newest reject records in memory, bounded by count and by bytes (oldest dropped first). */
export class RejectIndex {
  private readonly byId = new Map<string, RejectEntry>();
  private bytes = 0;
  constructor(private readonly maxCount = 1000, private readonly maxBytes = 32 * 1024 * 1024) {}

  /** Adds a record; a record already held (same rejectId) is left as it is. */
  add(r: Reject): void {
    if (this.byId.has(r.rejectId)) return;
    const bytes = r.raw.length + r.reason.length + 256;
    this.byId.set(r.rejectId, { reject: r, redrives: [], bytes });
    this.bytes += bytes;
    while (this.byId.size > this.maxCount || (this.bytes > this.maxBytes && this.byId.size > 1)) {
      const [oldest, entry] = this.byId.entries().next().value as [string, RejectEntry];
      this.byId.delete(oldest);
      this.bytes -= entry.bytes;
    }
  }

  get(rejectId: string): RejectEntry | undefined {
    return this.byId.get(rejectId);
  }

  /** Newest first. */
  list(opts: { limit?: number; channel?: string; stage?: string } = {}): RejectEntry[] {
    const out: RejectEntry[] = [];
    const all = [...this.byId.values()];
    for (let i = all.length - 1; i >= 0 && out.length < (opts.limit ?? 50); i--) {
      const e = all[i]!;
      if (opts.channel && e.reject.channel !== opts.channel) continue;
      if (opts.stage && e.reject.stage !== opts.stage) continue;
      out.push(e);
    }
    return out;
  }

  markRedriven(rejectId: string, r: Redrive): void {
    this.byId.get(rejectId)?.redrives.push(r);
  }

  get size(): number {
    return this.byId.size;
  }
}

/** Feeds a RejectIndex from the rejects topic and the engine's dead-letter topic. */
export class RejectFeed {
  private consumer: Consumer | undefined;
  private caughtUp = false;
  /** `open` gives a sealed record its raw input back (throws when the key is not held). */
  constructor(private readonly kafka: Kafka, private readonly topics: string[], private readonly index: RejectIndex, private readonly logger: Logger, private readonly groupId: string, private readonly open?: (r: Reject) => Reject) {}

  async start(): Promise<void> {
    const consumer = createConsumer(this.kafka, { groupId: this.groupId, retry: { retries: Number.MAX_SAFE_INTEGER } });
    this.consumer = consumer;
    await consumer.connect();
    await consumer.subscribe({ topics: this.topics, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ message }) => {
        if (!message.value) return;
        try {
          this.index.add(this.readable(rejectSchema.parse(JSON.parse(message.value.toString('utf8')))));
        } catch (err) {
          this.logger.warn({ err: (err as Error).message, offset: message.offset }, 'unreadable record in the rejects topic; skipped');
        }
      },
    });
    this.caughtUp = true;
  }

  get running(): boolean {
    return this.caughtUp;
  }

  /** A sealed record opened when the key is held; otherwise kept sealed (listed, its raw input unreadable here). */
  private readable(r: Reject): Reject {
    if (!r.sealed) return r;
    if (this.open) {
      try { return this.open(r); } catch (err) { this.logger.warn({ err: (err as Error).message, rejectId: r.rejectId }, 'sealed reject kept sealed'); }
    }
    return r;
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect();
  }
}

export interface RedriveRefused { ok: false; status: 403 | 404 | 409 | 422; error: string; message: string; errors: FieldError[] }
export type RedriveResult = { ok: true; eventIds: string[]; previousRedrives: number } | RedriveRefused;

export interface RedriverDeps {
  publisher: EventSink;
  hl7: Hl7Intake;
  fhirContext: (sourceSystem: string) => FhirContext;
  maxBatch: number;
  maxJsonDepth: number;
  now?: () => number;
  metrics?: Metrics;
  /** JSON events dated further ahead of the clock stay refused (0 = no limit; default DEFAULT_MAX_AHEAD_MS). HL7 and FHIR re-drives use their intake's and context's. */
  maxAheadMs?: number;
}

const fail = (status: 403 | 404 | 409 | 422, error: string, message: string, errors: FieldError[] = []): RedriveRefused => ({ ok: false, status, error, message, errors });
const fhirErrors = (issues: readonly FhirIssue[]): FieldError[] => issues.map((i) => ({ path: i.expression, message: i.message }));

export class Redriver {
  private readonly counter;
  constructor(private readonly index: RejectIndex, private readonly d: RedriverDeps) {
    this.counter = d.metrics?.counter('pfm_ingest_redrive_total', 'Re-drives of rejected input, by channel and result', ['channel', 'result']);
  }

  /** Re-runs a reject's raw input (or `corrected`) through the current mapping and publishes the events. */
  async redrive(rejectId: string, corrected?: string): Promise<RedriveResult> {
    const entry = this.index.get(rejectId);
    if (!entry) return fail(404, 'not_found', 'No such reject in the recent-rejects index (it holds the newest records only).');
    const r = entry.reject;
    if (!corrected && r.errors.some((e) => e.path === TRUNCATED_PATH)) {
      return fail(409, 'truncated', 'The stored input was truncated; re-drive it with a corrected body.');
    }
    const mapped = this.map(r, corrected);
    this.counter?.inc({ channel: r.channel, result: mapped.ok ? 'ok' : 'refused' });
    if (!mapped.ok) return mapped;
    await this.d.publisher.publish(mapped.events);
    const eventIds = mapped.events.map((e) => e.eventId);
    const previousRedrives = entry.redrives.length;
    this.index.markRedriven(rejectId, { at: Date.now(), eventIds, corrected: !!corrected });
    return { ok: true, eventIds, previousRedrives };
  }

  private map(r: Reject, corrected?: string): { ok: true; events: FlowEvent[] } | RedriveRefused {
    if (r.sealed && corrected === undefined) return fail(409, 'sealed', `The raw input is sealed with key ${r.sealed.kid}, which this instance does not hold: re-drive it where the key is configured, or send a corrected body.`);
    const now = (this.d.now ?? Date.now)();
    const redrive = (e: FlowEvent): FlowEvent => ({ ...e, channel: 'redrive' });
    const text = corrected ?? (r.rawEncoding === 'base64' ? decodeHl7(Buffer.from(r.raw, 'base64')).text : r.raw);
    const sourceSystem = r.sourceSystem ?? 'redrive';
    const canonical = (e: FlowEventInput): FlowEvent => redrive(canonicalise(e, 'fhir', sourceSystem, now));
    // An engine reject holds the canonical event itself.
    const channel: Channel | 'engine' = r.stage === 'engine' ? 'engine' : (r.channel as Channel);
    switch (channel) {
      case 'hl7v2': {
        const m = this.d.hl7.map(text.replace(/\r\n|\n/g, '\r'), 'redrive');
        if (!m.ok) return fail(422, 'still_invalid', `The current HL7 mapping still answers ${m.ack}.`, issuesToFieldErrors(m.errors));
        return { ok: true, events: m.events };
      }
      case 'fhir': {
        const body = this.parse(text);
        if ('error' in body) return body.error;
        const ctx = this.d.fhirContext(sourceSystem);
        const rt = (body.value as { resourceType?: unknown } | null)?.resourceType;
        if (rt === 'Bundle') {
          // Re-drive is all or nothing, whatever the Bundle's type.
          const b = mapBundle(body.value, ctx, this.d.maxBatch);
          if (!b.ok) return fail(422, 'still_invalid', 'The Bundle is still invalid.', fhirErrors(b.issues));
          const bad = b.entries.flatMap((e) => (e.kind === 'mapped' && !e.result.ok ? e.result.issues : []));
          if (bad.length) return fail(422, 'still_invalid', 'Entries of the Bundle are still invalid.', fhirErrors(bad));
          const events = b.entries.flatMap((e) => (e.kind === 'mapped' && e.result.ok ? e.result.events : []));
          return { ok: true, events: events.map(canonical) };
        }
        const m = mapResource(body.value, ctx);
        if (!m.ok) return fail(422, 'still_invalid', 'The resource is still invalid.', fhirErrors(m.issues));
        return { ok: true, events: m.events.map(canonical) };
      }
      case 'json':
      case 'engine': {
        const body = this.parse(text);
        if ('error' in body) return body.error;
        const v = body.value;
        const items: unknown[] = Array.isArray(v) ? v : v && typeof v === 'object' && Array.isArray((v as { events?: unknown }).events) ? (v as { events: unknown[] }).events : [v];
        if (items.length === 0 || items.length > this.d.maxBatch) return fail(422, 'batch', `between 1 and ${this.d.maxBatch} events expected`);
        const events: FlowEvent[] = [];
        const errors: FieldError[] = [];
        items.forEach((item, i) => {
          const isObj = item && typeof item === 'object' && !Array.isArray(item);
          // The engine remembers the ids it rejected (a re-sent rejected message stays rejected),
          // so an engine reject is re-driven under a new id, the same on every re-drive.
          const withId = isObj && !('eventId' in item) ? { ...item, eventId: `rd-${digest(r.rejectId)}-${i}` }
            : isObj && r.stage === 'engine' ? { ...item, eventId: `${String((item as { eventId: unknown }).eventId)}~rd` } : item;
          const res = validateItem(withId, 'json', sourceSystem, now, this.d.maxAheadMs ?? DEFAULT_MAX_AHEAD_MS);
          if (res.ok) events.push(redrive(res.event));
          else errors.push(...res.errors.map((e) => ({ path: items.length > 1 ? `[${i}].${e.path}` : e.path, message: e.message })));
        });
        if (errors.length) return fail(422, 'still_invalid', 'The input still fails validation.', errors);
        // Acknowledgements carry the acting user from a verified board token; a re-drive
        // cannot make one (nor a park expiry, which only the engine writes).
        const forged = events.flatMap((e, i) => (isProductOnly(e.type) ? [{ path: events.length > 1 ? `[${i}].type` : 'type', message: `${e.type} is written only by the product itself; it cannot be re-driven` }] : []));
        if (forged.length) return fail(403, 'forbidden', 'Nothing was re-driven.', forged);
        return { ok: true, events };
      }
      default:
        return fail(422, 'unsupported', `Inputs of channel ${r.channel} cannot be re-driven.`);
    }
  }

  private parse(text: string): { value: unknown } | { error: RedriveRefused } {
    if (jsonDepthExceeds(text, this.d.maxJsonDepth)) return { error: fail(422, 'too_deep', `JSON nested deeper than ${this.d.maxJsonDepth} levels`) };
    try {
      return { value: JSON.parse(text) as unknown };
    } catch {
      return { error: fail(422, 'invalid_json', 'The input is not valid JSON.', [{ path: '(body)', message: jsonSyntaxError(text) }]) };
    }
  }
}

const summary = (e: RejectEntry) => {
  const { raw, ...rest } = e.reject;
  return { ...rest, rawChars: raw.length, redrives: e.redrives };
};

export interface RejectAccess {
  auth: Auth;
  audit: (entry: { at: number; who: string; role: string; action: 'rejects.list' | 'reject.read' | 'reject.redrive'; rejectId?: string; result?: number }) => void;
}

/**
 * GET /v1/rejects, GET /v1/rejects/:rejectId, POST /v1/rejects/:rejectId/redrive: raw
 * patient data, so ops-only (a verified reader token with the ops role), and every list,
 * read and re-drive is audited (who, when, which reject; never the content).
 */
export function registerRejectRoutes(app: FastifyInstance, index: RejectIndex, redriver: Redriver, access: RejectAccess): void {
  const ops = async (req: FastifyRequest): Promise<Claims> => {
    const c = await access.auth.verify(bearer(req.headers.authorization));
    requireRole(c, ['ops'], 'Rejected input');
    return c;
  };
  const audit = (c: Claims, action: 'rejects.list' | 'reject.read' | 'reject.redrive', rejectId?: string, result?: number) =>
    access.audit({ at: Date.now(), who: c.sub, role: c.role, action, ...(rejectId ? { rejectId } : {}), ...(result ? { result } : {}) });

  app.get<{ Querystring: { limit?: string; channel?: string; stage?: string } }>('/v1/rejects', async (req, reply) => {
    const c = await ops(req);
    const limit = req.query.limit === undefined ? 50 : Number(req.query.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) return reply.code(400).send({ error: 'bad_request', errors: [{ path: 'limit', message: 'an integer from 1 to 1000' }] });
    const items = index.list({ limit, channel: req.query.channel, stage: req.query.stage }).map(summary);
    audit(c, 'rejects.list', undefined, items.length);
    return reply.send({ rejects: items, held: index.size });
  });

  app.get<{ Params: { rejectId: string } }>('/v1/rejects/:rejectId', async (req, reply) => {
    const c = await ops(req);
    const e = index.get(req.params.rejectId);
    if (!e) return reply.code(404).send({ error: 'not_found', message: 'No such reject in the recent-rejects index.' });
    audit(c, 'reject.read', e.reject.rejectId);
    return reply.send({ ...e.reject, redrives: e.redrives });
  });

  app.post<{ Params: { rejectId: string } }>('/v1/rejects/:rejectId/redrive', async (req, reply) => {
    const c = await ops(req);
    const body = typeof req.body === 'string' && req.body.trim() !== '' ? req.body : undefined;
    // Kafka unavailable: UnavailableError -> the app's error handler answers 503 + Retry-After.
    const r = await redriver.redrive(req.params.rejectId, body);
    if (r.ok || r.status !== 404) audit(c, 'reject.redrive', req.params.rejectId, r.ok ? 200 : r.status);
    if (!r.ok) return reply.code(r.status).send({ error: r.error, message: r.message, errors: r.errors });
    return reply.code(200).send({ rejectId: req.params.rejectId, redriven: true, eventIds: r.eventIds, previousRedrives: r.previousRedrives });
  });
}
