/** @pfm-stack kafka registry */
// MLLP over TLS on the real stack: a sender that trusts the listener's certificate gets
// its AA over TLS; plain TCP gets nothing; with a CA configured (mutual TLS), only a
// sender presenting a certificate that CA issued gets through.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ackCode, hl7Fixture, withControlId } from './testing/fixtures';
import { startTestIngest, type IngestUnderTest } from './testing/ingest-under-test';
import { MllpClient } from './testing/mllp-client';

const dir = mkdtempSync(join(tmpdir(), 'pfm-mllp-tls-'));
const f = (name: string) => join(dir, name);
const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
const newKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
// The listener's own certificate (self-signed, for 127.0.0.1), a CA, a sender certificate it
// issued, and a sender certificate nobody issued.
openssl('req', '-x509', ...newKey, '-keyout', 'server.key', '-out', 'server.crt', '-subj', '/CN=ingest', '-addext', 'subjectAltName=IP:127.0.0.1', '-days', '1');
openssl('req', '-x509', ...newKey, '-keyout', 'ca.key', '-out', 'ca.crt', '-subj', '/CN=trust-ca', '-days', '1');
openssl('req', ...newKey, '-keyout', 'pas.key', '-out', 'pas.csr', '-subj', '/CN=pas');
openssl('x509', '-req', '-in', 'pas.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'pas.crt', '-days', '1');
openssl('req', '-x509', ...newKey, '-keyout', 'rogue.key', '-out', 'rogue.crt', '-subj', '/CN=rogue', '-days', '1');

const run = Date.now().toString(36);
let n = 0;
const admit = () => withControlId(hl7Fixture('a01-admit'), `tls-${run}-${++n}`);
const trustListener = { ca: readFileSync(f('server.crt')) };
/** The answer to one message, or the error that ended the attempt. */
const attempt = async (connect: () => Promise<MllpClient>): Promise<string> => {
  let c: MllpClient | undefined;
  try {
    c = await connect();
    return ackCode(await c.send(admit(), 5000)) ?? 'no code';
  } catch (e) {
    return `failed: ${(e as Error).message}`;
  } finally {
    if (c && !c.ended) await c.close();
  }
};

describe('MLLP over TLS', () => {
  let t: IngestUnderTest | undefined;
  afterEach(async () => { await t?.stop(); t = undefined; });

  it('a sender trusting the listener\'s certificate gets AA over TLS; plain TCP gets no answer', async () => {
    t = await startTestIngest({ PFM_MLLP_TLS_CERT_FILE: f('server.crt'), PFM_MLLP_TLS_KEY_FILE: f('server.key') }, 'opssec-tls');
    const port = t.ingest.mllpPort;
    expect(await attempt(() => MllpClient.connectTls(port, trustListener))).toBe('AA');
    expect(await attempt(() => MllpClient.connect(port))).toMatch(/^failed: /);
  });

  it('with a CA (mutual TLS), only a sender presenting a certificate the CA issued gets through', async () => {
    t = await startTestIngest({ PFM_MLLP_TLS_CERT_FILE: f('server.crt'), PFM_MLLP_TLS_KEY_FILE: f('server.key'), PFM_MLLP_TLS_CA_FILE: f('ca.crt') }, 'opssec-mtls');
    const port = t.ingest.mllpPort;
    const withCert = (name: string) => ({ ...trustListener, cert: readFileSync(f(`${name}.crt`)), key: readFileSync(f(`${name}.key`)) });
    expect(await attempt(() => MllpClient.connectTls(port, withCert('pas')))).toBe('AA');
    expect(await attempt(() => MllpClient.connectTls(port, trustListener))).toMatch(/^failed: /);
    expect(await attempt(() => MllpClient.connectTls(port, withCert('rogue')))).toMatch(/^failed: /);
  });

  it('a certificate without its key stops the start', async () => {
    await expect(startTestIngest({ PFM_MLLP_TLS_CERT_FILE: f('server.crt') }, 'opssec-tlsbad')).rejects.toThrow(/PFM_MLLP_TLS_CERT_FILE and PFM_MLLP_TLS_KEY_FILE/);
  });
});
