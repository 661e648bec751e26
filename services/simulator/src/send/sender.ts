// Sends the simulator's deliveries to ingest the way a trust's systems would:
//   ADT-type events (admit, transfer, discharge, leave, cancels, updates) -> HL7 v2 over MLLP
//   referrals received / closed -> FHIR R4 ServiceRequest (batch Bundle), if ingest has FHIR
//   everything else (assessments, decisions to admit, EDD, CRFD, follow-up, beds) -> JSON /v1/events, batched
// One patient's events are sent strictly in delivery order, across channels: each waits
// until ingest has answered the previous one (so an assessment can never overtake its
// referral, nor a discharge its admission). Different patients go in parallel.
// Delivery faults are realised as planned: a duplicate is the same event (same id, same
// MSH-10) sent again, a late one is simply sent late, a bad NHS number is sent as it is
// and comes back AE / 422, recorded here as "rejected" (ingest keeps it in its rejects).
import type { FlowEventInput, PayloadOf } from '@pfm/contracts';
import { encodeAdt, isAdtEvent, type AdtContext } from '@pfm/hl7';
import type { Delivery, DeliveryFault } from '../faults';
import type { TrustConfig } from '../trust';
import { bundleOf, isFhirReferral } from './fhir';
import { Batcher, HttpClosedError, postJson } from './http';
import { MllpClosedError, MllpPool, type MllpStats } from './mllp-client';

export type Channel = 'mllp' | 'fhir' | 'json';

export interface Outcome {
  channel: Channel;
  result: 'accepted' | 'rejected';
  reason?: string;
}

export interface SenderOptions {
  /** Ingest HTTP base URL, e.g. http://127.0.0.1:8080. */
  ingestUrl: string;
  mllp: { host: string; port: number; connections?: number; ackTimeoutMs?: number };
  /** Trusts being simulated: PV1-3.4 facility codes are their hospitals' ODS-style site codes. */
  trusts?: TrustConfig[];
  /** Referrals as FHIR ServiceRequests (default true; falls back to JSON when ingest has no FHIR endpoint). */
  fhir?: boolean;
  /** JSON / FHIR batch size and linger (defaults 200 events, 10 ms), and concurrent requests (4). */
  batch?: { max?: number; lingerMs?: number; concurrency?: number };
  /** Most events accepted into the sender and not yet answered (default 5000); see capacity(). */
  maxInFlight?: number;
  onRetry?: (detail: string) => void;
  /** The sender key ingest knows this simulator by ("<id>.<secret>"; see PFM_SENDERS_FILE). */
  senderKey?: string;
}

export interface SenderStats {
  sent: number;
  accepted: number;
  rejected: number;
  byChannel: Record<Channel, { accepted: number; rejected: number }>;
  /** Rejections of deliveries planned to fail (bad NHS numbers): expected. */
  rejectedAsPlanned: number;
  faults: Record<DeliveryFault, number>;
  mllp: MllpStats;
  httpRetries: number;
  /** The first few unexpected rejections, for diagnosis. */
  unexpected: { eventId?: string; type: string; reason: string }[];
}

interface JsonAnswer { accepted?: { index: number }[]; rejected?: { index: number; errors?: { path: string; message: string }[] }[]; error?: string; message?: string }
interface FhirEntry { response?: { status?: string; outcome?: { issue?: { diagnostics?: string }[] } } }

const REASON_MAX = 300;

/** ODS-style facility code of each ward (trust code + hospital number, e.g. RXT01), when the site is a 3-character trust code. */
function facilityMap(trusts: TrustConfig[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const t of trusts) {
    if (t.site.length !== 3) continue;
    for (const w of t.wards) {
      const i = t.hospitals.findIndex((h) => h.name === w.hospital);
      if (i >= 0) m.set(`${t.site}/${w.code}`, `${t.site}${String(i + 1).padStart(2, '0')}`);
    }
  }
  return m;
}

export class TrustSender {
  readonly stats: SenderStats = {
    sent: 0, accepted: 0, rejected: 0, rejectedAsPlanned: 0, httpRetries: 0,
    byChannel: { mllp: { accepted: 0, rejected: 0 }, fhir: { accepted: 0, rejected: 0 }, json: { accepted: 0, rejected: 0 } },
    faults: { duplicate: 0, late: 0, bad_nhs: 0 },
    mllp: { sent: 0, resent: 0, timeouts: 0, reconnects: 0 },
    unexpected: [],
  };
  private readonly pool: MllpPool;
  private readonly json: Batcher<FlowEventInput, Outcome>;
  private readonly fhir: Batcher<FlowEventInput, Outcome>;
  private fhirAvailable: boolean;
  private readonly chains = new Map<string, Promise<unknown>>();
  private readonly context = new Map<string, AdtContext>();
  /** Where each patient was before their latest transfer, so an A12 puts the PAS's idea of where they are back (an A13's PV1-3 moves them). */
  private readonly beforeTransfer = new Map<string, Pick<AdtContext, 'ward' | 'bed'>>();
  private readonly facilities: Map<string, string>;
  private inFlight = 0;
  private readonly maxInFlight: number;
  private readonly waiters: (() => void)[] = [];
  private idle: (() => void)[] = [];
  private closed = false;

  constructor(private readonly o: SenderOptions) {
    this.pool = new MllpPool({ host: o.mllp.host, port: o.mllp.port, connections: o.mllp.connections ?? 8, ackTimeoutMs: o.mllp.ackTimeoutMs ?? 10_000 });
    const b = { maxBatch: o.batch?.max ?? 200, lingerMs: o.batch?.lingerMs ?? 10, concurrency: o.batch?.concurrency ?? 4 };
    this.json = new Batcher((items) => this.postJsonBatch(items), b);
    this.fhir = new Batcher((items) => this.postFhirBatch(items), b);
    this.fhirAvailable = o.fhir ?? true;
    this.facilities = facilityMap(o.trusts ?? []);
    this.maxInFlight = o.maxInFlight ?? 5000;
  }

  /** Events accepted by send() and not yet answered by ingest. */
  get pending(): number {
    return this.inFlight;
  }

  /** Resolves when there is room for another send() (bounds memory when the source is faster than ingest). */
  capacity(): Promise<void> {
    if (this.inFlight < this.maxInFlight) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Resolves when every event sent so far has been answered. */
  drain(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  /**
   * Sends one delivery after the same patient's previous one has been answered. Resolves
   * with ingest's answer; rejects only when the sender is closed first.
   */
  send(d: Delivery): Promise<Outcome> {
    if (this.closed) return Promise.reject(new Error('sender is closed'));
    this.inFlight += 1;
    this.stats.sent += 1;
    if (d.fault) this.stats.faults[d.fault] += 1;
    const key = `${d.event.site}/${d.event.patientId}`;
    const before = this.chains.get(key) ?? Promise.resolve();
    const run = before.then(() => this.dispatch(d), () => this.dispatch(d));
    const tail = run.then(() => undefined, () => undefined);
    this.chains.set(key, tail);
    void tail.then(() => {
      if (this.chains.get(key) === tail) this.chains.delete(key);
      this.inFlight -= 1;
      if (this.inFlight < this.maxInFlight) this.waiters.splice(0).forEach((w) => w());
      if (this.inFlight === 0) this.idle.splice(0).forEach((w) => w());
    });
    return run.then((outcome) => {
      this.record(d, outcome);
      return outcome;
    });
  }

  /** Stops: unanswered messages are abandoned (they were not acknowledged, so nothing is lost that a resend would not fix). */
  async close(): Promise<void> {
    this.closed = true;
    await this.pool.close();
    this.waiters.splice(0).forEach((w) => w());
  }

  private record(d: Delivery, o: Outcome): void {
    this.stats.byChannel[o.channel][o.result] += 1;
    this.stats[o.result] += 1;
    if (o.result === 'rejected') {
      if (d.fault === 'bad_nhs') this.stats.rejectedAsPlanned += 1;
      else if (this.stats.unexpected.length < 20) this.stats.unexpected.push({ eventId: d.event.eventId, type: d.event.type, reason: o.reason ?? '' });
    }
    this.stats.mllp = this.pool.stats;
  }

  private dispatch(d: Delivery): Promise<Outcome> {
    const e = d.event;
    if (isAdtEvent(e)) return this.sendAdt(e);
    if (this.fhirAvailable && isFhirReferral(e)) return this.fhir.add(e);
    return this.json.add(e);
  }

  private facilityFor = (site: string, ward: string | undefined): string => (ward ? this.facilities.get(`${site}/${ward}`) : undefined) ?? site;

  private async sendAdt(e: FlowEventInput): Promise<Outcome> {
    const key = `${e.site}/${e.patientId}`;
    const ctx = this.context.get(key) ?? {};
    const text = encodeAdt(e, { facilityFor: this.facilityFor, context: ctx });
    const ack = await this.pool.send(key, text, e.eventId ?? '');
    if (ack.code === 'AA' || ack.code === 'CA') {
      this.follow(key, e, ctx);
      return { channel: 'mllp', result: 'accepted' };
    }
    return { channel: 'mllp', result: 'rejected', reason: `${ack.code}: ${ack.text}`.slice(0, REASON_MAX) };
  }

  /** What the PAS knows after an accepted ADT event: where the patient is, when the spell began, who they are. */
  private follow(key: string, e: FlowEventInput, ctx: AdtContext): void {
    const next: AdtContext = { ...ctx };
    if (e.type === 'patient.admitted') {
      const p = e.payload as PayloadOf<'patient.admitted'>;
      Object.assign(next, { ward: p.ward, bed: p.bed, admittedAt: e.occurredAt, initials: p.initials, ageBand: p.ageBand, gender: p.gender, ethnicity: p.ethnicity });
    } else if (e.type === 'patient.transferred') {
      const p = e.payload as PayloadOf<'patient.transferred'>;
      this.beforeTransfer.set(key, { ward: ctx.ward, bed: ctx.bed });
      next.ward = p.ward;
      next.bed = p.bed;
    } else if (e.type === 'transfer.cancelled') {
      const prev = this.beforeTransfer.get(key);
      if (prev) Object.assign(next, prev);
      this.beforeTransfer.delete(key);
    } else if (e.type === 'patient.discharged') {
      next.admittedAt = undefined;
    }
    this.context.set(key, next);
  }

  private retry = (detail: string): void => {
    this.stats.httpRetries += 1;
    this.o.onRetry?.(detail);
  };

  private auth(): Record<string, string> {
    return this.o.senderKey ? { authorization: `ApiKey ${this.o.senderKey}` } : {};
  }

  private async postJsonBatch(items: FlowEventInput[]): Promise<Outcome[]> {
    const r = await postJson(`${this.o.ingestUrl}/v1/events`, items, { stopped: () => this.closed, onRetry: this.retry, headers: this.auth() });
    const body = (r.body ?? {}) as JsonAnswer;
    if (r.status !== 202 && r.status !== 207 && r.status !== 422) {
      throw new Error(`POST /v1/events answered ${r.status}: ${body.message ?? body.error ?? ''}`);
    }
    const out: Outcome[] = items.map(() => ({ channel: 'json', result: 'accepted' }));
    for (const rej of body.rejected ?? []) {
      out[rej.index] = { channel: 'json', result: 'rejected', reason: (rej.errors ?? []).map((x) => `${x.path}: ${x.message}`).join('; ').slice(0, REASON_MAX) };
    }
    return out;
  }

  private async postFhirBatch(items: FlowEventInput[]): Promise<Outcome[]> {
    const r = await postJson(`${this.o.ingestUrl}/fhir/r4`, bundleOf(items), { stopped: () => this.closed, onRetry: this.retry, headers: { 'content-type': 'application/fhir+json', ...this.auth() } });
    if (r.status === 404 || r.status === 405) {
      // No FHIR endpoint on this ingest: referrals go as canonical JSON from now on.
      this.fhirAvailable = false;
      return this.postJsonBatch(items);
    }
    const body = r.body as { entry?: FhirEntry[]; issue?: { diagnostics?: string }[] };
    if (r.status !== 200 || !Array.isArray(body?.entry)) {
      const why = (body?.issue ?? []).map((i) => i.diagnostics).join('; ');
      return items.map(() => ({ channel: 'fhir', result: 'rejected', reason: `Bundle answered ${r.status}: ${why}`.slice(0, REASON_MAX) }));
    }
    return items.map((_, i) => {
      const res = body.entry![i]?.response;
      const ok = (res?.status ?? '').startsWith('2');
      return ok ? { channel: 'fhir', result: 'accepted' } : { channel: 'fhir', result: 'rejected', reason: `${res?.status ?? 'no status'}: ${(res?.outcome?.issue ?? []).map((x) => x.diagnostics).join('; ')}`.slice(0, REASON_MAX) };
    });
  }
}

export { HttpClosedError, MllpClosedError };
