// MLLP client (HL7 v2 over TCP, node:net), as a PAS interface engine sends: each message
// framed VT <message> FS CR, one message in flight per connection, the next only after
// the ACK for this one. What it does when things go wrong:
// - no ACK within ackTimeoutMs: the connection is dropped and the SAME message (same
//   MSH-10) is sent again on a new one; ingest deduplicates by control id, so a message
//   whose ACK was merely slow is applied once;
// - the connection closes or cannot be made (ingest restarting, Kafka down: ingest then
//   closes without answering): reconnect with exponential backoff and jitter, resend;
// - an ACK whose MSA-2 is not the message in flight (a late ACK of an earlier attempt) is
//   ignored;
// - AE / AR are answers, not failures: the message was refused for its content and is
//   recorded as rejected by ingest. Resending it would be refused again, so it is not.
// A pool keeps several connections; a key (the patient) always maps to the same one, so
// one patient's messages stay in order while other patients' go in parallel.
import { connect, type Socket } from 'node:net';
import { parseHl7 } from '@pfm/hl7';

export const VT = 0x0b;
export const FS = 0x1c;
export const CR = 0x0d;

export type AckCode = 'AA' | 'AE' | 'AR' | 'CA' | 'CE' | 'CR';

export interface Ack {
  code: AckCode;
  /** MSA-2: the control id of the message this answers. */
  controlId: string;
  /** MSA-3, or the first ERR text. */
  text: string;
  raw: string;
}

export interface MllpClientOptions {
  host: string;
  port: number;
  /** How long to wait for an ACK before resending (default 10 s). */
  ackTimeoutMs?: number;
  /** Reconnect backoff: first delay and cap (defaults 100 ms, 5 s). */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** Told about reconnects and resends (logs, metrics). */
  onEvent?: (e: { kind: 'connected' | 'disconnected' | 'resend' | 'timeout'; detail?: string }) => void;
}

export interface MllpStats {
  sent: number;
  resent: number;
  timeouts: number;
  reconnects: number;
}

interface Pending {
  frame: Buffer;
  controlId: string;
  resolve: (ack: Ack) => void;
  reject: (err: Error) => void;
}

export class MllpClosedError extends Error {}

/** Wraps an HL7 message in the MLLP envelope. */
export function mllpFrame(message: string): Buffer {
  return Buffer.concat([Buffer.from([VT]), Buffer.from(message, 'utf8'), Buffer.from([FS, CR])]);
}

/** Reads MSA-1/2/3 (and the first ERR-8 text) of an ACK; undefined when it is not one. */
export function parseAck(raw: string): Ack | undefined {
  const p = parseHl7(raw);
  if (!p.ok) return undefined;
  const msa = p.parsed.segments.find((s) => s.name === 'MSA');
  const err = p.parsed.segments.find((s) => s.name === 'ERR');
  const code = msa?.get(1, 1).toUpperCase() ?? '';
  if (!msa || !['AA', 'AE', 'AR', 'CA', 'CE', 'CR'].includes(code)) return undefined;
  const text = msa.get(3, 1) || (err ? err.get(8, 1) : '');
  return { code: code as AckCode, controlId: msa.get(2, 1), text, raw };
}

/** Splits a byte stream into MLLP frames (payloads between VT and FS). */
export class FrameReader {
  private buf: Buffer = Buffer.alloc(0);
  push(chunk: Buffer): string[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: string[] = [];
    for (;;) {
      const start = this.buf.indexOf(VT);
      if (start < 0) { this.buf = Buffer.alloc(0); break; }
      const end = this.buf.indexOf(FS, start + 1);
      if (end < 0) { this.buf = this.buf.subarray(start); break; }
      out.push(this.buf.subarray(start + 1, end).toString('utf8'));
      this.buf = this.buf.subarray(end + 1);
    }
    return out;
  }
  reset(): void { this.buf = Buffer.alloc(0); }
}

/** One MLLP connection with a FIFO of messages, each sent after the previous one's ACK. */
export class MllpClient {
  readonly stats: MllpStats = { sent: 0, resent: 0, timeouts: 0, reconnects: 0 };
  private readonly queue: Pending[] = [];
  private current: Pending | undefined;
  private socket: Socket | undefined;
  private connecting: Promise<Socket> | undefined;
  private readonly reader = new FrameReader();
  private timer: NodeJS.Timeout | undefined;
  private failures = 0;
  private closed = false;
  private everConnected = false;
  private readonly ackTimeoutMs: number;

  constructor(private readonly o: MllpClientOptions) {
    this.ackTimeoutMs = o.ackTimeoutMs ?? 10_000;
  }

  /** Messages waiting or in flight. */
  get pending(): number {
    return this.queue.length + (this.current ? 1 : 0);
  }

  /** Queues a message; resolves with its ACK (AA, AE or AR). Rejects only when the client is closed. */
  send(message: string, controlId: string): Promise<Ack> {
    if (this.closed) return Promise.reject(new MllpClosedError('MLLP client is closed'));
    return new Promise<Ack>((resolve, reject) => {
      this.queue.push({ frame: mllpFrame(message), controlId, resolve, reject });
      void this.pump();
    });
  }

  /** Stops: pending messages are rejected with MllpClosedError, the socket is closed. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    const err = new MllpClosedError('MLLP client closed before the ACK arrived');
    for (const p of [...(this.current ? [this.current] : []), ...this.queue.splice(0)]) p.reject(err);
    this.current = undefined;
    const s = this.socket;
    this.socket = undefined;
    if (s && !s.destroyed) await new Promise<void>((resolve) => { s.once('close', () => resolve()); s.end(); setTimeout(() => { s.destroy(); resolve(); }, 1000).unref(); });
  }

  private async pump(): Promise<void> {
    if (this.current || this.closed) return;
    const next = this.queue.shift();
    if (!next) return;
    this.current = next;
    await this.transmit(false);
  }

  /** Writes the message in flight (again, after a reconnect or a timeout). */
  private async transmit(again: boolean): Promise<void> {
    const p = this.current;
    if (!p || this.closed) return;
    let socket: Socket;
    try {
      socket = await this.ensureSocket();
    } catch {
      return; // ensureSocket keeps retrying until closed
    }
    if (this.current !== p || this.closed) return;
    if (again) {
      this.stats.resent += 1;
      this.o.onEvent?.({ kind: 'resend', detail: p.controlId });
    } else {
      this.stats.sent += 1;
    }
    socket.write(p.frame);
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      if (this.current !== p) return;
      this.stats.timeouts += 1;
      this.o.onEvent?.({ kind: 'timeout', detail: p.controlId });
      // Drop the connection (a late ACK on it can no longer be confused with the resend's) and resend.
      this.socket?.destroy();
    }, this.ackTimeoutMs);
  }

  private ensureSocket(): Promise<Socket> {
    if (this.socket && !this.socket.destroyed) return Promise.resolve(this.socket);
    this.connecting ??= this.connectWithBackoff().finally(() => { this.connecting = undefined; });
    return this.connecting;
  }

  private async connectWithBackoff(): Promise<Socket> {
    for (;;) {
      if (this.closed) throw new MllpClosedError('closed');
      try {
        const s = await this.open();
        this.failures = 0;
        return s;
      } catch (err) {
        this.failures += 1;
        const base = this.o.backoffMs ?? 100;
        const cap = this.o.maxBackoffMs ?? 5000;
        const delay = Math.min(cap, base * 2 ** Math.min(this.failures - 1, 16)) * (0.5 + Math.random() / 2);
        this.o.onEvent?.({ kind: 'disconnected', detail: `${(err as Error).message}; retrying in ${Math.round(delay)} ms` });
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  private open(): Promise<Socket> {
    return new Promise<Socket>((resolve, reject) => {
      const s = connect({ host: this.o.host, port: this.o.port });
      s.setNoDelay(true);
      const fail = (err: Error) => { s.destroy(); reject(err); };
      s.once('error', fail);
      s.once('connect', () => {
        s.off('error', fail);
        this.reader.reset();
        this.socket = s;
        if (this.everConnected) this.stats.reconnects += 1;
        this.everConnected = true;
        this.o.onEvent?.({ kind: 'connected', detail: `${this.o.host}:${this.o.port}` });
        s.on('data', (chunk: Buffer) => this.onData(chunk));
        s.on('error', () => undefined); // 'close' follows and handles it
        s.once('close', () => this.onClose(s));
        resolve(s);
      });
    });
  }

  private onData(chunk: Buffer): void {
    for (const text of this.reader.push(chunk)) {
      const ack = parseAck(text);
      const p = this.current;
      if (!ack || !p || ack.controlId !== p.controlId) continue; // stale or foreign: ignore
      if (this.timer) clearTimeout(this.timer);
      this.current = undefined;
      p.resolve(ack);
      void this.pump();
    }
  }

  private onClose(s: Socket): void {
    if (this.socket === s) this.socket = undefined;
    if (this.closed) return;
    if (this.current) {
      if (this.timer) clearTimeout(this.timer);
      // The message in flight was not answered: resend it once connected again.
      void this.transmit(true);
    }
  }
}

/** Several MLLP connections; every message of one key goes through the same connection. */
export class MllpPool {
  readonly clients: MllpClient[];
  constructor(o: MllpClientOptions & { connections: number }) {
    this.clients = Array.from({ length: Math.max(1, o.connections) }, () => new MllpClient(o));
  }

  /** The connection a key (patient) is bound to. */
  clientFor(key: string): MllpClient {
    let h = 0x811c9dc5;
    for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193) >>> 0;
    return this.clients[h % this.clients.length]!;
  }

  send(key: string, message: string, controlId: string): Promise<Ack> {
    return this.clientFor(key).send(message, controlId);
  }

  get stats(): MllpStats {
    const s: MllpStats = { sent: 0, resent: 0, timeouts: 0, reconnects: 0 };
    for (const c of this.clients) for (const k of Object.keys(s) as (keyof MllpStats)[]) s[k] += c.stats[k];
    return s;
  }

  async close(): Promise<void> {
    await Promise.all(this.clients.map((c) => c.close()));
  }
}
