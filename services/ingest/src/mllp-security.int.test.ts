// The MLLP doors on the real stack: only listed peers may connect, one peer cannot take
// every connection slot, idle sockets and frames that never finish are closed, and a good
// sender still gets its ACK while all that happens.
import { waitFor } from '@pfm/testkit';
import { VT } from './mllp';
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
