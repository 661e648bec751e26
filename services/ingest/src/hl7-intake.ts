// HL7 v2 intake: one MLLP frame in, one answer out (or, deliberately, none).
//
//   mapped (or unmapped-and-recorded) -> publish events -> Kafka acked -> AA
//   content wrong (mapper AE) / structure wrong (mapper AR), oversize, broken frame,
//   refused processing id -> reject record (raw, reason, errors) -> Kafka acked -> AE/AR with ERR
//   Kafka unavailable (either publish) -> NO answer: the connection is closed (see below)
//
// Why no ACK when Kafka is down, instead of the AE + ERR 207 that packages/hl7 offers:
// PAS engines differ on AE (many file it as an application error and move on, which would
// lose the message); every engine re-sends a message it got no ACK for. Closing the
// connection (rather than leaving it silent) makes the sender notice at once instead of
// after its ACK timeout, and drops any frames it pipelined behind the failed one, so a
// discharge can never be accepted ahead of the admission that failed before it. A re-sent
// message has the same MSH-10, hence the same event ids, and the engine applies it once.
import { scopeErrors, type Sender } from '@pfm/access';
import { applicationError, buildAck, mapAdt, parseHl7, type AckCode, type Hl7Issue, type MapContext } from '@pfm/hl7';
import type { FieldError, FlowEvent, FlowEventInput } from '@pfm/contracts';
import { SpanKind, withSpan, type Logger, type Metrics } from '@pfm/observability';
import type { Frame, FrameReply } from './mllp';
import { canonicalise, DEFAULT_MAX_AHEAD_MS } from './normalise';
import { TRUNCATED_PATH, UnavailableError, type EventSink } from './publisher';

/** Processing ids (MSH-11.1, HL7 table 0103). */
const PROCESSING_IDS: Record<string, string> = { P: 'production', T: 'training', D: 'debugging' };

export interface Hl7IntakeOptions {
  publisher: EventSink;
  logger: Logger;
  metrics?: Metrics;
  mapContext: MapContext;
  /** MSH-11.1 values accepted; others are answered AR. Default ['P']. */
  processingIds?: string[];
  maxMessageBytes: number;
  now?: () => number;
  /** Event times further ahead of `now` are answered AE (0 = no limit; default DEFAULT_MAX_AHEAD_MS). */
  maxAheadMs?: number;
  /** The sender a connection's peer ("address:port") belongs to: its types and sites bound what it may send. */
  senderOf?: (peer: string) => Sender | undefined;
}

export type Hl7Outcome =
  | { ok: true; code: 'AA'; events: FlowEvent[]; ack: string; messageType: string; controlId: string }
  | { ok: false; code: 'AE' | 'AR'; errors: Hl7Issue[]; ack: string; rejectId?: string; controlId?: string };

export const issuesToFieldErrors = (issues: readonly Hl7Issue[]): FieldError[] => issues.map((i) => ({ path: i.path, message: i.message }));
const reasonOf = (issues: readonly Hl7Issue[]): string => issues.map((i) => `${i.path}: ${i.message}`).join('; ') || 'rejected';

/** HL7 text of a frame. MSH-18 names the character set; UTF-8 unless it says ISO 8859-1. */
export function decodeHl7(data: Buffer): { text: string; latin1: boolean } {
  const peek = data.subarray(0, 2048).toString('latin1');
  const mshEnd = peek.search(/[\r\n]/);
  const msh = mshEnd < 0 ? peek : peek.slice(0, mshEnd);
  const latin1 = /\|8859\/1(\||$)/.test(msh) || /\|ISO[ _-]?8859[ _-]?1(\||$)/i.test(msh);
  return { text: data.toString(latin1 ? 'latin1' : 'utf8'), latin1 };
}

/** Raw bytes as kept in a reject record: text when it is exactly UTF-8, else base64 (nothing lost). */
function rawOf(data: Buffer, text: string, latin1: boolean): { raw: string; rawEncoding: 'utf8' | 'base64' } {
  if (latin1 || Buffer.from(text, 'utf8').equals(data)) return { raw: text, rawEncoding: 'utf8' };
  return { raw: data.toString('base64'), rawEncoding: 'base64' };
}

const sourceOf = (text: string): string | undefined => {
  const p = parseHl7(text);
  const v = p.ok ? p.parsed.msh.get(3, 1) : '';
  return v ? v.slice(0, 64) : undefined;
};

export class Hl7Intake {
  private readonly unmapped;
  private readonly warned;
  private readonly acks;
  private readonly latency;
  private readonly processingIds: Set<string>;
  private readonly now: () => number;

  constructor(private readonly o: Hl7IntakeOptions) {
    this.processingIds = new Set((o.processingIds ?? ['P']).map((p) => p.toUpperCase()));
    this.now = o.now ?? Date.now;
    this.unmapped = o.metrics?.counter('pfm_ingest_unmapped_total', 'HL7 messages accepted (AA) but recorded as message.unmapped, by trigger', ['trigger']);
    this.warned = o.metrics?.counter('pfm_ingest_hl7_warnings_total', 'Warnings on HL7 messages accepted (AA): a default used or a part skipped, by where in the message (e.g. PV1-3.4: facility not known, default site)', ['path']);
    this.acks = o.metrics?.counter('pfm_ingest_mllp_messages_total', 'MLLP messages by answer (AA, AE, AR, none = closed unanswered)', ['ack']);
    this.latency = o.metrics?.histogram('pfm_ingest_mllp_ack_seconds', 'Frame received -> ACK written', [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]);
  }

  /** The MLLP frame handler. */
  readonly handle = async (f: Frame, peer: string): Promise<FrameReply> => {
    const end = this.latency?.startTimer();
    try {
      // The trace of the message starts at its receipt; the publish to Kafka is a child.
      const out = await withSpan('ingest mllp receive', SpanKind.SERVER, { 'network.transport': 'tcp', 'pfm.channel': 'hl7v2' }, () => this.process(f, this.o.senderOf?.(peer)));
      this.acks?.inc({ ack: out.code });
      const encoding = f.kind === 'message' && decodeHl7(f.data).latin1 ? 'latin1' : 'utf8';
      return { reply: Buffer.from(out.ack, encoding) };
    } catch (e) {
      if (!(e instanceof UnavailableError)) throw e;
      this.acks?.inc({ ack: 'none' });
      this.o.logger.warn({ peer, err: e.message }, 'Kafka unavailable: message not acknowledged; the sender will re-send');
      return { close: 'event log unavailable' };
    } finally {
      end?.();
    }
  };

  /** Maps and publishes one frame; throws UnavailableError when Kafka cannot take the result. */
  async process(f: Frame, sender?: Sender): Promise<Hl7Outcome> {
    if (f.kind === 'oversize') {
      const { text } = decodeHl7(f.head);
      const issue = applicationError(`message of ${f.size} bytes is over the limit of ${this.o.maxMessageBytes} bytes`);
      return this.refuse(text, f.head, 'AR', [{ ...issue, code: 102 }], `oversize (${f.size} bytes)`, false, undefined,
        `raw input truncated to its first ${f.head.length} of ${f.size} bytes`);
    }
    if (f.kind === 'incomplete') {
      const { text } = decodeHl7(f.data);
      const issue = { ...applicationError('incomplete frame: a new start block (0x0B) came before this message\'s end block (0x1C 0x0D)'), code: 100 as const };
      return this.refuse(text, f.data, 'AR', [issue], undefined, false, undefined, 'the sender cut this message off before its end block: what is kept is not a whole message');
    }
    const { text, latin1 } = decodeHl7(f.data);
    const r = this.map(text);
    if (!r.ok) return this.refuse(text, f.data, r.ack, r.errors, undefined, latin1, r.controlId);
    const outside = sender ? scopeErrors(sender, r.events, (i) => `event ${i + 1}`) : [];
    if (outside.length) {
      this.o.logger.warn({ sender: sender!.id, refused: outside.map((e) => e.path) }, 'HL7 message outside the sender\'s scope refused');
      return this.refuse(text, f.data, 'AR', outside.map((e) => applicationError(e.message)), 'outside the sender\'s scope', latin1, r.controlId);
    }
    await this.o.publisher.publish(r.events);
    for (const e of r.events) if (e.type === 'message.unmapped') this.unmapped?.inc({ trigger: triggerLabel(e.payload.trigger) });
    if (r.warnings.length) {
      // Where and which code only: a warning's text can quote the message's values.
      this.o.logger.warn({ controlId: r.controlId, sourceSystem: sourceOf(text), warnings: r.warnings.map((w) => `${w.path} (${w.code})`) }, 'HL7 message accepted with warnings (sent back as ERR with severity W on v2.5 and later)');
      for (const w of r.warnings) this.warned?.inc({ path: w.path.replace(/\[\d+\]/g, '') });
    }
    return { ok: true, code: 'AA', events: r.events, ack: buildAck(text, 'AA', [], { warnings: r.warnings }), messageType: r.messageType, controlId: r.controlId };
  }

  /**
   * The current mapping of a message, without publishing: mapAdt plus this feed's own
   * rule on MSH-11. Events are canonical (recordedAt now), channel hl7v2 unless given.
   */
  map(text: string, channel: FlowEvent['channel'] = 'hl7v2'):
    | { ok: true; events: FlowEvent[]; messageType: string; controlId: string; warnings: Hl7Issue[] }
    | { ok: false; ack: 'AE' | 'AR'; errors: Hl7Issue[]; controlId?: string } {
    const refused = this.checkProcessingId(text);
    if (refused) return { ok: false, ack: 'AR', errors: [refused] };
    const now = this.now();
    const r = mapAdt(text, { maxChars: this.o.maxMessageBytes, ...this.o.mapContext, now, maxAheadMs: this.o.maxAheadMs ?? DEFAULT_MAX_AHEAD_MS });
    if (!r.ok) return { ok: false, ack: r.ack, errors: r.errors, ...(r.controlId ? { controlId: r.controlId } : {}) };
    const events = r.events.map((e: FlowEventInput) => canonicalise({ ...e, channel }, channel, e.sourceSystem ?? 'hl7v2', now));
    return { ok: true, events, messageType: r.messageType, controlId: r.controlId, warnings: r.warnings };
  }

  /**
   * MSH-11 decision: this listener is a live feed, so only the configured processing ids
   * (default P) are accepted. A training (T) or debugging (D) message is answered AR with
   * the reason, and kept in the rejects topic so ops can see which sender is misconfigured;
   * it never reaches the board. An empty MSH-11 is read as P (the HL7 default sense).
   */
  private checkProcessingId(text: string): Hl7Issue | undefined {
    const p = parseHl7(text, this.o.maxMessageBytes);
    if (!p.ok) return undefined;
    const id = p.parsed.msh.get(11, 1).toUpperCase() || 'P';
    if (this.processingIds.has(id)) return undefined;
    const name = PROCESSING_IDS[id] ? `${id} (${PROCESSING_IDS[id]})` : `"${id.slice(0, 8)}"`;
    // Table 0357 has 202 "Unsupported processing id", which @pfm/hl7 does not emit yet; 207 with the reason.
    return { ...applicationError(`MSH-11 processing id ${name} is not accepted on this feed (accepts ${[...this.processingIds].join(', ')})`), field: 11, path: 'MSH-11' };
  }

  /**
   * Keeps the input in the rejects topic and answers AE/AR. `partial`: the raw kept is not
   * the whole message (over the size limit, or cut off by the sender); the record says so
   * and a re-drive needs a corrected body.
   */
  private async refuse(text: string, data: Buffer, code: AckCode & ('AE' | 'AR'), errors: Hl7Issue[], note?: string, latin1 = false, controlId?: string, partial?: string): Promise<Hl7Outcome> {
    const { raw, rawEncoding } = rawOf(data, text, latin1);
    const sourceSystem = sourceOf(text);
    const fieldErrors = issuesToFieldErrors(errors);
    if (partial) fieldErrors.push({ path: TRUNCATED_PATH, message: partial });
    const rec = await this.o.publisher.reject({
      channel: 'hl7v2', reason: note ? `${reasonOf(errors)} [${note}]` : reasonOf(errors), errors: fieldErrors, raw, rawEncoding,
      reasonClass: `hl7_${String(errors[0]?.code ?? 'error')}`,
      ...(sourceSystem ? { sourceSystem } : {}),
      ...(controlId ? { eventId: controlId } : {}),
    });
    return { ok: false, code, errors, ack: buildAck(text, code, errors), rejectId: rec.rejectId, ...(controlId ? { controlId } : {}) };
  }
}

/**
 * A bounded metric label for a sender-supplied trigger: "ADT^A31"-style codes as they are,
 * anything else "other" (a label per arbitrary string would let a sender grow /metrics
 * without limit).
 */
export const triggerLabel = (trigger: string): string => (/^[A-Z]{3}(\^[A-Z]\d{2})?$|^[A-Z]\d{2}$/.test(trigger) ? trigger : 'other');
