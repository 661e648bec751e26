/** @pfm-stack kafka */
// Kafka's client listener speaks TLS only (infra/kafka: SASL_SSL, the broker's certificate
// from the stack's local CA), met on the real broker of the stack: a client without TLS
// is dropped before it can log in, a client that trusts another CA refuses the broker,
// and the product's clients (kafkaClientConfig with KAFKA_SSL_CA_FILE) and kcat work.
// Needs the stack's settings (.stack/stack.env: KAFKA_SASL_*, KAFKA_SSL_CA_FILE).
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type PeerCertificate } from 'node:tls';
import { promisify } from 'node:util';
import { Kafka, logLevel, type KafkaConfig } from 'kafkajs';
import { requireStack, uniqueName } from '@pfm/testkit';
import { kafkaClientConfig, kafkaSaslFromEnv } from './client';

const run = promisify(execFile);

describe('Kafka speaks TLS only: SASL_SSL on the real broker', () => {
  let brokers: string[];
  let caFile: string;
  let dir: string;
  const clients: { disconnect(): Promise<void> }[] = [];
  /** A client with exactly these settings and the environment's login (no retries: a refusal is final). */
  const client = (extra: Partial<KafkaConfig>) => new Kafka({ brokers, clientId: uniqueName('tls'), logLevel: logLevel.NOTHING, connectionTimeout: 3000, retry: { retries: 0 }, sasl: kafkaSaslFromEnv().sasl, ...extra });
  const listTopics = async (k: Kafka) => { const a = k.admin(); clients.push(a); await a.connect(); return a.listTopics(); };
  const failure = async (p: Promise<unknown>): Promise<Error & { originalError?: Error }> => {
    try { await p; } catch (e) { return e as Error; }
    throw new Error('expected the broker to refuse, but the call succeeded');
  };

  beforeAll(async () => {
    brokers = (await requireStack()).kafkaBrokers;
    caFile = process.env.KAFKA_SSL_CA_FILE ?? '';
    if (!caFile || !kafkaSaslFromEnv().sasl) {
      throw new Error('the stack is expected to run Kafka with SASL and TLS (infra/kafka/kafka.sh, PFM_KAFKA_TLS=1): source .stack/stack.env for KAFKA_SASL_* and KAFKA_SSL_CA_FILE');
    }
    dir = mkdtempSync(join(tmpdir(), 'pfm-kafka-tls-'));
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.disconnect().catch(() => undefined)));
    rmSync(dir, { recursive: true, force: true });
  });

  it('drops a client that does not speak TLS, even with the right login', async () => {
    const e = await failure(listTopics(client({ ssl: false })));
    // The broker reads the plaintext request as a broken TLS record and closes the
    // connection (kafkajs: "Closed connection", wrapped once the retries are spent).
    expect(`${e.name}: ${e.message}`).toMatch(/^KafkaJS(ConnectionClosedError|NumberOfRetriesExceeded): (Closed connection|Connection closed)/);
  });

  it('shows a certificate for 127.0.0.1 signed by the stack\'s CA, and a client trusting another CA refuses it', async () => {
    const [host, port] = brokers[0]!.split(':') as [string, string];
    const cert = await new Promise<PeerCertificate>((resolve, reject) => {
      const s = connect({ host, port: Number(port), ca: [readFileSync(caFile)] }, () => { resolve(s.getPeerCertificate()); s.end(); });
      s.once('error', reject);
    });
    expect(cert.subjectaltname).toContain('IP Address:127.0.0.1');

    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', join(dir, 'other.key'), '-out', join(dir, 'other.crt'), '-subj', '/CN=another CA', '-days', '1'], { stdio: 'ignore' });
    const e = await failure(listTopics(client({ ssl: { ca: [readFileSync(join(dir, 'other.crt'))] } })));
    expect(`${e.message} ${e.originalError?.message ?? ''}`).toMatch(/self[- ]signed certificate|unable to (get|verify)/i);
  });

  it('works for the product\'s clients with the CA of the environment', async () => {
    expect(kafkaClientConfig({ brokers }).ssl).toEqual({ ca: [readFileSync(caFile)] });
    expect(Array.isArray(await listTopics(new Kafka(kafkaClientConfig({ brokers, clientId: uniqueName('tls'), logLevel: logLevel.NOTHING }))))).toBe(true);
  });

  it('works for kcat (librdkafka) over SASL_SSL with the CA, and not without TLS', async () => {
    const { username, password } = kafkaSaslFromEnv().sasl as { username: string; password: string };
    // PLAIN for the test principal: Debian 12's librdkafka cannot do SCRAM with Kafka 4.x (infra/kafka/kafka.sh).
    const conf = (lines: string[]) => {
      const file = join(dir, `${uniqueName('kcat')}.conf`);
      writeFileSync(file, [...lines, 'sasl.mechanisms=PLAIN', `sasl.username=${username}`, `sasl.password=${password}`, ''].join('\n'), { mode: 0o600 });
      return file;
    };
    const tls = await run('kcat', ['-F', conf(['security.protocol=SASL_SSL', `ssl.ca.location=${caFile}`]), '-b', brokers.join(','), '-L', '-m', '10'], { timeout: 30_000 });
    expect(tls.stdout).toMatch(/sasl_ssl:\/\/127\.0\.0\.1:\d+/);
    const plain = await run('kcat', ['-F', conf(['security.protocol=SASL_PLAINTEXT']), '-b', brokers.join(','), '-L', '-m', '5'], { timeout: 30_000 }).then(() => undefined, (err: Error & { stderr?: string }) => err);
    expect(plain?.stderr ?? '').toMatch(/Disconnected while requesting ApiVersion|Broker transport failure|Failed to acquire metadata/);
  });
});
