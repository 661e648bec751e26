// One event through every hop: HTTP ingest -> Kafka (Avro via the registry) -> flow-engine
// -> Redis (offset-guarded Lua) -> pfm.board-updates.v1 -> board-gateway -> socket.io client.
import type { BoardUpdate, Reject, SnapshotPayload } from '@pfm/contracts';
import { FETCH_MAX_WAIT_MS } from '@pfm/kafka-runtime';
import { waitFor } from '@pfm/testkit';
import { postEvents, startProduct, type ProductUnderTest } from './support/stack';

describe('one event end to end on the real stack', () => {
  let p: ProductUnderTest;
  beforeAll(async () => { p = await startProduct(); });
  afterAll(async () => { await p?.stop(); });

  const admission = (patientId: string, spellId: string, nhsNumber?: string) => ({
    eventId: `adm-${patientId}`, type: 'patient.admitted', occurredAt: new Date(Date.now() - 3600_000).toISOString(), site: 'RXT', patientId, nhsNumber,
    payload: { spellId, ward: 'OAK', bed: `B${spellId}`, initials: 'AB' },
  });

  it('an admission reaches a socket.io client as the ward\'s new occupancy; a duplicate counts once', async () => {
    const socket = await p.connect(await p.token());
    const updates: BoardUpdate[] = [];
    socket.on('update', (u) => updates.push(u));
    const snapshot = new Promise<SnapshotPayload>((resolve) => socket.once('snapshot', resolve));
    const joined = await new Promise<{ ok: boolean }>((resolve) => socket.emit('join', { kind: 'ward', site: 'RXT', ward: 'OAK' }, resolve));
    expect(joined).toEqual({ ok: true });
    expect((await snapshot).wards[0]).toMatchObject({ ward: 'OAK', occupied: 0, beds: 10 });

    const first = await postEvents(p.ingestUrl, admission('P1', '1', '9434765919'));
    expect(first.status).toBe(202);
    const u1 = await waitFor(() => updates.find((u) => u.summary.occupied === 1), { timeoutMs: 30000, what: 'board update with occupied=1' });
    expect(u1).toMatchObject({ site: 'RXT', ward: 'OAK', summary: { occupied: 1, free: 9, occupancyPct: 10 } });

    // The same event again, then a second patient: occupancy must go to 2, never 3.
    expect((await postEvents(p.ingestUrl, admission('P1', '1', '9434765919'))).status).toBe(202);
    expect((await postEvents(p.ingestUrl, admission('P2', '2'))).status).toBe(202);
    const u2 = await waitFor(() => updates.find((u) => u.change?.eventId === 'adm-P2'), { timeoutMs: 30000, what: 'update for the second admission' });
    expect(u2.summary.occupied).toBe(2);
    expect(updates.every((u) => u.summary.occupied <= 2)).toBe(true);
    const seqs = updates.map((u) => u.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));

    const token = await p.token();
    const wards = (await (await fetch(`${p.gatewayUrl}/api/v1/wards`, { headers: { authorization: `Bearer ${token}` } })).json()) as { ward: string; occupied: number }[];
    expect(wards.find((w) => w.ward === 'OAK')?.occupied).toBe(2);
  });

  it('a malformed event gets field-level reasons and is kept in the rejects topic with its raw input', async () => {
    const bad = { type: 'patient.admitted', occurredAt: 'last tuesday', site: 'RXT', patientId: 'P3', nhsNumber: '9434765918', payload: { ward: 'OAK' } };
    const r = await postEvents(p.ingestUrl, bad);
    expect(r.status).toBe(422);
    const rejected = (r.body.rejected as { rejectId: string; errors: { path: string }[] }[])[0]!;
    expect(rejected.errors.map((e) => e.path)).toEqual(expect.arrayContaining(['occurredAt', 'nhsNumber', 'payload.spellId']));

    const consumer = p.kafka.consumer({ groupId: `${p.ns}-rejects-reader`, maxWaitTimeInMs: FETCH_MAX_WAIT_MS });
    const seen: Reject[] = [];
    await consumer.connect();
    await consumer.subscribe({ topic: p.topics.ingestRejects, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => { seen.push(JSON.parse(message.value!.toString()) as Reject); } });
    try {
      const rec = await waitFor(() => seen.find((x) => x.rejectId === rejected.rejectId), { timeoutMs: 30000, what: 'the reject record' });
      expect(rec).toMatchObject({ stage: 'ingest', channel: 'json', rawEncoding: 'utf8' });
      expect(JSON.parse(rec.raw)).toEqual(bad);
      expect(rec.reason).toMatch(/nhsNumber/);
    } finally {
      await consumer.disconnect();
    }
  });

  it('an invalid token gets nothing but a clear error', async () => {
    const r = await fetch(`${p.gatewayUrl}/api/v1/wards`, { headers: { authorization: 'Bearer not-a-token' } });
    expect(r.status).toBe(401);
    expect(await r.json()).toMatchObject({ error: 'invalid_token' });
    const socket = await p.connect('not-a-token');
    const err = await new Promise<Error>((resolve) => socket.once('connect_error', resolve));
    expect(err.message).toMatch(/not valid/);
  });
});
