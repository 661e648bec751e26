// Turns validated input into canonical events: fills in what a sender may leave out.
// An event without an id gets a deterministic one (hash of its content), so a client
// that re-sends the same event after a timeout is deduplicated downstream.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { flowEventInputSchema, type Channel, type FieldError, type FlowEvent, type FlowEventInput } from '@pfm/contracts';

export function canonicalise(input: FlowEventInput, channel: Channel, sourceSystem: string, now: number): FlowEvent {
  const eventId = input.eventId ?? `h-${createHash('sha256').update(JSON.stringify([input.type, input.site, input.patientId, input.occurredAt, input.payload])).digest('base64url').slice(0, 24)}`;
  return { ...input, eventId, recordedAt: input.recordedAt ?? now, sourceSystem: input.sourceSystem ?? sourceSystem, channel: input.channel ?? channel } as FlowEvent;
}

export function fieldErrors(error: z.ZodError): FieldError[] {
  return error.issues.flatMap((i) => {
    // A discriminated union mismatch on "type" is clearer as one message listing the valid types.
    if (i.code === 'invalid_union' && 'note' in i && i.path.length === 0) return [{ path: 'type', message: 'unknown or missing event type' }];
    return [{ path: i.path.join('.') || '(root)', message: i.message }];
  });
}

export type ItemResult = { ok: true; event: FlowEvent } | { ok: false; errors: FieldError[] };

export function validateItem(item: unknown, channel: Channel, sourceSystem: string, now: number): ItemResult {
  const r = flowEventInputSchema.safeParse(item);
  if (!r.success) return { ok: false, errors: fieldErrors(r.error) };
  return { ok: true, event: canonicalise(r.data, channel, sourceSystem, now) };
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
