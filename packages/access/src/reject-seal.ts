// Raw rejected input encrypted at rest: the `raw` of a reject record is sealed with
// AES-256-GCM before it goes to the rejects topic (the key id in the record, the reject id
// as associated data, so a sealed body cannot be moved to another record) and opened
// when an instance that holds the key reads it back. Everything else in the record
// (reason, field errors, ids) stays readable: it never quotes the input.
//
// Keys: PFM_REJECTS_KEYS="<kid>:<base64 of 32 bytes>[,<kid>:<key>...]". The first key
// seals; every listed key opens, so a key is rotated by putting the new one first and
// keeping the old one listed until the records it sealed have aged out of the topic.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Reject } from '@pfm/contracts';

const ALG = 'A256GCM' as const;
const IV_BYTES = 12;
const TAG_BYTES = 16;

export class RejectKeyError extends Error {}

export class RejectKeys {
  private constructor(private readonly keys: Map<string, Buffer>, readonly activeKid: string) {}

  /** Parses the key list; undefined when none is configured; throws on a malformed one. */
  static parse(spec: string | undefined): RejectKeys | undefined {
    if (spec === undefined || spec.trim() === '') return undefined;
    const keys = new Map<string, Buffer>();
    for (const part of spec.split(',').map((p) => p.trim()).filter(Boolean)) {
      const i = part.indexOf(':');
      const kid = i > 0 ? part.slice(0, i) : '';
      if (!/^[A-Za-z0-9_.-]{1,64}$/.test(kid)) throw new RejectKeyError('PFM_REJECTS_KEYS: each entry is <kid>:<base64 key>, kid of letters, digits, _ . -');
      const key = Buffer.from(part.slice(i + 1), 'base64');
      if (key.length !== 32) throw new RejectKeyError(`PFM_REJECTS_KEYS: key ${kid} is not 32 bytes (base64 of 32 random bytes: openssl rand -base64 32)`);
      if (keys.has(kid)) throw new RejectKeyError(`PFM_REJECTS_KEYS: key id ${kid} is listed twice`);
      keys.set(kid, key);
    }
    const first = keys.keys().next();
    if (first.done) return undefined;
    return new RejectKeys(keys, first.value);
  }

  /** The record as stored: `raw` sealed with the active key (base64 of iv | ciphertext | tag). */
  seal(r: Reject): Reject {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.keys.get(this.activeKid)!, iv);
    cipher.setAAD(Buffer.from(r.rejectId, 'utf8'));
    const body = Buffer.concat([cipher.update(r.raw, 'utf8'), cipher.final()]);
    return { ...r, raw: Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64'), sealed: { alg: ALG, kid: this.activeKid } };
  }

  /** The record with its raw input back; throws RejectKeyError when the key is not held or the record was altered. */
  open(r: Reject): Reject {
    if (!r.sealed) return r;
    const key = this.keys.get(r.sealed.kid);
    if (!key) throw new RejectKeyError(`sealed with key ${r.sealed.kid}, which this instance does not hold`);
    const all = Buffer.from(r.raw, 'base64');
    if (all.length < IV_BYTES + TAG_BYTES) throw new RejectKeyError('sealed raw input is cut short');
    const decipher = createDecipheriv('aes-256-gcm', key, all.subarray(0, IV_BYTES));
    decipher.setAAD(Buffer.from(r.rejectId, 'utf8'));
    decipher.setAuthTag(all.subarray(all.length - TAG_BYTES));
    let raw: string;
    try {
      raw = Buffer.concat([decipher.update(all.subarray(IV_BYTES, all.length - TAG_BYTES)), decipher.final()]).toString('utf8');
    } catch {
      throw new RejectKeyError(`sealed raw input does not open with key ${r.sealed.kid} (altered, or another record's)`);
    }
    const { sealed: _sealed, ...rest } = r;
    return { ...rest, raw };
  }
}
