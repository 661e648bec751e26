// Structural parsing: checks what @medplum/core's Hl7Message.parse takes on trust (an
// MSH first, sane delimiters, a size limit), then wraps each segment in `Seg`, whose
// accessors never throw, treat `""` as empty, and unescape values.
import { Hl7Message, type Hl7Field, type Hl7Segment } from '@medplum/core';
import { type Delimiters, unescapeHl7 } from './encoding';
import { type Hl7Issue, issueAt } from './issues';

/** Larger inputs are rejected (AR) before parsing; an ADT message is a few kB. */
export const MAX_MESSAGE_CHARS = 1_000_000;

export class Seg {
  constructor(
    readonly segment: Hl7Segment,
    /** 1-based occurrence of this segment name in the message. */
    readonly sequence: number,
    /** 0-based position in the message. */
    readonly index: number,
    private readonly d: Delimiters,
  ) {}

  get name(): string {
    return this.segment.name;
  }

  private field(n: number): Hl7Field | undefined {
    if (n < 1) return undefined;
    if (this.segment.name === 'MSH' && n <= 2) return undefined;
    return this.segment.getField(n) as Hl7Field | undefined;
  }

  /** Number of repetitions present in field n (0 when the field is absent or empty). */
  repetitions(n: number): number {
    const f = this.field(n);
    if (!f) return 0;
    return f.components.some((rep) => rep.some((c) => c.trim() !== '')) ? f.components.length : 0;
  }

  /** A component (1-based), repetition (0-based) and optional subcomponent (1-based), unescaped and trimmed. */
  get(n: number, component = 1, repetition = 0, subcomponent?: number): string {
    const rep = this.field(n)?.components[repetition];
    let v = rep?.[component - 1] ?? '';
    if (subcomponent !== undefined) v = v.split(this.d.subcomponent)[subcomponent - 1] ?? '';
    else if (v.includes(this.d.subcomponent)) v = v.split(this.d.subcomponent)[0] ?? '';
    const out = unescapeHl7(v, this.d).trim();
    return out === '""' ? '' : out;
  }

  /** The field exactly as sent (still escaped), for copying into an ACK. */
  rawField(n: number): string {
    if (this.segment.name === 'MSH' && n <= 2) return '';
    return this.field(n)?.toString() ?? '';
  }

  has(n: number): boolean {
    return this.repetitions(n) > 0;
  }
}

export interface ParsedHl7 {
  readonly message: Hl7Message;
  readonly delimiters: Delimiters;
  /** Every well-formed segment in order; MSH is first. */
  readonly segments: readonly Seg[];
  readonly msh: Seg;
}

export type ParseResult = { ok: true; parsed: ParsedHl7; warnings: Hl7Issue[] } | { ok: false; errors: Hl7Issue[] };

const reject = (message: string, field?: number): ParseResult => ({
  ok: false,
  errors: [issueAt({ segment: 'MSH', sequence: 1, ...(field === undefined ? {} : { field }) }, field === undefined ? 100 : 102, message)],
});

const isDelimiter = (ch: string | undefined): ch is string => ch !== undefined && /^[\x21-\x2f\x3a-\x40\x5b-\x60\x7b-\x7e]$/.test(ch);

/** Strips MLLP framing bytes, a BOM and surrounding whitespace that transports leave around a message. */
function unframe(raw: string): string {
  // eslint-disable-next-line no-control-regex
  return raw.replace(/^[\ufeff\u000b\s]+/, '').replace(/[\u001c\s]+$/, '');
}

/** Parses one HL7 v2 message. Never throws. */
export function parseHl7(input: string | Hl7Message, maxChars = MAX_MESSAGE_CHARS): ParseResult {
  let raw: string;
  try {
    raw = typeof input === 'string' ? input : input.toString();
  } catch {
    return reject('message could not be read');
  }
  if (typeof raw !== 'string') return reject('message is not text');
  if (raw.length > maxChars) return reject(`message is longer than ${maxChars} characters`);
  raw = unframe(raw);
  if (!raw.startsWith('MSH')) return reject('message does not start with an MSH segment');

  const fieldSep = raw[3];
  const encEnd = fieldSep === undefined ? -1 : raw.indexOf(fieldSep, 4);
  const enc = encEnd === -1 ? '' : raw.slice(4, encEnd);
  const chars = [fieldSep, ...enc.slice(0, 4)];
  if (enc.length < 4 || enc.length > 5 || !chars.every(isDelimiter) || new Set(chars).size !== 5) {
    return reject('MSH-1/MSH-2 do not declare five distinct delimiter characters', 2);
  }
  const [field, component, repetition, escape, subcomponent] = chars as [string, string, string, string, string];
  const delimiters: Delimiters = { field, component, repetition, escape, subcomponent };

  let message: Hl7Message;
  try {
    message = Hl7Message.parse(raw);
  } catch {
    return reject('message could not be parsed');
  }

  const warnings: Hl7Issue[] = [];
  const segments: Seg[] = [];
  const seen = new Map<string, number>();
  message.segments.forEach((s, index) => {
    const name = s.name;
    if (name === '' && s.fields.length <= 1) return; // blank line
    if (!/^[A-Z][A-Z0-9]{2}$/.test(name)) {
      warnings.push(issueAt({ segment: 'MSH', sequence: 1 }, 100, `line ${index + 1} is not a segment and was ignored`));
      return;
    }
    const sequence = (seen.get(name) ?? 0) + 1;
    seen.set(name, sequence);
    segments.push(new Seg(s, sequence, index, delimiters));
  });
  const msh = segments[0];
  if (!msh || msh.name !== 'MSH' || msh.index !== 0) return reject('message does not start with an MSH segment');
  if (seen.get('MSH') !== 1) return reject('message has more than one MSH segment (batches are not accepted here)');
  return { ok: true, parsed: { message, delimiters, segments, msh }, warnings };
}
