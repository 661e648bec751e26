// SCRAM credentials on a broker (Kafka's AlterUserScramCredentials, KIP-554), which kafkajs
// has no call for: a minimal client of the Kafka protocol that logs in as the admin with
// SASL PLAIN (the only mechanism the admin has) and upserts SCRAM-SHA-512 credentials.
// What the native stack does with the Java admin client (infra/kafka/KafkaSecurity.java),
// for docker-compose.yml, whose Kafka image may have no Java tools of ours (setup-cli.ts).
import { pbkdf2Sync, randomBytes } from 'node:crypto';
import { isIP, connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';

/** Kafka's ids for the SCRAM mechanisms (ScramMechanism in the Java client). */
const MECHANISM = { 'SCRAM-SHA-256': 1, 'SCRAM-SHA-512': 2 } as const;
export type ScramMechanism = keyof typeof MECHANISM;
const DIGEST = { 'SCRAM-SHA-256': 'sha256', 'SCRAM-SHA-512': 'sha512' } as const;
const KEY_LENGTH = { 'SCRAM-SHA-256': 32, 'SCRAM-SHA-512': 64 } as const;

const API = { SaslHandshake: 17, SaslAuthenticate: 36, AlterUserScramCredentials: 51 } as const;

export class ScramAdminError extends Error {
  override name = 'ScramAdminError';
}

/**
 * SCRAM's SaltedPassword (RFC 5802: Hi(password, salt, i), PBKDF2 with the mechanism's
 * HMAC), what the broker is sent with the salt and iterations; it derives the stored and
 * server keys itself. The password is used as given (the product's passwords are ASCII).
 */
export function saltedPassword(password: string, salt: Buffer, iterations: number, mechanism: ScramMechanism = 'SCRAM-SHA-512'): Buffer {
  return pbkdf2Sync(Buffer.from(password, 'utf8'), salt, iterations, KEY_LENGTH[mechanism], DIGEST[mechanism]);
}

// --- wire format ---------------------------------------------------------------------------

class Writer {
  private parts: Buffer[] = [];
  int8(v: number) { const b = Buffer.alloc(1); b.writeInt8(v); this.parts.push(b); return this; }
  int16(v: number) { const b = Buffer.alloc(2); b.writeInt16BE(v); this.parts.push(b); return this; }
  int32(v: number) { const b = Buffer.alloc(4); b.writeInt32BE(v); this.parts.push(b); return this; }
  uvarint(v: number) {
    const out: number[] = [];
    while (v >= 0x80) { out.push((v & 0x7f) | 0x80); v >>>= 7; }
    out.push(v);
    this.parts.push(Buffer.from(out));
    return this;
  }
  /** STRING (int16 length). */
  string(s: string) { const b = Buffer.from(s, 'utf8'); return this.int16(b.length).raw(b); }
  /** BYTES (int32 length). */
  bytes(b: Buffer) { return this.int32(b.length).raw(b); }
  /** COMPACT_STRING / COMPACT_BYTES (unsigned varint length + 1). */
  compactBytes(b: Buffer) { return this.uvarint(b.length + 1).raw(b); }
  compactString(s: string) { return this.compactBytes(Buffer.from(s, 'utf8')); }
  /** An empty tagged-fields section. */
  noTags() { return this.uvarint(0); }
  raw(b: Buffer) { this.parts.push(b); return this; }
  buffer() { return Buffer.concat(this.parts); }
}

class Reader {
  private at = 0;
  constructor(private readonly b: Buffer) {}
  int8() { const v = this.b.readInt8(this.at); this.at += 1; return v; }
  int16() { const v = this.b.readInt16BE(this.at); this.at += 2; return v; }
  int32() { const v = this.b.readInt32BE(this.at); this.at += 4; return v; }
  int64() { this.at += 8; }
  uvarint() {
    let v = 0, shift = 0, byte: number;
    do { byte = this.b.readUInt8(this.at++); v |= (byte & 0x7f) << shift; shift += 7; } while (byte & 0x80);
    return v >>> 0;
  }
  string(): string | null { const n = this.int16(); if (n < 0) return null; const s = this.b.toString('utf8', this.at, this.at + n); this.at += n; return s; }
  bytes(): Buffer | null { const n = this.int32(); if (n < 0) return null; const s = this.b.subarray(this.at, this.at + n); this.at += n; return s; }
  compactString(): string | null { const n = this.uvarint() - 1; if (n < 0) return null; const s = this.b.toString('utf8', this.at, this.at + n); this.at += n; return s; }
  /** Skips a tagged-fields section. */
  tags() { const n = this.uvarint(); for (let i = 0; i < n; i++) { this.uvarint(); this.at += this.uvarint(); } }
}

/** The request AlterUserScramCredentials v0 carries for `upsertions` (flexible version: request header v2). */
export function encodeAlterScram(correlationId: number, clientId: string, upsertions: { user: string; mechanism: ScramMechanism; iterations: number; salt: Buffer; salted: Buffer }[]): Buffer {
  const w = new Writer().int16(API.AlterUserScramCredentials).int16(0).int32(correlationId).string(clientId).noTags();
  w.uvarint(1); // deletions: none
  w.uvarint(upsertions.length + 1);
  for (const u of upsertions) w.compactString(u.user).int8(MECHANISM[u.mechanism]).int32(u.iterations).compactBytes(u.salt).compactBytes(u.salted).noTags();
  return w.noTags().buffer();
}

/** AlterUserScramCredentials v0's answer (after the correlation id): each user's error, if any. */
export function decodeAlterScram(body: Buffer): { user: string; errorCode: number; message: string | null }[] {
  const r = new Reader(body);
  r.tags(); // response header v1
  r.int32(); // throttle
  const n = r.uvarint() - 1;
  const out = [];
  for (let i = 0; i < n; i++) {
    const user = r.compactString() ?? '';
    const errorCode = r.int16();
    const message = r.compactString();
    r.tags();
    out.push({ user, errorCode, message });
  }
  return out;
}

// --- connection ----------------------------------------------------------------------------

/** One connection to a broker, one request at a time (this client never pipelines). */
class Conn {
  private buf = Buffer.alloc(0);
  private waiting?: { resolve: (b: Buffer) => void; reject: (e: Error) => void };
  private failed?: Error;
  private next = 1;
  constructor(private readonly socket: Socket) {
    socket.on('data', (d: Buffer) => { this.buf = Buffer.concat([this.buf, d]); this.drain(); });
    const fail = (e: Error) => { this.failed ??= e; this.waiting?.reject(e); this.waiting = undefined; };
    socket.on('error', fail);
    socket.on('close', () => fail(new ScramAdminError('the broker closed the connection')));
  }
  private drain() {
    if (!this.waiting || this.buf.length < 4) return;
    const size = this.buf.readInt32BE(0);
    if (this.buf.length < 4 + size) return;
    const frame = this.buf.subarray(4, 4 + size);
    this.buf = this.buf.subarray(4 + size);
    const w = this.waiting; this.waiting = undefined;
    w.resolve(frame);
  }
  correlationId() { return this.next++; }
  /** Sends a request (header included) and returns the answer after its correlation id. */
  async send(request: Buffer, correlationId: number): Promise<Buffer> {
    if (this.failed) throw this.failed;
    const answer = new Promise<Buffer>((resolve, reject) => { this.waiting = { resolve, reject }; });
    this.socket.write(Buffer.concat([new Writer().int32(request.length).buffer(), request]));
    this.drain();
    const frame = await answer;
    if (frame.readInt32BE(0) !== correlationId) throw new ScramAdminError(`answer for correlation id ${frame.readInt32BE(0)}, expected ${correlationId}`);
    return frame.subarray(4);
  }
  close() { this.socket.destroy(); }
}

export interface ScramAdminOptions {
  /** host:port of a broker. */
  broker: string;
  /** The admin principal's PLAIN login. */
  username: string;
  password: string;
  /** PEM of the CA to trust: TLS (SASL_SSL); undefined: SASL_PLAINTEXT. */
  ca?: Buffer;
  clientId?: string;
  timeoutMs?: number;
}

async function open(o: ScramAdminOptions): Promise<Conn> {
  const [host, portText] = [o.broker.slice(0, o.broker.lastIndexOf(':')), o.broker.slice(o.broker.lastIndexOf(':') + 1)];
  const port = Number(portText);
  if (!host || !port) throw new ScramAdminError(`broker "${o.broker}": expected host:port`);
  const timeout = o.timeoutMs ?? 10_000;
  const socket = await new Promise<Socket>((resolve, reject) => {
    const s: Socket = o.ca
      ? tlsConnect({ host, port, ca: o.ca, ...(isIP(host) ? {} : { servername: host }) }, () => resolve(s))
      : netConnect({ host, port }, () => resolve(s));
    s.setTimeout(timeout, () => s.destroy(new ScramAdminError(`no answer from ${o.broker} in ${timeout} ms`)));
    s.once('error', reject);
  });
  const conn = new Conn(socket);
  const clientId = o.clientId ?? 'pfm-scram-admin';
  try {
    let id = conn.correlationId();
    const hs = new Reader(await conn.send(new Writer().int16(API.SaslHandshake).int16(1).int32(id).string(clientId).string('PLAIN').buffer(), id));
    const hsError = hs.int16();
    if (hsError !== 0) throw new ScramAdminError(`${o.broker} does not take SASL PLAIN (error ${hsError})`);
    id = conn.correlationId();
    const token = Buffer.from(`\0${o.username}\0${o.password}`, 'utf8');
    const auth = new Reader(await conn.send(new Writer().int16(API.SaslAuthenticate).int16(1).int32(id).string(clientId).bytes(token).buffer(), id));
    const authError = auth.int16();
    const authMessage = auth.string();
    if (authError !== 0) throw new ScramAdminError(`login as ${o.username} on ${o.broker} refused: ${authMessage ?? `error ${authError}`}`);
    return conn;
  } catch (e) {
    conn.close();
    throw e;
  }
}

/**
 * Gives each user a SCRAM credential (replacing any it had for that mechanism), logged in
 * as the admin over PLAIN. Idempotent in effect: the same password logs in afterwards (a
 * new salt each time). Throws ScramAdminError naming each user the broker refused.
 */
export async function upsertScramCredentials(o: ScramAdminOptions, users: { user: string; password: string }[], opts: { mechanism?: ScramMechanism; iterations?: number } = {}): Promise<void> {
  if (!users.length) return;
  const mechanism = opts.mechanism ?? 'SCRAM-SHA-512';
  const iterations = opts.iterations ?? 8192;
  const conn = await open(o);
  try {
    const upsertions = users.map(({ user, password }) => {
      const salt = randomBytes(32);
      return { user, mechanism, iterations, salt, salted: saltedPassword(password, salt, iterations, mechanism) };
    });
    const id = conn.correlationId();
    const results = decodeAlterScram(await conn.send(encodeAlterScram(id, o.clientId ?? 'pfm-scram-admin', upsertions), id));
    const refused = results.filter((r) => r.errorCode !== 0);
    if (refused.length) throw new ScramAdminError(`the broker refused SCRAM credentials: ${refused.map((r) => `${r.user}: ${r.message ?? `error ${r.errorCode}`}`).join('; ')}`);
    if (results.length !== users.length) throw new ScramAdminError(`the broker answered for ${results.length} of ${users.length} users`);
  } finally {
    conn.close();
  }
}

