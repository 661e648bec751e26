// Turns validated input into canonical events: fills in what a sender may leave out.
// An event without an id gets a deterministic one (hash of its content), so a client
// that re-sends the same event after a timeout is deduplicated downstream.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { aheadOfClock, DEFAULT_MAX_AHEAD_MS, flowEventInputSchema, type Channel, type FieldError, type FlowEvent, type FlowEventInput } from '@pfm/contracts';

/**
 * Channel and sourceSystem always come from the caller (the channel the input came by, the
 * authenticated sender), never from the body: a sender cannot pose as the board ("ui"),
 * a re-drive or another system.
 */
export function canonicalise(input: FlowEventInput, channel: Channel, sourceSystem: string, now: number): FlowEvent {
  const eventId = input.eventId ?? `h-${createHash('sha256').update(JSON.stringify([input.type, input.site, input.patientId, input.occurredAt, input.payload])).digest('base64url').slice(0, 24)}`;
  return { ...input, eventId, recordedAt: input.recordedAt ?? now, sourceSystem, channel } as FlowEvent;
}

export function fieldErrors(error: z.ZodError): FieldError[] {
  return error.issues.flatMap((i) => {
    // A discriminated union mismatch on "type" is clearer as one message listing the valid types.
    if (i.code === 'invalid_union' && 'note' in i && i.path.length === 0) return [{ path: 'type', message: 'unknown or missing event type' }];
    return [{ path: i.path.join('.') || '(root)', message: i.message }];
  });
}

export type ItemResult = { ok: true; event: FlowEvent } | { ok: false; errors: FieldError[] };

export { aheadOfClock, DEFAULT_MAX_AHEAD_MS };

export function validateItem(item: unknown, channel: Channel, sourceSystem: string, now: number, maxAheadMs = 0): ItemResult {
  const r = flowEventInputSchema.safeParse(item);
  if (!r.success) return { ok: false, errors: fieldErrors(r.error) };
  const event = canonicalise(r.data, channel, sourceSystem, now);
  const ahead = aheadOfClock(event.occurredAt, now, maxAheadMs);
  if (ahead) return { ok: false, errors: [{ path: 'occurredAt', message: ahead }] };
  return { ok: true, event };
}

/** A short stable digest of its parts, for ids derived from content. */
export const digest = (...parts: string[]): string => createHash('sha256').update(parts.join('\u0000')).digest('base64url').slice(0, 16);

/**
 * Whether JSON text nests deeper than `max` (objects and arrays), checked on the text
 * before parsing: a body of 100k opening brackets parses, but everything that walks the
 * result recursively afterwards (validation, JSON.stringify for the reject record) would
 * exhaust the stack.
 */
export function jsonDepthExceeds(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i += 1; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      depth += 1;
      if (depth > max) return true;
    } else if (c === 0x7d || c === 0x5d) depth -= 1;
  }
  return false;
}

/**
 * Where JSON text first goes wrong, for error messages that must not quote the body
 * (Node's JSON.parse messages quote the text around the error, and bodies hold names and
 * NHS numbers). Called only after JSON.parse failed; depth is bounded by jsonDepthExceeds.
 */
export function jsonSyntaxError(text: string): string {
  let i = 0;
  class At extends Error { constructor(readonly pos: number, readonly what: string) { super(what); } }
  const ws = () => { while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++; };
  const fail = (what: string): never => { throw new At(i, what); };
  const lit = (word: string) => { if (text.startsWith(word, i)) i += word.length; else fail('unexpected character'); };
  const str = () => {
    i++; // opening quote
    for (;;) {
      if (i >= text.length) fail('unterminated string');
      const c = text.charCodeAt(i);
      if (c === 0x22) { i++; return; }
      if (c < 0x20) fail('control character in a string');
      if (c === 0x5c) {
        const e = text[i + 1];
        if (e === 'u') { if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) fail('bad \\u escape'); i += 6; } else if (e !== undefined && '"\\/bfnrt'.includes(e)) i += 2; else fail('bad escape');
      } else i++;
    }
  };
  const num = () => {
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
    if (!m || !m[0] || m[0] === '-') fail('unexpected character');
    i += m![0].length;
  };
  const value = (): void => {
    ws();
    if (i >= text.length) fail('unexpected end of the body');
    const c = text[i];
    if (c === '{') {
      i++; ws();
      if (text[i] === '}') { i++; return; }
      for (;;) {
        ws();
        if (text[i] !== '"') fail('expected a property name in double quotes');
        str(); ws();
        if (text[i] !== ':') fail("expected ':'");
        i++; value(); ws();
        if (text[i] === ',') { i++; continue; }
        if (text[i] === '}') { i++; return; }
        fail(i >= text.length ? 'unexpected end of the body' : "expected ',' or '}'");
      }
    } else if (c === '[') {
      i++; ws();
      if (text[i] === ']') { i++; return; }
      for (;;) {
        value(); ws();
        if (text[i] === ',') { i++; continue; }
        if (text[i] === ']') { i++; return; }
        fail(i >= text.length ? 'unexpected end of the body' : "expected ',' or ']'");
      }
    } else if (c === '"') str();
    else if (c === 't') lit('true');
    else if (c === 'f') lit('false');
    else if (c === 'n') lit('null');
    else num();
  };
  try {
    value(); ws();
    if (i < text.length) fail('unexpected text after the JSON value');
    return 'not valid JSON';
  } catch (e) {
    if (e instanceof At) return `not valid JSON: ${e.what} at position ${e.pos}`;
    return 'not valid JSON';
  }
}
