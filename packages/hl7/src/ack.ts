// ACK messages: MSH with sending/receiving swapped, MSA (code + original MSH-10), and
// for AE/AR one ERR per issue (ERR-2 location, ERR-3 table 0357, ERR-4 severity,
// ERR-8 text). Works from raw text too, so garbage can still be answered with AR.
import { randomBytes } from 'node:crypto';
import { Hl7Message } from '@medplum/core';
import { DEFAULT_DELIMITERS, type Delimiters, escapeHl7 } from './encoding';
import { DEFAULT_TIME_ZONE, formatDtm } from './dtm';
import { type AckCode, HL7_ERROR_CODES, type Hl7Issue } from './issues';
import { parseHl7, type Seg } from './parse';

export interface AckOptions {
  /** MSH-10 of the ACK; default a random 20-character id. */
  controlId?: string;
  /** MSH-7 of the ACK, epoch ms; default now. */
  now?: number;
  /** Zone MSH-7 is written in (always with its offset). Default Europe/London. */
  timeZone?: string;
  /**
   * With AA: what was accepted with a caveat (a default used, a line skipped), one ERR each
   * with severity W (ERR-4) on v2.5 and later; a receiver of an older version gets none
   * (its ERR has no severity, so a warning would read as an error).
   */
  warnings?: readonly Hl7Issue[];
}

/** Version used when the original message says none (or could not be read). */
export const DEFAULT_ACK_VERSION = '2.5.1';

// eslint-disable-next-line no-control-regex
const stripControls = (s: string): string => s.replace(/[\u0000-\u001f\u007f]/g, '');

export function newControlId(): string {
  return `A${randomBytes(10).toString('hex').slice(0, 19).toUpperCase()}`;
}

/** ERR-2 / ERR-1 location: SEG^sequence^field[^repetition^component]. */
function location(i: Hl7Issue, d: Delimiters, extra?: string): string {
  const c = d.component;
  const seg = escapeHl7(i.segment, d);
  const parts = [seg, String(i.sequence)];
  if (i.field !== undefined) parts.push(String(i.field));
  if (i.field !== undefined && i.component !== undefined) parts.push('1', String(i.component));
  if (extra !== undefined) {
    while (parts.length < 3) parts.push('');
    return [...parts.slice(0, 3), extra].join(c);
  }
  return parts.join(c);
}

function errSegment(i: Hl7Issue, d: Delimiters, legacy: boolean, severity: 'E' | 'W' = 'E'): string {
  const c = d.component;
  const codeText = escapeHl7(HL7_ERROR_CODES[i.code] ?? 'Application internal error', d);
  const err3 = [String(i.code), codeText, 'HL70357'].join(c);
  // ERR-1 (ELD) is what v2.1-2.4 receivers read; from v2.5 on it is withdrawn.
  const err1 = legacy ? location(i, d, [String(i.code), codeText, 'HL70357'].join(d.subcomponent)) : '';
  return ['ERR', err1, location(i, d), err3, severity, '', '', '', escapeHl7(i.message, d)].join(d.field);
}

function isLegacyVersion(version: string): boolean {
  const m = /^2\.(\d+)/.exec(version);
  return !!m && Number(m[1]) < 5;
}

/**
 * Builds the ACK for a message (raw text or parsed). Segments end with CR.
 * AE and AR carry one ERR per issue; AA carries none but its warnings (opts.warnings).
 */
export function buildAck(original: string | Hl7Message, code: AckCode, errors: readonly Hl7Issue[] = [], opts: AckOptions = {}): string {
  const parsed = parseHl7(original);
  const d = parsed.ok ? parsed.parsed.delimiters : DEFAULT_DELIMITERS;
  const msh: Seg | undefined = parsed.ok ? parsed.parsed.msh : undefined;
  const raw = (n: number): string => stripControls(msh?.rawField(n) ?? '');

  const trigger = msh?.get(9, 2) ?? '';
  const messageType = trigger ? [ 'ACK', escapeHl7(trigger, d), 'ACK' ].join(d.component) : 'ACK';
  const version = raw(12) || DEFAULT_ACK_VERSION;
  const processingId = raw(11) || 'P';
  const controlId = escapeHl7(opts.controlId ?? newControlId(), d);
  const now = formatDtm(opts.now ?? Date.now(), opts.timeZone ?? DEFAULT_TIME_ZONE);
  const encoding = d.component + d.repetition + d.escape + d.subcomponent;

  const mshOut = ['MSH', encoding, raw(5), raw(6), raw(3), raw(4), now, '', messageType, controlId, processingId, version].join(d.field);
  const issues = code === 'AA' ? [] : errors;
  const text = issues[0] ? escapeHl7(issues[0].message.slice(0, 80), d) : '';
  const msa = ['MSA', code, raw(10), text].join(d.field).replace(new RegExp(`${escapeRe(d.field)}+$`), '');
  const legacy = isLegacyVersion(msh?.get(12, 1) ?? '');
  const warnings = code === 'AA' && !legacy ? opts.warnings ?? [] : [];
  const segments = [mshOut, msa, ...issues.map((i) => errSegment(i, d, legacy)), ...warnings.map((i) => errSegment(i, d, legacy, 'W'))];
  return segments.map((s) => `${s}\r`).join('');
}

const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The same ACK as an Hl7Message, ready for `Hl7Connection.send()` from @medplum/hl7. */
export function buildAckMessage(original: string | Hl7Message, code: AckCode, errors: readonly Hl7Issue[] = [], opts: AckOptions = {}): Hl7Message {
  return Hl7Message.parse(buildAck(original, code, errors, opts));
}
