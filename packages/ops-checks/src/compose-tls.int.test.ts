/** @pfm-stack none */
// docker-compose.yml's kafka-tls step (infra/kafka/compose-tls.sh) run here as it runs in the
// Kafka image (keytool from the JRE the native stack's Kafka needs too): the keystore it
// gives the broker serves TLS that a client trusting only the CA certificate it publishes
// accepts under every name the broker is reached by, and that a client trusting another CA
// refuses; the CA's key never leaves its own directory.
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, connect, type Server } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const root = join(__dirname, '..', '..', '..');
const PASSWORD = 'compose-tls-test-password';
const keytool = process.env.JAVA_HOME ? join(process.env.JAVA_HOME, 'bin', 'keytool') : 'keytool';

/** Runs compose-tls.sh into a fresh directory; returns its three directories. */
async function makeTls(): Promise<{ ca: string; broker: string; pub: string; out: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'pfm-compose-tls-'));
  const dirs = { ca: join(dir, 'ca'), broker: join(dir, 'broker'), pub: join(dir, 'public') };
  const { stdout } = await promisify(execFile)('bash', [join(root, 'infra', 'kafka', 'compose-tls.sh')], {
    env: {
      PATH: process.env.PATH, KEYTOOL: keytool, PFM_KAFKA_TLS_PASSWORD: PASSWORD, PFM_KAFKA_TLS_OWNER: '',
      PFM_KAFKA_TLS_CA_DIR: dirs.ca, PFM_KAFKA_TLS_BROKER_DIR: dirs.broker, PFM_KAFKA_TLS_PUBLIC_DIR: dirs.pub,
      PFM_KAFKA_TLS_NAMES: 'dns:kafka,dns:localhost,ip:127.0.0.1',
    },
  });
  return { ...dirs, out: stdout };
}

/** A TLS handshake as a client trusting `ca` (undefined: the system's CAs), asking for `servername` (undefined: the IP); the error's code, or 'ok'. */
function handshake(port: number, ca: Buffer | undefined, servername?: string): Promise<string> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port, ...(ca ? { ca } : {}), ...(servername ? { servername } : {}) }, () => { s.end(); resolve('ok'); });
    s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });
}

describe('compose kafka-tls step', () => {
  let tls: Awaited<ReturnType<typeof makeTls>>;
  let server: Server;
  let port: number;

  beforeAll(async () => {
    tls = await makeTls();
    // The broker's keystore as Kafka loads it (PKCS12 under the password).
    server = createServer({ pfx: readFileSync(join(tls.broker, 'broker.p12')), passphrase: PASSWORD, minVersion: 'TLSv1.2' }, (s) => s.end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  }, 120_000);
  afterAll(async () => { await new Promise((resolve) => server?.close(resolve)); });

  it('clients trusting the published CA certificate accept the broker as kafka, localhost and 127.0.0.1; no other name', async () => {
    const ca = readFileSync(join(tls.pub, 'ca.crt'));
    expect(await handshake(port, ca, 'kafka')).toBe('ok');
    expect(await handshake(port, ca, 'localhost')).toBe('ok');
    expect(await handshake(port, ca)).toBe('ok');
    expect(await handshake(port, ca, 'another-host')).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
  });

  it('a client trusting other CAs (the system\'s) refuses the broker', async () => {
    expect(await handshake(port, undefined, 'kafka')).toMatch(/^(SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_GET_ISSUER_CERT_LOCALLY|UNABLE_TO_VERIFY_LEAF_SIGNATURE)$/);
  });

  it('publishes the CA certificate alone; the CA key and the broker keystore are private to their directories', () => {
    expect(readdirSync(tls.pub)).toEqual(['ca.crt']);
    expect(readFileSync(join(tls.pub, 'ca.crt'), 'utf8')).toMatch(/^-----BEGIN CERTIFICATE-----\n[\s\S]+-----END CERTIFICATE-----\n?$/);
    expect(readdirSync(tls.broker).sort()).toEqual(['broker.p12', 'ca.crt']);
    expect(readdirSync(tls.ca)).toContain('ca.p12');
    const mode = (p: string) => statSync(p).mode & 0o777;
    expect(mode(tls.ca)).toBe(0o700);
    expect(mode(tls.broker)).toBe(0o700);
    expect(mode(join(tls.broker, 'broker.p12'))).toBe(0o600);
    expect(mode(join(tls.ca, 'ca.p12'))).toBe(0o600);
    expect(mode(join(tls.pub, 'ca.crt'))).toBe(0o644);
    expect(tls.out).not.toContain(PASSWORD);
  });
});
