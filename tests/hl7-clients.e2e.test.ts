// Real outside clients against the running ingest process: Debian's `mllp_send`
// (python3-hl7) sends the HL7 fixtures over MLLP and prints the ACKs; Debian's `kcat`
// reads the flow and rejects topics the way ops would. ./pfm test installs both.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kafkaSaslFromEnv } from '@pfm/kafka-runtime';
import { repoRoot, waitFor } from '@pfm/testkit';
import { startProduct, type ProductUnderTest } from './support/stack';

const FIXTURES = join(repoRoot, 'packages', 'hl7', 'fixtures');
const fixture = (name: string) => readFileSync(join(FIXTURES, `${name}.hl7`), 'utf8');

/** Events each good fixture becomes (a08-update-edd and a17-swap give two). */
const GOOD: Record<string, number> = Object.fromEntries(
  readdirSync(FIXTURES).filter((f) => f.endsWith('.hl7') && !f.startsWith('bad-')).map((f) => f.slice(0, -4)).map((n) => [n, n === 'a08-update-edd' || n === 'a17-swap' ? 2 : 1]),
);
const BAD: Record<string, 'AE' | 'AR'> = {
  'bad-nhs-number': 'AE', 'bad-missing-pv1-3': 'AE', 'bad-missing-pv1-19': 'AE', 'bad-missing-local-id': 'AE', 'bad-event-time': 'AE',
  'bad-no-control-id': 'AR', 'bad-garbage': 'AR',
};

function run(cmd: string, args: string[], timeout = 60000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout, maxBuffer: 64 * 1024 * 1024, encoding: 'latin1' }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')} failed: ${err.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

/** MSA-1 and MSA-2 of every ACK mllp_send printed, in order. */
const acks = (out: string) => out.split(/[\r\n]+/).filter((l) => l.startsWith('MSA|')).map((l) => { const f = l.split('|'); return { code: f[1], controlId: f[2] }; });

describe('outside HL7 clients: mllp_send in, kcat out', () => {
  let p: ProductUnderTest;
  let dir: string;
  const brokers = () => p.env.KAFKA_BROKERS!;
  // kcat logs in like any other client: the principal of the environment (the test
  // principal, from .stack/stack.env), in a librdkafka config file (-F) of mode 600 so the
  // password is not on kcat's command line. With PLAIN: librdkafka before 2.6.1 (Debian
  // 12's kcat has 2.0.2) fails SCRAM against Kafka 4.x (confluentinc/librdkafka#4895);
  // the local broker accepts PLAIN for the test principal for this (infra/kafka/kafka.sh).
  let kcatConfig: string[] = [];
  const kcat = (args: string[]) => run('kcat', [...kcatConfig, '-b', brokers(), ...args]);
  const count = async (topic: string) => (await kcat(['-C', '-t', topic, '-e', '-o', 'beginning', '-q', '-f', '%h\\n'])).split('\n').filter(Boolean);

  beforeAll(async () => {
    p = await startProduct({ engine: false });
    dir = mkdtempSync(join(tmpdir(), 'pfm-hl7-clients-'));
    const { sasl, ssl } = kafkaSaslFromEnv();
    if (sasl) {
      const { username, password } = sasl as { username: string; password: string };
      const file = join(dir, 'kcat.conf');
      // Over TLS (SASL_SSL) it trusts the CA of KAFKA_SSL_CA_FILE (the stack's local CA).
      const ca = process.env.KAFKA_SSL_CA_FILE?.trim();
      writeFileSync(file, [`security.protocol=${ssl ? 'SASL_SSL' : 'SASL_PLAINTEXT'}`, ...(ca ? [`ssl.ca.location=${ca}`] : []), `sasl.mechanisms=${process.env.PFM_KCAT_SASL_MECHANISM ?? 'PLAIN'}`, `sasl.username=${username}`, `sasl.password=${password}`, ''].join('\n'), { mode: 0o600 });
      kcatConfig = ['-F', file];
    }
  });
  afterAll(async () => { await p?.stop(); });

  it('every good fixture is answered AA in order, and kcat counts their events on the flow topic', async () => {
    const names = Object.keys(GOOD).sort();
    const file = join(dir, 'good.hl7');
    // --loose: one file of CR-separated messages, split at each "MSH|^~\&|".
    writeFileSync(file, names.map(fixture).join(''));
    const out = await run('mllp_send', ['--loose', '-f', file, '-p', p.env.PFM_MLLP_PORT!, '127.0.0.1']);
    const got = acks(out);
    const controlIds = names.map((n) => /^MSH(?:\|[^|\r]*){8}\|([^|\r]*)/.exec(fixture(n))![1]);
    expect(got).toEqual(controlIds.map((controlId) => ({ code: 'AA', controlId })));

    const expected = Object.values(GOOD).reduce((a, b) => a + b, 0);
    let headers: string[] = [];
    await waitFor(async () => (headers = await count(p.topics.flowEvents)).length >= expected, { what: `${expected} events via kcat` });
    expect(headers).toHaveLength(expected);
    // kcat prints the headers ingest sets: the event id is MSH-10 (suffixed -1/-2 when one message gives two events).
    const ids = headers.map((h) => /pfm-event-id=([^,]*)/.exec(h)?.[1]);
    for (const c of controlIds) expect(ids.some((id) => id === c || id?.startsWith(`${c}-`))).toBe(true);
  });

  it('bad fixtures get AE / AR (framed file, one connection), and kcat finds each in the rejects topic', async () => {
    const names = Object.keys(BAD).sort();
    const file = join(dir, 'bad.mllp');
    // Framed (VT ... FS CR) so that even the message with no MSH is sent as one message.
    writeFileSync(file, Buffer.concat(names.map((n) => Buffer.concat([Buffer.from([0x0b]), Buffer.from(fixture(n)), Buffer.from([0x1c, 0x0d])]))));
    const out = await run('mllp_send', ['-f', file, '-p', p.env.PFM_MLLP_PORT!, '127.0.0.1']);
    expect(acks(out).map((a) => a.code)).toEqual(names.map((n) => BAD[n]));
    expect(out.split('\r').filter((l) => l.startsWith('ERR|')).length).toBeGreaterThanOrEqual(names.length);

    let rejects: string[] = [];
    await waitFor(async () => {
      rejects = (await kcat(['-C', '-t', p.topics.ingestRejects, '-e', '-o', 'beginning', '-q'])).split('\n').filter(Boolean);
      return rejects.length >= names.length;
    }, { what: 'reject records via kcat' });
    const records = rejects.map((l) => JSON.parse(l) as { channel: string; raw: string; errors: unknown[] });
    expect(records).toHaveLength(names.length);
    // mllp_send strips the message's last CR before framing it.
    const trimmed = (s: string) => s.replace(/[\r\n]+$/, '');
    for (const n of names) expect(records.some((r) => r.channel === 'hl7v2' && trimmed(r.raw) === trimmed(fixture(n)) && r.errors.length > 0)).toBe(true);
  });
});
