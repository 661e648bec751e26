// Sender credentials for ingest: who may put events on the flow log, over which channel,
// of which event types, for which sites. A trust lists its senders in a JSON file
// (PFM_SENDERS_FILE); each HTTP sender holds an API key of which only the SHA-256 is
// stored, each MLLP sender is known by the peer addresses it connects from.
//
// Why SHA-256 and not a slow password hash: keys are 32 random bytes made by `newSenderKey`
// (not chosen by people), so a fast hash cannot be brute-forced, while a slow hash would
// hand anyone who can reach the port a cheap way to burn CPU on every request.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { FLOW_EVENT_TYPES, type Channel, type FieldError, type FlowEventType } from '@pfm/contracts';

/**
 * Event types only the product itself writes: acknowledgements come from board-gateway
 * (with the acting user from a verified token), park expiries from the engine's scanner,
 * improvement notes from the insights API (author from a verified token), alert ownership
 * from board-gateway (who gave it from a verified token).
 * No sender may send them, whatever its scope says.
 */
export const PRODUCT_ONLY_TYPES: readonly FlowEventType[] = ['alert.acknowledged', 'park.expired', 'improvement.noted', 'alert.owned'];

export const SENDER_CHANNELS = ['json', 'fhir', 'hl7v2'] as const;
export type SenderChannel = (typeof SENDER_CHANNELS)[number];

const SENDER_ID = /^[A-Za-z0-9_-]{1,64}$/;
const SECRET = /^[A-Za-z0-9_-]{43,128}$/;

const senderSchema = z.strictObject({
  id: z.string().regex(SENDER_ID, 'letters, digits, _ and -, at most 64'),
  /** SHA-256 (hex) of the whole key "<id>.<secret>"; HTTP senders only. */
  keySha256: z.string().regex(/^[0-9a-f]{64}$/, '64 lower-case hex digits').optional(),
  /** Addresses an MLLP sender connects from (exact IPs). */
  mllpPeers: z.array(z.string().min(1).max(64)).max(100).default([]),
  channels: z.array(z.enum(SENDER_CHANNELS)).min(1),
  /** Event types it may send, or ["*"] for every type a sender can send. */
  types: z.array(z.union([z.literal('*'), z.enum(FLOW_EVENT_TYPES as [FlowEventType, ...FlowEventType[]])])).min(1),
  sites: z.array(z.string().min(1).max(16)).min(1),
  /** The sourceSystem its events carry (default: its id); the sender cannot claim another. */
  sourceSystem: z.string().min(1).max(64).optional(),
}).superRefine((s, ctx) => {
  const http = s.channels.some((c) => c !== 'hl7v2');
  if (http && !s.keySha256) ctx.addIssue({ code: 'custom', path: ['keySha256'], message: 'an HTTP sender (json / fhir) needs a key hash' });
  if (s.channels.includes('hl7v2') && !s.mllpPeers.length) ctx.addIssue({ code: 'custom', path: ['mllpPeers'], message: 'an MLLP sender needs the addresses it connects from' });
});
export type SenderConfig = z.input<typeof senderSchema>;
export type Sender = z.output<typeof senderSchema> & { sourceSystem: string };

export class SenderAuthError extends Error {
  constructor(readonly status: 401 | 403, readonly code: 'unauthenticated' | 'forbidden', message: string, readonly errors: FieldError[] = []) { super(message); }
}

export const hashKey = (key: string): string => createHash('sha256').update(key, 'utf8').digest('hex');

/** A new key for a sender: "<id>.<43 base64url characters>" and the hash to store. */
export function newSenderKey(id: string): { key: string; keySha256: string } {
  if (!SENDER_ID.test(id)) throw new Error(`sender id ${JSON.stringify(id)}: letters, digits, _ and - only`);
  const key = `${id}.${randomBytes(32).toString('base64url')}`;
  return { key, keySha256: hashKey(key) };
}

/**
 * The key from an `Authorization: ApiKey <id>.<secret>` header, or undefined when the
 * header is absent or malformed (never throws: it reads untrusted input).
 */
export function parseSenderHeader(h: unknown): { id: string; key: string } | undefined {
  if (typeof h !== 'string' || h.length > 300) return undefined;
  const m = /^ApiKey ([A-Za-z0-9_-]{1,64})\.([A-Za-z0-9_-]+)$/.exec(h.trim());
  if (!m || !SECRET.test(m[2]!)) return undefined;
  return { id: m[1]!, key: `${m[1]}.${m[2]}` };
}

export class SenderRegistry {
  private readonly byId = new Map<string, Sender>();
  private readonly byPeer = new Map<string, Sender>();

  constructor(configs: SenderConfig[]) {
    const parsed = z.array(senderSchema).safeParse(configs);
    if (!parsed.success) {
      throw new Error(`invalid sender list:\n${parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`).join('\n')}`);
    }
    for (const s of parsed.data) {
      if (this.byId.has(s.id)) throw new Error(`invalid sender list: sender ${s.id} is listed twice`);
      const sender: Sender = { ...s, sourceSystem: s.sourceSystem ?? s.id };
      this.byId.set(s.id, sender);
      for (const p of s.mllpPeers) {
        const peer = normalisePeer(p);
        if (this.byPeer.has(peer)) throw new Error(`invalid sender list: peer ${p} belongs to two senders`);
        this.byPeer.set(peer, sender);
      }
    }
  }

  /** Reads PFM_SENDERS_FILE; no file means no sender may send (closed by default). */
  static fromFile(path: string | undefined): SenderRegistry {
    if (!path) return new SenderRegistry([]);
    return new SenderRegistry(JSON.parse(readFileSync(path, 'utf8')) as SenderConfig[]);
  }

  get size(): number { return this.byId.size; }

  /** The sender an HTTP request's Authorization header proves, for a channel; throws SenderAuthError. */
  authenticate(header: unknown, channel: SenderChannel): Sender {
    const presented = parseSenderHeader(header);
    if (!presented) throw new SenderAuthError(401, 'unauthenticated', 'Send the sender key: Authorization: ApiKey <sender id>.<secret>.');
    const s = this.byId.get(presented.id);
    const want = Buffer.from(s?.keySha256 ?? '0'.repeat(64), 'hex');
    const ok = timingSafeEqual(want, Buffer.from(hashKey(presented.key), 'hex')) && !!s?.keySha256;
    if (!s || !ok) throw new SenderAuthError(401, 'unauthenticated', 'Unknown sender or wrong key.');
    if (!s.channels.includes(channel)) throw new SenderAuthError(403, 'forbidden', `Sender ${s.id} may not send over ${channel}.`);
    return s;
  }

  /** The MLLP sender connecting from this address, if any. */
  peer(address: string | undefined): Sender | undefined {
    const s = address ? this.byPeer.get(normalisePeer(address)) : undefined;
    return s?.channels.includes('hl7v2') ? s : undefined;
  }
}

/** "::ffff:10.0.0.5" (IPv4 on a dual-stack socket) is "10.0.0.5". */
const normalisePeer = (a: string): string => a.trim().toLowerCase().replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, '$1');

/**
 * Why a sender may not send these events (empty when it may): product-only types, types
 * outside its list, sites outside its list. `path` names the item ("[2].type").
 */
export function scopeErrors(s: Sender, events: readonly { type?: string | undefined; site?: string | undefined }[], pathOf: (i: number) => string = (i) => `[${i}]`): FieldError[] {
  const out: FieldError[] = [];
  events.forEach((e, i) => {
    const at = pathOf(i);
    // A missing field is left to validation (which rejects the item with its reason).
    if (e.type !== undefined) {
      if (isProductOnly(e.type)) out.push({ path: `${at}.type`, message: `${e.type} is written only by the product itself; no sender may send it` });
      else if (!s.types.includes('*') && !(s.types as string[]).includes(e.type)) out.push({ path: `${at}.type`, message: `sender ${s.id} may not send ${e.type.slice(0, 64)}` });
    }
    if (e.site !== undefined && !s.sites.includes(e.site)) out.push({ path: `${at}.site`, message: `sender ${s.id} may not send for site ${e.site.slice(0, 16)}` });
  });
  return out;
}

export const isProductOnly = (type: string): boolean => (PRODUCT_ONLY_TYPES as readonly string[]).includes(type);

const SITE_CODE = /^[A-Za-z0-9_-]{1,16}$/;

/** The type and site of an untrusted item, where they are strings (and the site a well-formed code). */
export function typeAndSite(item: unknown): { type?: string; site?: string } {
  if (!item || typeof item !== 'object') return {};
  const { type, site } = item as { type?: unknown; site?: unknown };
  // A site that is not a well-formed site code is left to validation (422 with the field's
  // reason), not answered as a scope refusal naming a site that cannot exist.
  return { ...(typeof type === 'string' ? { type } : {}), ...(typeof site === 'string' && SITE_CODE.test(site) ? { site } : {}) };
}

export type { Channel };
