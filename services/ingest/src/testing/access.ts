// Credentials for tests of ingest: one sender with a key for every HTTP channel and every
// site the tests use, MLLP from loopback, and the demo-style token verifier for ops routes.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Auth, newSenderKey, SenderRegistry, type ClaimsInput, type SenderConfig } from '@pfm/access';

export const TEST_JWT_SECRET = 'ingest-test-secret-ingest-test-secret-0123';
export const LOOPBACK = ['127.0.0.1', '::1'];

export interface TestAccess {
  senders: SenderRegistry;
  /** The senders file (for PFM_SENDERS_FILE). */
  file: string;
  /** `Authorization` header value of the all-channels test sender. */
  header: string;
  /** Header of a sender allowed only referral.received for site RYY over json. */
  narrowHeader: string;
  auth: Auth;
  token(claims?: Partial<ClaimsInput>): Promise<string>;
}

export function testAccess(opts: { mllpPeers?: string[]; sites?: string[] } = {}): TestAccess {
  const main = newSenderKey('test-sender');
  const narrow = newSenderKey('narrow-sender');
  const configs: SenderConfig[] = [
    { id: 'test-sender', keySha256: main.keySha256, channels: ['json', 'fhir', 'hl7v2'], mllpPeers: opts.mllpPeers ?? LOOPBACK, types: ['*'], sites: opts.sites ?? ['RXT', 'RYY', 'RZZ'], sourceSystem: 'TEST-PAS' },
    { id: 'narrow-sender', keySha256: narrow.keySha256, channels: ['json'], types: ['referral.received'], sites: ['RYY'] },
  ];
  const file = join(mkdtempSync(join(tmpdir(), 'pfm-senders-')), 'senders.json');
  writeFileSync(file, JSON.stringify(configs), { mode: 0o600 });
  const auth = new Auth(TEST_JWT_SECRET);
  return {
    senders: new SenderRegistry(configs), file, header: `ApiKey ${main.key}`, narrowHeader: `ApiKey ${narrow.key}`, auth,
    token: (claims = {}) => auth.issue({ sub: 'ops-test', role: 'ops', sites: ['RXT'], ...claims } as ClaimsInput),
  };
}
