// MLLP (HL7 v2 Minimal Lower Layer Protocol) transport: a framer and a TCP listener on
// node:net. Each message travels as  VT(0x0B) <message> FS(0x1C) CR(0x0D).
//
// Why our own and not @medplum/hl7's Hl7Server (see packages/hl7/README.md): on 4.5.2,
// one frame that does not start with MSH poisons the connection's buffer (every later
// message is lost unanswered), two frames in one TCP chunk are read as one (the second is
// never ACKed), and there is no cap on buffered bytes. 5.x fixes the first two but needs
// Node 22, still cannot answer a garbage frame, and cannot bind to an address. This file
// is the whole transport: about 200 lines, no HL7 knowledge (that is in hl7-intake.ts).
//
// Guarantees:
// - several frames in one chunk and a frame split over many chunks are both handled;
// - a frame larger than `maxMessageBytes` is never buffered whole: its first bytes are
//   kept (so the answer can quote MSH) and the rest is counted and dropped;
// - messages of one connection are handled one at a time, in arrival order, and their
//   answers are written in that order; a sender that pipelines is paused, not buffered;
// - the handler decides per message: answer (an ACK), or close the connection without
//   answering (used when Kafka is down: the sender re-sends; see hl7-intake.ts).
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import type { Logger } from '@pfm/observability';

export const VT = 0x0b;
export const FS = 0x1c;
export const CR = 0x0d;

/** What the framer hands on: a whole message, or a frame that cannot be one. */
export type Frame =
  | { kind: 'message'; data: Buffer }
  /** Over the size limit: `head` is its first bytes, `size` how many bytes it had. */
  | { kind: 'oversize'; head: Buffer; size: number }
  /** A new start block came before this frame's end block: the sender gave up on it mid-way. */
  | { kind: 'incomplete'; data: Buffer };

/** Bytes kept from an oversized or broken frame, for the ACK (MSH) and the reject record. */
export const HEAD_BYTES = 64 * 1024;

const isWhitespace = (b: number): boolean => b === 0x20 || b === 0x09 || b === 0x0a || b === CR || b === 0x0c;

/** Stateful, pure byte framer: feed it chunks, get whole frames back in order. */
export class MllpFramer {
  private parts: Buffer[] = [];
  private size = 0;
  private inFrame = false;
  private discarding = false;
  private afterEnd = false;
  /** Non-whitespace bytes seen outside any frame (a sender that does not frame, or noise). */
  strayBytes = 0;
  /** Frames begun so far: tells one frame in progress from the next. */
  started = 0;

  constructor(private readonly maxMessageBytes: number, private readonly headBytes = Math.min(HEAD_BYTES, maxMessageBytes)) {}

  /** Bytes of the frame currently being received (0 between frames). */
  get pending(): number {
    return this.inFrame ? this.size : 0;
  }

  push(chunk: Buffer): Frame[] {
    const out: Frame[] = [];
    let pos = 0;
    while (pos < chunk.length) {
      if (this.afterEnd) {
        // The CR of "FS CR" may arrive in the next chunk; a missing CR is tolerated.
        this.afterEnd = false;
        if (chunk[pos] === CR) pos += 1;
        continue;
      }
      if (!this.inFrame) {
        const start = chunk.indexOf(VT, pos);
        const end = start < 0 ? chunk.length : start;
        for (let i = pos; i < end; i++) if (!isWhitespace(chunk[i]!)) this.strayBytes += 1;
        if (start < 0) break;
        this.begin();
        pos = start + 1;
        continue;
      }
      const fs = chunk.indexOf(FS, pos);
      const vt = chunk.indexOf(VT, pos);
      if (vt >= 0 && (fs < 0 || vt < fs)) {
        this.append(chunk.subarray(pos, vt));
        out.push(this.finish(true));
        this.begin();
        pos = vt + 1;
        continue;
      }
      if (fs < 0) {
        this.append(chunk.subarray(pos));
        break;
      }
      this.append(chunk.subarray(pos, fs));
      out.push(this.finish(false));
      pos = fs + 1;
      this.afterEnd = true;
    }
    return out;
  }

  private begin(): void {
    this.started += 1;
    this.inFrame = true;
    this.discarding = false;
    this.parts = [];
    this.size = 0;
  }

  private append(b: Buffer): void {
    if (b.length === 0) return;
    if (!this.discarding && this.size + b.length > this.maxMessageBytes) {
      // Keep only the head (copied, so the big chunk it came from can be freed).
      this.parts = [Buffer.from(Buffer.concat([...this.parts, b]).subarray(0, this.headBytes))];
      this.discarding = true;
    } else if (!this.discarding) {
      this.parts.push(b);
    }
    this.size += b.length;
  }

  private finish(interrupted: boolean): Frame {
    const data = Buffer.concat(this.parts);
    const size = this.size;
    const oversize = this.discarding;
    this.inFrame = false;
    this.parts = [];
    this.size = 0;
    this.discarding = false;
    if (oversize) return { kind: 'oversize', head: data, size };
    if (interrupted) return { kind: 'incomplete', data: data.subarray(0, this.headBytes) };
    return { kind: 'message', data };
  }
}

/** Wraps an answer in the MLLP envelope. */
export function frame(payload: Buffer): Buffer {
  return Buffer.concat([Buffer.from([VT]), payload, Buffer.from([FS, CR])]);
}

export type FrameReply = { reply: Buffer } | { close: string };
export type FrameHandler = (frame: Frame, peer: string) => Promise<FrameReply>;

export interface MllpServerOptions {
  host: string;
  port: number;
  maxMessageBytes: number;
  maxConnections?: number;
  /** Frames queued on one connection before reading from it is paused. */
  maxQueuedFrames?: number;
  handler: FrameHandler;
  logger: Logger;
  /** Called as connections open and close, and when stray bytes are dropped (for metrics). */
  onConnections?: (open: number) => void;
  onStrayBytes?: (n: number) => void;
  /** Whether a peer address may connect at all (the senders' allow-list). */
  allowPeer: (address: string | undefined) => boolean;
  /** Open connections one peer address may hold (so one peer cannot use up maxConnections). */
  maxConnectionsPerPeer?: number;
  /** A connection with no bytes received for this long is closed (idle sockets hold slots). */
  idleTimeoutMs?: number;
  /** A frame not finished this long after it started is dropped with its connection (slow senders). */
  frameTimeoutMs?: number;
  /** Called when a connection is refused or closed by a limit (for metrics and logs). */
  onRefused?: (reason: 'peer_not_allowed' | 'peer_connection_limit' | 'idle' | 'frame_timeout') => void;
  /**
   * MLLP over TLS: the listener's certificate and key (PEM); with `ca`, senders must present
   * a certificate that CA issued (mutual TLS). Unset: plain TCP (put TLS in front).
   */
  tls?: { cert: Buffer; key: Buffer; ca?: Buffer };
}

class MllpConnection {
  private readonly framer: MllpFramer;
  private readonly queue: Frame[] = [];
  private busy = false;
  private closing = false;
  private idle: Promise<void> = Promise.resolve();
  private settle: () => void = () => undefined;
  readonly peer: string;

  constructor(private readonly socket: Socket, private readonly o: MllpServerOptions) {
    this.framer = new MllpFramer(o.maxMessageBytes);
    this.peer = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    socket.setKeepAlive(true, 60_000);
    socket.setNoDelay(true);
    if (o.idleTimeoutMs) {
      socket.setTimeout(o.idleTimeoutMs, () => {
        o.onRefused?.('idle');
        o.logger.info({ peer: this.peer }, 'closing an idle MLLP connection');
        socket.destroy();
      });
    }
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.once('close', () => { clearTimeout(this.frameTimer); this.frameTimer = undefined; });
    socket.on('error', (err) => o.logger.debug({ peer: this.peer, err: err.message }, 'mllp socket error'));
  }

  private frameTimer: NodeJS.Timeout | undefined;
  /** The frame (framer.started) the frame timer runs for. */
  private timedFrame = 0;
  private warnedStray = false;

  private onData(chunk: Buffer): void {
    if (this.closing) return;
    const stray = this.framer.strayBytes;
    const frames = this.framer.push(chunk);
    this.watchFrame();
    if (this.framer.strayBytes > stray) {
      this.o.onStrayBytes?.(this.framer.strayBytes - stray);
      // Once per connection: a sender that does not frame gets no answer at all, so say why here.
      if (!this.warnedStray) {
        this.warnedStray = true;
        this.o.logger.warn({ peer: this.peer, bytes: this.framer.strayBytes - stray }, 'bytes outside any MLLP frame dropped unanswered: the sender must frame each message as 0x0B <message> 0x1C 0x0D');
      }
    }
    if (frames.length === 0) return;
    this.queue.push(...frames);
    if (this.queue.length >= (this.o.maxQueuedFrames ?? 32)) this.pauseReading();
    void this.drain();
  }

  private async drain(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    this.idle = new Promise((resolve) => { this.settle = resolve; });
    try {
      while (this.queue.length && !this.closing && !this.socket.destroyed) {
        const f = this.queue.shift()!;
        let r: FrameReply;
        try {
          r = await this.o.handler(f, this.peer);
        } catch (err) {
          // The handler answers every input itself; reaching here is a bug. Do not ACK.
          this.o.logger.error({ err, peer: this.peer }, 'mllp handler failed; closing the connection without an answer');
          r = { close: 'internal error' };
        }
        if ('close' in r) {
          // Unanswered frames queued behind are dropped with the connection: the sender
          // re-sends them in order, so nothing overtakes the message that failed.
          this.o.logger.warn({ peer: this.peer, reason: r.close, dropped: this.queue.length }, 'closing MLLP connection without an ACK');
          this.queue.length = 0;
          this.socket.destroy();
          break;
        }
        // Back-pressure: a peer that does not read its ACKs is not read from until it does.
        if (!this.socket.destroyed && !this.socket.write(frame(r.reply))) {
          await new Promise<void>((resolve) => {
            // Whichever comes first; the other listener goes too (a long-lived connection would pile them up).
            const done = () => { this.socket.off('drain', done); this.socket.off('close', done); resolve(); };
            this.socket.on('drain', done);
            this.socket.on('close', done);
          });
        }
        if (this.queue.length < (this.o.maxQueuedFrames ?? 32) / 2 && this.socket.isPaused() && !this.closing) this.resumeReading();
      }
    } finally {
      this.busy = false;
      this.settle();
    }
  }

  /** Stops reading, lets the message in hand finish and be answered, then closes. */
  async close(): Promise<void> {
    this.closing = true;
    this.socket.pause();
    await this.idle;
    // Answers already written are flushed by end(); then the socket goes, even if the peer
    // never closes its side (which would otherwise hold server.close() open).
    if (!this.socket.destroyed) {
      await new Promise<void>((resolve) => {
        this.socket.once('close', () => resolve());
        this.socket.end(() => resolve());
      });
    }
    this.socket.destroy();
  }

  get pendingBytes(): number {
    return this.framer.pending;
  }

  /** Stops reading (too many frames waiting): the time a frame takes is not the sender's while it is not read. */
  private pauseReading(): void {
    this.socket.pause();
    clearTimeout(this.frameTimer);
    this.frameTimer = undefined;
  }

  private resumeReading(): void {
    this.socket.resume();
    this.watchFrame();
  }

  /**
   * A frame in progress must finish within frameTimeoutMs of its first bytes (slow-body
   * senders), each frame timed on its own: a sender that pipelines, with chunks that end
   * mid-frame, starts a new frame's time at each frame. Not timed while reading is paused.
   */
  private watchFrame(): void {
    const t = this.o.frameTimeoutMs;
    if (!t) return;
    if (this.framer.pending === 0 || this.socket.isPaused()) { clearTimeout(this.frameTimer); this.frameTimer = undefined; return; }
    if (this.frameTimer && this.timedFrame === this.framer.started) return;
    clearTimeout(this.frameTimer);
    this.timedFrame = this.framer.started;
    this.frameTimer = setTimeout(() => {
      this.frameTimer = undefined;
      if (this.framer.pending === 0 || this.timedFrame !== this.framer.started) return;
      this.o.onRefused?.('frame_timeout');
      this.o.logger.info({ peer: this.peer, bytes: this.framer.pending }, 'closing an MLLP connection whose frame did not finish in time');
      this.socket.destroy();
    }, t);
  }
}

const addressOf = (socket: Socket): string => (socket.remoteAddress ?? '?').replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, '$1');

export interface MllpServer {
  readonly server: Server;
  readonly port: number;
  readonly host: string;
  close(): Promise<void>;
}

/** Starts the MLLP listener; resolves once it accepts connections. */
export async function startMllpServer(o: MllpServerOptions): Promise<MllpServer> {
  const connections = new Set<MllpConnection>();
  const perPeer = new Map<string, number>();
  const onSocket = (socket: Socket): void => {
    const address = addressOf(socket);
    if (!o.allowPeer(socket.remoteAddress)) {
      o.onRefused?.('peer_not_allowed');
      o.logger.warn({ address }, 'MLLP connection from an address no sender is listed for; closed');
      socket.destroy();
      return;
    }
    if ((perPeer.get(address) ?? 0) >= (o.maxConnectionsPerPeer ?? 16)) {
      o.onRefused?.('peer_connection_limit');
      o.logger.warn({ address }, 'MLLP peer is over its connection limit; closed');
      socket.destroy();
      return;
    }
    perPeer.set(address, (perPeer.get(address) ?? 0) + 1);
    const c = new MllpConnection(socket, o);
    connections.add(c);
    o.onConnections?.(connections.size);
    socket.once('close', () => {
      const left = (perPeer.get(address) ?? 1) - 1;
      if (left > 0) perPeer.set(address, left); else perPeer.delete(address);
      connections.delete(c);
      o.onConnections?.(connections.size);
      if (c.pendingBytes > 0) o.logger.info({ peer: c.peer, bytes: c.pendingBytes }, 'connection closed mid-frame; the sender will re-send the message');
    });
  };
  const server: Server = o.tls
    ? createTlsServer({ cert: o.tls.cert, key: o.tls.key, minVersion: 'TLSv1.2', handshakeTimeout: 10_000, ...(o.tls.ca ? { ca: o.tls.ca, requestCert: true, rejectUnauthorized: true } : {}) }, onSocket)
    : createServer(onSocket);
  if (o.tls) {
    // Unlisted peers are dropped before any TLS work; failed handshakes are logged, not thrown.
    server.on('connection', (raw: Socket) => { if (!o.allowPeer(raw.remoteAddress)) { o.onRefused?.('peer_not_allowed'); raw.destroy(); } });
    server.on('tlsClientError', (err: Error, s: Socket) => { o.logger.warn({ address: addressOf(s), reason: err.message.slice(0, 200) }, 'MLLP TLS handshake failed; closed'); s.destroy(); });
  }
  server.maxConnections = o.maxConnections ?? 256;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (err) => o.logger.error({ err }, 'mllp listener error'));
  const addr = server.address() as AddressInfo;
  return {
    server,
    port: addr.port,
    host: o.host,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.all([...connections].map((c) => c.close()));
      await closed;
    },
  };
}
