// Back-pressure: the run's Kafka broker is stopped while senders are sending, then
// started again. While it is down, HTTP answers 503 with Retry-After and MLLP closes the
// connection without an ACK; senders re-send (as clients and PAS engines do) and every
// admission is applied exactly once, read back as ward occupancy through the gateway.
//
// The broker is the e2e run's own container (PFM_TEST_STACK=containers: jest's global
// set-up names its stack in PFM_TEST_STACK_ID) or, on the native stack, the broker of
// infra/kafka/kafka.sh. CAREFUL on the native stack: this stops the broker every other
// user of that stack shares. The down window is kept to seconds (publish deadline 1.5 s;
// the broker is started again as soon as both refusals were seen) and the broker is
// always started again, in `finally` and in afterAll.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { repoRoot, stackPart, waitFor } from '@pfm/testkit';
import { SENDER_HEADER, startProduct, type ProductUnderTest } from './support/stack';

const KAFKA_SH = join(repoRoot, 'infra', 'kafka', 'kafka.sh');
const kafkaSh = (cmd: 'stop' | 'start'): Promise<string> => new Promise((resolve, reject) => {
  execFile('bash', [KAFKA_SH, cmd], { timeout: 120000 }, (err, stdout, stderr) => (err ? reject(new Error(`kafka.sh ${cmd}: ${err.message}\n${stderr}`)) : resolve(stdout)));
});
const kafka = async (cmd: 'stop' | 'start'): Promise<void> => {
  const stackId = process.env.PFM_TEST_STACK_ID;
  if (stackId) await (await stackPart(stackId, 'kafka'))[cmd]();
  else if (process.env.PFM_TEST_STACK === 'containers') throw new Error('PFM_TEST_STACK=containers but no PFM_TEST_STACK_ID: run through jest\'s e2e project (its global set-up starts the stack)');
  else await kafkaSh(cmd);
};

const A01 = readFileSync(join(repoRoot, 'packages', 'hl7', 'fixtures', 'a01-admit.hl7'), 'utf8');
/** An A01 for its own patient and spell on ward ELM (MSH-10 = control id). */
const admitHl7 = (n: number, run: string) => A01
  .replace('RXT-PAS-000101', `${run}-H${n}`)
  .replace('RXT1000001', `BPH${n}`)
  .replace('~9434765919^^^NHS^NH', '')
  .replace('SP26000101', `BPHS${n}`)
  .replace('ASH^^BED03^RXT01', 'ELM^^^RXT01');

const WARDS = [
  { site: 'RXT', code: 'OAK', name: 'Oak Ward', type: 'adult_acute' as const, beds: 1000 },
  { site: 'RXT', code: 'ELM', name: 'Elm Ward', type: 'picu' as const, beds: 1000 },
];

/** One MLLP exchange on a fresh connection: the ACK, or null when the listener closed without one. */
function mllpOnce(port: number, message: string): Promise<string | null> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const s: Socket = connect(port, '127.0.0.1', () => s.write(Buffer.concat([Buffer.from([0x0b]), Buffer.from(message), Buffer.from([0x1c, 0x0d])])));
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      const end = buf.indexOf(0x1c);
      if (end >= 0) { s.end(); resolve(buf.subarray(1, end).toString('utf8')); }
    });
    s.once('close', () => resolve(null));
    s.once('error', (e) => (buf.length ? resolve(null) : reject(e)));
  });
}

describe('back-pressure: the broker stops during a send and comes back', () => {
  let p: ProductUnderTest;
  let brokerDown = false;

  beforeAll(async () => {
    p = await startProduct({ wards: WARDS, extraEnv: { PFM_PUBLISH_TIMEOUT_MS: '1500' } });
  });
  afterAll(async () => {
    if (brokerDown) await kafka('start');
    await p?.stop();
  });

  it('503 + Retry-After and no ACK while down; after it, every re-sent admission is applied once', async () => {
    const run = Date.now().toString(36);
    let phase: 'before' | 'down' | 'after' = 'before';
    const http = { accepted: 0, refused: 0, retryAfter: new Set<string>(), other: [] as number[] };
    const mllp = { accepted: 0, unanswered: 0, other: [] as string[] };
    const PER_PHASE = 5;
    // Each sender sends a few admissions before the stop, keeps sending through it (every
    // refused one is re-sent at once, as a client or PAS engine does), and a few after.
    const sendUntil = async (sendOne: (n: number) => Promise<boolean>) => {
      let n = 0;
      const accepted = { before: 0, after: 0 };
      while (accepted.after < PER_PHASE) {
        if (phase === 'before' && accepted.before >= PER_PHASE) {
          await waitFor(() => phase !== 'before', { timeoutMs: 120000, what: 'the broker to be stopped' });
        }
        const at = phase;
        n += 1;
        while (!(await sendOne(n))) { /* re-send the same message until it is accepted */ }
        if (at === 'before') accepted.before += 1;
        if (at === 'after' && phase === 'after') accepted.after += 1;
      }
      return n;
    };
    const event = (n: number) => ({
      eventId: `${run}-J${n}`, type: 'patient.admitted', occurredAt: new Date(Date.now() - 3600_000).toISOString(), site: 'RXT', patientId: `BPJ${n}`,
      payload: { spellId: `BPJS${n}`, ward: 'OAK' },
    });
    const httpSender = sendUntil(async (n) => {
      const r = await fetch(`${p.ingestUrl}/v1/events`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: SENDER_HEADER }, body: JSON.stringify(event(n)) });
      await r.arrayBuffer();
      if (r.status === 202) { http.accepted += 1; return true; }
      if (r.status === 503) { http.refused += 1; http.retryAfter.add(r.headers.get('retry-after') ?? ''); return false; }
      http.other.push(r.status);
      return false;
    });
    const port = Number(p.env.PFM_MLLP_PORT);
    const mllpSender = sendUntil(async (n) => {
      const ack = await mllpOnce(port, admitHl7(n, run));
      if (ack === null) { mllp.unanswered += 1; return false; }
      if (ack.includes(`MSA|AA|${run}-H${n}`)) { mllp.accepted += 1; return true; }
      mllp.other.push(ack);
      return false;
    });

    await waitFor(() => http.accepted >= PER_PHASE && mllp.accepted >= PER_PHASE, { timeoutMs: 60000, what: 'admissions before the stop' });
    brokerDown = true;
    try {
      phase = 'down';
      const t0 = Date.now();
      await kafka('stop');
      // Down: both paths refuse (HTTP 503 + Retry-After, MLLP closes without an ACK).
      await waitFor(() => http.refused > 0 && mllp.unanswered > 0, { timeoutMs: 60000, what: 'a 503 and an unanswered MLLP message' });
      process.stdout.write(`[backpressure] broker stopped for ${Date.now() - t0} ms before restart\n`);
    } finally {
      await kafka('start');
      brokerDown = false;
    }
    phase = 'after';
    const [sentHttp, sentMllp] = await Promise.all([httpSender, mllpSender]);

    process.stdout.write(`[backpressure] HTTP: ${sentHttp} admissions, ${http.refused} refusals (503); MLLP: ${sentMllp} admissions, ${mllp.unanswered} closed without ACK\n`);
    expect(http.other).toEqual([]);
    expect(mllp.other).toEqual([]);
    expect(http.retryAfter).toEqual(new Set(['5']));
    expect(http.accepted).toBe(sentHttp);
    expect(mllp.accepted).toBe(sentMllp);

    // Every admission (some sent twice or more, some written by Kafka after a refusal) counts once.
    const token = await p.token();
    const occupancy = async () => {
      const wards = (await (await fetch(`${p.gatewayUrl}/api/v1/wards`, { headers: { authorization: `Bearer ${token}` } })).json()) as { ward: string; occupied: number }[];
      return Object.fromEntries(wards.map((w) => [w.ward, w.occupied]));
    };
    await waitFor(async () => { const o = await occupancy(); return o.OAK === sentHttp && o.ELM === sentMllp; }, { timeoutMs: 120000, what: `occupancy OAK=${sentHttp} ELM=${sentMllp}` })
      .catch(async (e: Error) => {
        const logs = (['ingest', 'engine'] as const).map((k) => `--- ${k} log ---\n${p.services[k]?.tail(60) ?? ''}`).join('\n');
        throw new Error(`${e.message}; occupancy now ${JSON.stringify(await occupancy())}\n${logs}`);
      });
    // Stays there: nothing more arrives late.
    expect(await occupancy()).toMatchObject({ OAK: sentHttp, ELM: sentMllp });
  });
});
