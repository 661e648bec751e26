/** @pfm-stack kafka registry */
// The MLLP doors on the real stack: only listed peers may connect, one peer cannot take
// every connection slot, idle sockets and frames that never finish are closed, a sender
// that does not read its ACKs is not read from (nothing piles up for it), and a good
// sender still gets its ACK while all that happens.
import { connect, type Socket } from 'node:net';
import { waitFor } from '@pfm/testkit';
import { frame, MllpFramer, VT } from './mllp';
import { testAccess } from './testing/access';
import { ackCode, hl7Fixture, withControlId } from './testing/fixtures';
import { startTestIngest, type IngestUnderTest } from './testing/ingest-under-test';
import { MllpClient } from './testing/mllp-client';

const run = Date.now().toString(36);
let n = 0;
const admit = () => withControlId(hl7Fixture('a01-admit'), `sec-${run}-${++n}`);

describe('MLLP peers, limits and timeouts', () => {
  let t: IngestUnderTest;
  const open: MllpClient[] = [];
  const client = async () => { const c = await MllpClient.connect(t.ingest.mllpPort); open.push(c); return c; };

  beforeAll(async () => {
    t = await startTestIngest({ PFM_MLLP_MAX_CONNECTIONS_PER_PEER: '3', PFM_MLLP_IDLE_TIMEOUT_MS: '1500', PFM_MLLP_FRAME_TIMEOUT_MS: '1500' }, 'mllpsec');
  });
  afterAll(async () => {
    for (const c of open) if (!c.ended) await c.close();
    await t?.stop();
  });

  it('a listed peer gets AA (the baseline)', async () => {
    const good = await client();
    expect(ackCode(await good.send(admit()))).toBe('AA');
    await good.close();
  });

  it('an idle connection and a frame that never finishes are closed, while a good sender still gets through', async () => {
    const idle = await client();
    const slow = await client();
    slow.write(Buffer.concat([Buffer.from([VT]), Buffer.from('MSH|^~\\&|PAS|RXT|PFM|RXT|2026')]));
    await waitFor(() => idle.ended && slow.ended, { what: 'the idle and the slow connections to be closed', timeoutMs: 20000 });
    const good = await client();
    expect(ackCode(await good.send(admit()))).toBe('AA');
    await good.close();
  });

  it('a sender whose chunks end mid-frame, each frame finishing in time, is not cut off: the frame timeout times each frame, not the stream', async () => {
    // 8 messages over ~3.2 s (the frame timeout is 1.5 s): every write ends half-way into
    // the next frame, so some frame is always unfinished, but none takes more than 400 ms.
    const sock: Socket = connect(t.ingest.mllpPort, '127.0.0.1');
    await new Promise<void>((resolve, reject) => { sock.once('connect', resolve); sock.once('error', reject); });
    const framer = new MllpFramer(1024 * 1024);
    const acks: string[] = [];
    let closed = false;
    sock.on('data', (chunk: Buffer) => { for (const f of framer.push(chunk)) if (f.kind === 'message') acks.push(f.data.toString('utf8')); });
    sock.on('close', () => { closed = true; });
    const frames = Array.from({ length: 8 }, (_, i) => frame(Buffer.from(withControlId(hl7Fixture('a01-admit'), `pipe-${run}-${i}`))));
    const half = (b: Buffer) => Math.floor(b.length / 2);
    sock.write(frames[0]!.subarray(0, half(frames[0]!)));
    for (let i = 0; i < frames.length; i++) {
      await new Promise((r) => setTimeout(r, 400));
      const next = frames[i + 1];
      sock.write(Buffer.concat([frames[i]!.subarray(half(frames[i]!)), next ? next.subarray(0, half(next)) : Buffer.alloc(0)]));
    }
    await waitFor(() => acks.length === frames.length || closed, { what: `all ${frames.length} ACKs (${acks.length} so far)`, timeoutMs: 30_000 });
    expect(closed).toBe(false);
    expect(acks.map((a) => ackCode(a))).toEqual(frames.map(() => 'AA'));
    sock.destroy();
  }, 60_000);

  it('one peer holds at most its share of connections; the ones it has keep working', async () => {
    const held = [await client(), await client(), await client()];
    const extra = await client();
    await waitFor(() => extra.ended, { what: 'the connection over the per-peer limit to be closed' });
    expect(ackCode(await held[0]!.send(admit()))).toBe('AA');
    for (const c of held) await c.close();
  });
});

describe('MLLP sender scope', () => {
  it('a listed peer sending for a site outside its scope gets AR (refused before publishing)', async () => {
    const narrow = testAccess({ sites: ['RYY'] });
    const t = await startTestIngest({ PFM_SENDERS_FILE: narrow.file }, 'mllpscope');
    try {
      const c = await MllpClient.connect(t.ingest.mllpPort);
      const ack = await c.send(admit());
      expect(ackCode(ack)).toBe('AR');
      expect(ack).toContain('may not send for site RXT');
      await c.close();
    } finally {
      await t.stop();
    }
  });
});

describe('MLLP allow-list', () => {
  it('a peer no sender is listed for is closed without an answer', async () => {
    const elsewhere = testAccess({ mllpPeers: ['10.9.9.9'] });
    const t = await startTestIngest({ PFM_SENDERS_FILE: elsewhere.file }, 'mllpdeny');
    try {
      const c = await MllpClient.connect(t.ingest.mllpPort);
      await expect(c.send(admit())).rejects.toThrow(/closed by the listener/);
    } finally {
      await t.stop();
    }
  });
});

describe('MLLP back-pressure on ACK writes', () => {
  let t: IngestUnderTest;
  afterAll(async () => { await t?.stop(); });

  it('a sender that pipelines messages and never reads its ACKs is paused, with at most one ACK past the socket\'s high-water mark buffered; a good sender still gets through; reading again gets every ACK', async () => {
    t = await startTestIngest({}, 'mllpbp');
    // The listener's side of each connection, and every ACK write on it: what it buffers for the peer.
    const serverSide: Socket[] = [];
    let maxBuffered = 0;
    let maxWrite = 0;
    t.ingest.mllpServer.on('connection', (s: Socket) => {
      serverSide.push(s);
      const write = s.write.bind(s) as (chunk: Buffer, ...rest: unknown[]) => boolean;
      (s as unknown as { write: typeof write }).write = (chunk: Buffer, ...rest: unknown[]) => {
        const ok = write(chunk, ...rest);
        maxBuffered = Math.max(maxBuffered, s.writableLength);
        maxWrite = Math.max(maxWrite, chunk.length);
        return ok;
      };
    });

    // The hostile sender: 256 admissions written back to back, its socket never read. Each
    // names a 256 KB receiving application (MSH-5), which its ACK quotes back (as MSH-3): 64 MB
    // of ACKs, more than the kernel's socket buffers on both sides can hold (receive buffer
    // at most net.ipv4.tcp_rmem's 32 MB, send buffer tcp_wmem's 4 MB; seen: ~12 MB taken).
    // Few large messages rather than many small ones: the same bytes with an eighth of the
    // messages to parse and publish (2,000 of 32 KB outlasted the test's time at load ~11).
    const total = 256;
    const bulky = (i: number) => {
      const [msh, ...rest] = withControlId(hl7Fixture('a01-admit'), `bp-${run}-${i}`).split('\r');
      const fields = msh!.split('|');
      fields[4] = `PFM-${'R'.repeat(256 * 1024)}`;
      return Buffer.from([fields.join('|'), ...rest].join('\r'));
    };
    const hostile = connect({ host: '127.0.0.1', port: t.ingest.mllpPort });
    hostile.pause();
    hostile.on('error', () => undefined);
    await new Promise<void>((resolve) => hostile.once('connect', () => resolve()));
    const listener = await waitFor(() => serverSide[0], { what: 'the listener\'s side of the connection' });
    for (let i = 0; i < total; i++) hostile.write(frame(bulky(i)));

    // The listener stops reading it (paused) once its ACKs back up, so the sender's own
    // writes back up too; what the listener holds for it stays at the high-water mark plus one ACK.
    await waitFor(() => listener.isPaused() && listener.writableLength > 0 && hostile.writableLength > 0, { what: 'the listener to pause the sender that does not read', timeoutMs: 60_000 });
    expect(maxBuffered).toBeLessThanOrEqual(listener.writableHighWaterMark + maxWrite);

    // Meanwhile another sender is answered.
    const good = await MllpClient.connect(t.ingest.mllpPort);
    expect(ackCode(await good.send(admit()))).toBe('AA');
    await good.close();

    // Reading again, the paused sender gets an ACK for every message, in order.
    const framer = new MllpFramer(1024 * 1024);
    const acks: string[] = [];
    hostile.on('data', (chunk: Buffer) => { for (const f of framer.push(chunk)) if (f.kind === 'message') acks.push(f.data.toString('utf8')); });
    hostile.resume();
    await waitFor(() => acks.length === total, { what: `all ${total} ACKs (${acks.length} so far)`, timeoutMs: 120_000 });
    expect(acks.every((a) => ackCode(a) === 'AA')).toBe(true);
    expect(acks[0]).toContain(`bp-${run}-0`);
    expect(acks[total - 1]).toContain(`bp-${run}-${total - 1}`);
    expect(maxBuffered).toBeLessThanOrEqual(listener.writableHighWaterMark + maxWrite);
    hostile.destroy();
  }, 300_000);
});
