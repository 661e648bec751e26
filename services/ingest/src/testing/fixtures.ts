// The HL7 fixtures of @pfm/hl7 (packages/hl7/fixtures), read as the bytes a sender sends.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const HL7_FIXTURES_DIR = join(__dirname, '..', '..', '..', '..', 'packages', 'hl7', 'fixtures');

export function hl7Fixture(name: string): string {
  return readFileSync(join(HL7_FIXTURES_DIR, name.endsWith('.hl7') ? name : `${name}.hl7`), 'utf8');
}

export const hl7FixtureNames = (): string[] => readdirSync(HL7_FIXTURES_DIR).filter((f) => f.endsWith('.hl7')).sort();

/** MSA-1 of an ACK, read with the ACK's own field separator (it echoes the sender's delimiters). */
export function ackCode(ack: string): string | undefined {
  const sep = ack.startsWith('MSH') ? ack[3]! : '|';
  return ack.split('\r').find((s) => s.startsWith(`MSA${sep}`))?.split(sep)[1];
}

/** Whether an ACK carries at least one ERR segment. */
export const hasErr = (ack: string): boolean => ack.split('\r').some((s) => s.startsWith(`ERR${ack.startsWith('MSH') ? ack[3]! : '|'}`));

/** The fixture with a fresh MSH-10 (so a test's messages never collide with another's). */
export function withControlId(message: string, controlId: string): string {
  return message.replace(/^(MSH\|[^|]*\|[^|]*\|[^|]*\|[^|]*\|[^|]*\|[^|]*\|[^|]*\|[^|]*\|)[^|]*/, `$1${controlId}`);
}
