// Publishes accepted events to pfm.flow-events.v1 and rejected input to
// pfm.ingest-rejects.v1. A publish resolves only when Kafka holds the messages
// (idempotent producer, acks=-1); when Kafka cannot be reached, or does not answer within
// the publish deadline, it throws UnavailableError and the callers answer "try again"
// (HTTP 503 + Retry-After, no HL7 ACK). A send that timed out may still land later: that
// is safe because every event id is deterministic, so the sender's retry is deduplicated.
import { createHash } from 'node:crypto';
import type { Producer } from 'kafkajs';
import { TOPICS, type FieldError, type FlowEvent, type Reject } from '@pfm/contracts';
import { InfrastructureError, sendFlowEvents, serialSend, type FlowEventCodec } from '@pfm/kafka-runtime';
import { context, endSpan, SpanKind, trace, traceHeaders, tracer, type Logger, type Metrics } from '@pfm/observability';

export class UnavailableError extends InfrastructureError {}

/**
 * `reasonClass`: what kind of fault, for the `reason` label of `pfm_ingest_rejected_total`
 * (`invalid_json`, `too_deep`, `invalid_event`, `fhir_<issue code>`, `hl7_<table 0357 code>`);
 * never stored in the record, never free text.
 */
export type RejectInput = Omit<Reject, 'rejectId' | 'receivedAt' | 'stage'> & { rejectId?: string; receivedAt?: number; reasonClass?: string };

/** A bounded label: short lower-case codes as they are, anything else `other`. */
export const reasonLabel = (c: string | undefined): string => (c === undefined ? 'unclassified' : /^[a-z][a-z0-9_-]{0,39}$/.test(c) ? c : 'other');

/**
 * Limits that keep one reject record well under Kafka's default 1 MB message size, so an
 * enormous input can never make its own reject record unpublishable (which would read as
 * "Kafka down" and leave the sender retrying forever).
 */
export const REJECT_LIMITS = { rawChars: 256 * 1024, reasonChars: 2000, errors: 50, messageChars: 500 } as const;

/** Path of the marker error that says the stored raw input was cut short. */
export const TRUNCATED_PATH = '(raw)';

/** The id of a reject made from its content: "rj-" and 32 hex characters of SHA-256. */
export function contentRejectId(r: Pick<RejectInput, 'channel' | 'sourceSystem' | 'reason' | 'raw' | 'rawEncoding'>): string {
  return `rj-${createHash('sha256').update(JSON.stringify([r.channel, r.sourceSystem ?? '', r.reason, r.rawEncoding, r.raw])).digest('hex').slice(0, 32)}`;
}

export function boundedReject({ reasonClass: _, ...r }: RejectInput): RejectInput {
  const errors: FieldError[] = r.errors.slice(0, REJECT_LIMITS.errors).map((e) => ({ path: e.path.slice(0, 200), message: e.message.slice(0, REJECT_LIMITS.messageChars) }));
  if (r.errors.length > REJECT_LIMITS.errors) errors.push({ path: '(errors)', message: `${r.errors.length - REJECT_LIMITS.errors} more errors not kept` });
  let raw = r.raw;
  if (raw.length > REJECT_LIMITS.rawChars) {
    errors.push({ path: TRUNCATED_PATH, message: `raw input truncated to its first ${REJECT_LIMITS.rawChars} of ${raw.length} characters` });
    raw = raw.slice(0, REJECT_LIMITS.rawChars);
  }
  return { ...r, reason: r.reason.slice(0, REJECT_LIMITS.reasonChars), errors, raw };
}

/** What the intake paths need from a Publisher (tests pass a fake). */
export type EventSink = Pick<Publisher, 'publish' | 'reject'>;

/** Events sent in one group; well under Kafka's 1 MB record batch for canonical events. */
const MAX_GROUP_EVENTS = 2000;
/** Events waiting for Kafka beyond which new publishes are refused at once (Kafka is clearly not keeping up). */
const MAX_QUEUED_EVENTS = 20000;

/** One publish call's events; `trace` is the W3C trace context its messages carry (empty when tracing is off). */
interface Pending { events: FlowEvent[]; trace: Record<string, string>; resolve: () => void; reject: (e: unknown) => void; abandoned: boolean }

export interface PublisherOptions {
  topics?: { flowEvents: string; rejects: string };
  /** Deadline for Kafka to acknowledge a publish. */
  timeoutMs?: number;
  /** Sees every reject record once Kafka holds it (the in-process rejects index), its raw input readable. */
  onReject?: (r: Reject) => void;
  /** Turns a record into what is stored in the topic (raw input sealed at rest). */
  seal?: (r: Reject) => Reject;
}

const MAX_SOURCE_LABELS = 200;

export class Publisher {
  private readonly accepted;
  private readonly lastAccepted;
  private readonly rejected;
  private readonly unavailable;
  private readonly topics: { flowEvents: string; rejects: string };
  private readonly timeoutMs: number;
  private readonly queue: Pending[] = [];
  private queued = 0;
  private flushing = false;
  constructor(
    private readonly producer: Producer,
    private readonly codec: FlowEventCodec,
    private readonly logger: Logger,
    metrics?: Metrics,
    private readonly opts: PublisherOptions = {},
  ) {
    this.topics = opts.topics ?? { flowEvents: TOPICS.flowEvents, rejects: TOPICS.ingestRejects };
    this.timeoutMs = opts.timeoutMs ?? 5000;
    this.accepted = metrics?.counter('pfm_ingest_accepted_total', 'Events accepted and durably written to Kafka', ['channel', 'type']);
    this.lastAccepted = metrics?.gauge('pfm_ingest_last_accepted_timestamp_seconds', 'When the last event from each sending system was accepted (unix seconds): a silent sender stands out', ['channel', 'source']);
    this.rejected = metrics?.counter('pfm_ingest_rejected_total', 'Inputs rejected, kept in the rejects topic, by channel and kind of fault', ['channel', 'reason']);
    this.unavailable = metrics?.counter('pfm_ingest_unavailable_total', 'Inputs answered "try again" because Kafka did not acknowledge in time', ['what']);
  }

  /** Sending systems named in metrics: the first MAX_SOURCE_LABELS seen; any later one is "other" (bounded series). */
  private readonly sources = new Set<string>();
  private sourceLabel(source: string): string {
    if (this.sources.has(source)) return source;
    if (this.sources.size >= MAX_SOURCE_LABELS) return 'other';
    this.sources.add(source);
    return source;
  }

  async publish(events: FlowEvent[]): Promise<void> {
    if (events.length === 0) return;
    let pending: Pending | undefined;
    // One span per receipt (an HTTP request, a batch, an MLLP message): its context goes
    // with every event into Kafka, so the engine and the gateway continue the trace.
    const span = tracer().startSpan('ingest publish', { kind: SpanKind.PRODUCER, attributes: { 'messaging.system': 'kafka', 'messaging.destination.name': this.topics.flowEvents, 'messaging.batch.message_count': events.length, 'pfm.channel': events[0]!.channel } });
    const headers = traceHeaders(trace.setSpan(context.active(), span));
    try {
      await this.withDeadline('events', () => {
        if (this.queued + events.length > MAX_QUEUED_EVENTS) return Promise.reject(new Error(`${this.queued} events already waiting for Kafka`));
        return new Promise<void>((resolve, reject) => {
          pending = { events, trace: headers, resolve, reject, abandoned: false };
          this.queue.push(pending);
          this.queued += events.length;
          void this.flush();
        });
      });
    } catch (e) {
      // The caller was told "unavailable" and will re-send: do not send these later
      // (unless they are already in flight, which the event ids make harmless).
      if (pending) pending.abandoned = true;
      endSpan(span, e);
      throw e;
    }
    endSpan(span);
    for (const e of events) this.accepted?.inc({ channel: e.channel, type: e.type });
    for (const e of events) this.lastAccepted?.set({ channel: e.channel, source: this.sourceLabel(e.sourceSystem) }, Date.now() / 1000);
  }

  /** Sends what is queued, group by group, one send at a time. */
  private async flush(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    try {
      while (this.queue.length) {
        const group: Pending[] = [];
        let n = 0;
        while (this.queue.length && (group.length === 0 || n + this.queue[0]!.events.length <= MAX_GROUP_EVENTS)) {
          const p = this.queue.shift()!;
          if (p.abandoned) {
            this.queued -= p.events.length;
            continue;
          }
          group.push(p);
          n += p.events.length;
        }
        if (group.length === 0) continue;
        try {
          await sendFlowEvents(this.producer, this.codec, group.flatMap((p) => p.events), this.topics.flowEvents, group.flatMap((p) => p.events.map(() => p.trace)));
          for (const p of group) p.resolve();
        } catch (e) {
          for (const p of group) p.reject(e);
        } finally {
          this.queued -= n;
        }
      }
    } finally {
      this.flushing = false;
    }
  }

  /**
   * Keeps a refused input in the rejects topic. Its id, unless given, is a digest of what
   * was refused (channel, sender, reason, raw input): the same input refused again (a
   * sender's retry after a 503, a re-sent HL7 message) is the same record, kept once by
   * the rejects view, never counted twice.
   */
  async reject(input: RejectInput): Promise<Reject> {
    const r = boundedReject(input);
    const full: Reject = { ...r, rejectId: r.rejectId ?? contentRejectId(r), receivedAt: r.receivedAt ?? Date.now(), stage: 'ingest' };
    const stored = this.opts.seal ? this.opts.seal(full) : full;
    await this.withDeadline('reject', () => serialSend(this.producer, { topic: this.topics.rejects, acks: -1, messages: [{ key: full.rejectId, value: JSON.stringify(stored) }] }));
    this.rejected?.inc({ channel: full.channel, reason: reasonLabel(input.reasonClass) });
    this.opts.onReject?.(full);
    this.logger.info({ rejectId: full.rejectId, channel: full.channel, reason: full.reason.slice(0, 300) }, 'input rejected');
    return full;
  }

  private async withDeadline(what: 'events' | 'reject', send: () => Promise<unknown>): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no acknowledgement within ${this.timeoutMs} ms`)), this.timeoutMs);
    });
    try {
      await Promise.race([send(), deadline]);
    } catch (e) {
      this.unavailable?.inc({ what });
      const label = what === 'events' ? 'the events' : 'the reject record';
      throw new UnavailableError(`Kafka did not accept ${label}: ${(e as Error).message}`, { cause: e });
    } finally {
      clearTimeout(timer);
    }
  }
}
