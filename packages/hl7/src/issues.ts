// What went wrong with a message, located the way HL7 ERR-2 (ERL) locates it, coded
// from HL7 table 0357, so one list serves the ACK, the reject topic and the logs.

/** HL7 table 0357 (message error condition codes) entries this package emits. */
export const HL7_ERROR_CODES = {
  100: 'Segment sequence error',
  101: 'Required field missing',
  102: 'Data type error',
  103: 'Table value not found',
  200: 'Unsupported message type',
  201: 'Unsupported event code',
  207: 'Application internal error',
} as const;
export type Hl7ErrorCode = keyof typeof HL7_ERROR_CODES;

/** MSA-1 acknowledgment codes (original mode). */
export type AckCode = 'AA' | 'AE' | 'AR';

export interface Hl7Issue {
  /** Segment id, e.g. "PID". */
  segment: string;
  /** 1-based occurrence of that segment in the message (ERR-2.2). */
  sequence: number;
  /** 1-based field position (ERR-2.3); absent when the issue is about a whole segment or message. */
  field?: number;
  /** 1-based component (ERR-2.5), when the issue is about one component. */
  component?: number;
  /** Human-readable location, e.g. "PID-3", "PV1-3.1", "PID[2]-3". */
  path: string;
  /** HL7 table 0357 code (ERR-3). */
  code: Hl7ErrorCode;
  /** Text for people (ERR-8). Never contains patient-identifiable values. */
  message: string;
}

export function hl7Path(segment: string, sequence: number, field?: number, component?: number): string {
  const seg = sequence > 1 ? `${segment}[${sequence}]` : segment;
  if (field === undefined) return seg;
  return component === undefined ? `${seg}-${field}` : `${seg}-${field}.${component}`;
}

export function issueAt(
  at: { segment: string; sequence?: number; field?: number; component?: number },
  code: Hl7ErrorCode,
  message: string,
): Hl7Issue {
  const sequence = at.sequence ?? 1;
  const out: Hl7Issue = { segment: at.segment, sequence, path: hl7Path(at.segment, sequence, at.field, at.component), code, message };
  if (at.field !== undefined) out.field = at.field;
  if (at.component !== undefined) out.component = at.component;
  return out;
}

/** An issue for a failure after mapping (e.g. the event log did not accept the events): ERR-3 207. */
export function applicationError(message: string): Hl7Issue {
  return issueAt({ segment: 'MSH', sequence: 1 }, 207, message);
}
