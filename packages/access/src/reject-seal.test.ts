// Sealing raw rejected input (AES-256-GCM, real node:crypto): what is stored never holds
// the input; only a listed key opens it; a sealed body cannot be altered or moved.
import { randomBytes } from 'node:crypto';
import type { Reject } from '@pfm/contracts';
import { RejectKeyError, RejectKeys } from './reject-seal';

const key = () => randomBytes(32).toString('base64');
const k1 = key();
const k2 = key();
const record = (over: Partial<Reject> = {}): Reject => ({
  rejectId: 'r-1', stage: 'ingest', channel: 'hl7v2', receivedAt: 1, reason: 'PID-3: required', errors: [{ path: 'PID-3', message: 'required' }],
  raw: 'MSH|^~\\&|PAS\rPID|1||9434765919^^^NHS||SMITH^JOHN||19700101|M|||14 ACACIA ROAD', rawEncoding: 'utf8', ...over,
});

describe('RejectKeys', () => {
  it('stores no raw input, only its sealed form with the key id; a listed key opens it as it was', () => {
    const keys = RejectKeys.parse(`k1:${k1}`)!;
    const stored = keys.seal(record());
    expect(stored.sealed).toEqual({ alg: 'A256GCM', kid: 'k1' });
    expect(stored.raw).not.toMatch(/SMITH|9434765919|ACACIA/);
    expect(Buffer.from(stored.raw, 'base64').toString('latin1')).not.toMatch(/SMITH|9434765919|ACACIA/);
    expect({ ...stored, raw: undefined, sealed: undefined }).toEqual({ ...record(), raw: undefined, sealed: undefined });
    expect(keys.open(stored)).toEqual(record());
    // Two seals of the same input differ (a fresh IV each time).
    expect(keys.seal(record()).raw).not.toBe(stored.raw);
  });

  it('rotates: the first key seals, every listed key opens', () => {
    const old = RejectKeys.parse(`k1:${k1}`)!.seal(record());
    const rotated = RejectKeys.parse(`k2:${k2}, k1:${k1}`)!;
    expect(rotated.activeKid).toBe('k2');
    expect(rotated.open(old)).toEqual(record());
    expect(rotated.seal(record()).sealed?.kid).toBe('k2');
  });

  it('refuses to open without the key, an altered body, or a body moved to another record', () => {
    const stored = RejectKeys.parse(`k1:${k1}`)!.seal(record());
    expect(() => RejectKeys.parse(`k2:${k2}`)!.open(stored)).toThrow(/does not hold/);
    expect(() => RejectKeys.parse(`k1:${k2}`)!.open(stored)).toThrow(RejectKeyError);
    const bytes = Buffer.from(stored.raw, 'base64');
    bytes[20] = bytes[20]! ^ 1;
    expect(() => RejectKeys.parse(`k1:${k1}`)!.open({ ...stored, raw: bytes.toString('base64') })).toThrow(/does not open/);
    expect(() => RejectKeys.parse(`k1:${k1}`)!.open({ ...stored, rejectId: 'r-2' })).toThrow(/does not open/);
  });

  it('parses the key list strictly; none configured is undefined', () => {
    expect(RejectKeys.parse(undefined)).toBeUndefined();
    expect(RejectKeys.parse(' ')).toBeUndefined();
    expect(() => RejectKeys.parse(`k1:${randomBytes(16).toString('base64')}`)).toThrow(/not 32 bytes/);
    expect(() => RejectKeys.parse(k1)).toThrow(/<kid>:<base64 key>/);
    expect(() => RejectKeys.parse(`k1:${k1},k1:${k2}`)).toThrow(/listed twice/);
  });
});
