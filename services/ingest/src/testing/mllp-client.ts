// A minimal MLLP client for tests and the benchmark: sends frames, collects the answers
// in order, and notices when the listener closes the connection without answering.
import { connect, type Socket } from 'node:net';
import { connect as connectTls, type ConnectionOptions } from 'node:tls';
import { frame, MllpFramer } from '../mllp';

export class MllpClient {
  private readonly framer = new MllpFramer(16 * 1024 * 1024);
  private readonly replies: string[] = [];
  private waiters: { resolve: (s: string) => void; reject: (e: Error) => void }[] = [];
  ended = false;
  readonly closed: Promise<void>;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      for (const f of this.framer.push(chunk)) {
        if (f.kind !== 'message') continue;
        const text = f.data.toString('utf8');
        const w = this.waiters.shift();
        if (w) w.resolve(text);
        else this.replies.push(text);
      }
    });
    this.closed = new Promise((resolve) => socket.once('close', () => {
      this.ended = true;
      for (const w of this.waiters) w.reject(new Error('connection closed by the listener without an answer'));
      this.waiters = [];
      resolve();
    }));
    socket.on('error', () => undefined);
  }

  /** Over TLS (MLLP over TLS): resolves once the handshake is done; rejects when the listener refuses it. */
  static connectTls(port: number, tls: ConnectionOptions, host = '127.0.0.1'): Promise<MllpClient> {
    return new Promise((resolve, reject) => {
      const s = connectTls({ port, host, ...tls }, () => {
        s.off('error', reject);
        resolve(new MllpClient(s));
      });
      s.once('error', reject);
    });
  }

  static connect(port: number, host = '127.0.0.1'): Promise<MllpClient> {
    return new Promise((resolve, reject) => {
      const s = connect(port, host, () => {
        s.off('error', reject);
        resolve(new MllpClient(s));
      });
      s.once('error', reject);
    });
  }

  /** Writes bytes as they are (no framing), e.g. to split or merge frames. */
  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** The next answer, in order; rejects when the connection closes first or after `timeoutMs`. */
  next(timeoutMs = 15000): Promise<string> {
    const ready = this.replies.shift();
    if (ready !== undefined) return Promise.resolve(ready);
    if (this.ended) return Promise.reject(new Error('connection closed by the listener without an answer'));
    return new Promise((resolve, reject) => {
      const w = {
        resolve: (s: string) => { clearTimeout(t); resolve(s); },
        reject: (e: Error) => { clearTimeout(t); reject(e); },
      };
      const t = setTimeout(() => {
        this.waiters = this.waiters.filter((x) => x !== w);
        reject(new Error(`no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.push(w);
    });
  }

  /** Frames one message and waits for its answer. */
  async send(message: string | Buffer, timeoutMs?: number): Promise<string> {
    this.socket.write(frame(Buffer.isBuffer(message) ? message : Buffer.from(message, 'utf8')));
    return this.next(timeoutMs);
  }

  async close(): Promise<void> {
    this.socket.end();
    await this.closed;
  }
}
