/** @pfm-stack none */
// The MLLP listener on a loopback port with a stub handler: shutdown finishes the message in
// hand and answers it, even when the peer keeps its side of the connection open.
import { createLogger } from '@pfm/observability';
import { waitFor } from '@pfm/testkit';
import { frame, startMllpServer, type Frame } from './mllp';
import { MllpClient } from './testing/mllp-client';

const logger = createLogger('test');
logger.level = 'silent';

describe('MLLP listener lifecycle', () => {
  it('close() answers the message in flight, then closes idle and busy connections', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => { release = r; });
    const seen: string[] = [];
    const server = await startMllpServer({
      host: '127.0.0.1', port: 0, maxMessageBytes: 1024, logger, allowPeer: () => true,
      handler: async (f: Frame) => {
        const text = f.kind === 'message' ? f.data.toString() : f.kind;
        seen.push(text);
        if (text === 'slow') await gate;
        return { reply: Buffer.from(`ack ${text}`) };
      },
    });
    const idle = await MllpClient.connect(server.port);
    const busy = await MllpClient.connect(server.port);
    const answer = busy.send('slow');
    await waitFor(() => seen.includes('slow'), { what: 'the slow message to be in hand' });
    const closing = server.close();
    release();
    expect(await answer).toBe('ack slow');
    await closing;
    await Promise.all([idle.closed, busy.closed]);
  });

  it('a handler that asks to close drops the frames queued behind it, unanswered', async () => {
    const seen: string[] = [];
    const server = await startMllpServer({
      host: '127.0.0.1', port: 0, maxMessageBytes: 1024, logger, allowPeer: () => true,
      handler: async (f: Frame) => {
        const text = f.kind === 'message' ? f.data.toString() : f.kind;
        seen.push(text);
        return text === 'fail' ? { close: 'kafka down' } : { reply: Buffer.from(`ack ${text}`) };
      },
    });
    try {
      const c = await MllpClient.connect(server.port);
      c.write(Buffer.concat([frame(Buffer.from('one')), frame(Buffer.from('fail')), frame(Buffer.from('three'))]));
      expect(await c.next()).toBe('ack one');
      await expect(c.next()).rejects.toThrow(/closed/);
      expect(seen).toEqual(['one', 'fail']);
    } finally {
      await server.close();
    }
  });
  it('says once per connection, in the log, that bytes outside any frame were dropped unanswered; framed messages still get answers', async () => {
    const warned: string[] = [];
    const capturing = Object.assign(Object.create(logger) as typeof logger, { warn: (_o: unknown, msg?: string) => { warned.push(msg ?? ''); } });
    const server = await startMllpServer({
      host: '127.0.0.1', port: 0, maxMessageBytes: 1024, logger: capturing, allowPeer: () => true,
      handler: async (f: Frame) => ({ reply: Buffer.from(`ack ${f.kind === 'message' ? f.data.toString() : f.kind}`) }),
    });
    const c = await MllpClient.connect(server.port);
    try {
      c.write(Buffer.from('MSH|^~\\&|PAS|RXT|PFM|RXT|20261101||ADT^A01|1|P|2.4\r'));
      c.write(Buffer.from('PID|1||123\r'));
      expect(await c.send('framed')).toBe('ack framed');
      expect(warned.filter((m) => /outside any MLLP frame dropped unanswered/.test(m))).toHaveLength(1);
    } finally {
      await c.close();
      await server.close();
    }
  });
});
