// docker-compose.yml's one-shot kafka-setup, in the product's own image: once the broker
// answers, gives every principal with a PFM_KAFKA_PASSWORD_<NAME> in the environment its
// SCRAM-SHA-512 credential (scram.ts) and grants the rules of infra/kafka/acls.txt
// (grantAcls), logged in as the admin over PLAIN, on TLS when KAFKA_SSL_CA_FILE names the
// CA. Both steps are idempotent: it runs on every `up`. The native stack does the same
// with the Java admin client (infra/kafka/kafka.sh, KafkaSecurity.java); this needs no
// tool of the Kafka image, so the public apache/kafka image and the local build
// (infra/images) both serve.
//
//   KAFKA_BROKERS             host:port[,...] (compose: kafka:19092)
//   KAFKA_SSL_CA_FILE         the CA to trust (compose: the kafka-ca volume's ca.crt)
//   PFM_KAFKA_PASSWORD_ADMIN  the admin's password (its PLAIN login); required
//   PFM_KAFKA_PASSWORD_<NAME> a principal and its password (empty: left out)
//   PFM_KAFKA_ACLS_FILE       the rules (default: infra/kafka/acls.txt)
//   PFM_KAFKA_SETUP_WAIT_MS   how long to wait for the broker (default 180000)
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { kafkaClientConfig } from './client';
import { grantAcls, parseAcls } from './principals';
import { upsertScramCredentials } from './scram';

const say = (m: string) => process.stdout.write(`kafka-setup: ${m}\n`);

/** Principal -> password from PFM_KAFKA_PASSWORD_<NAME> (name lower-cased; empty values left out). */
export function principalsFromEnv(env: NodeJS.ProcessEnv): { user: string; password: string }[] {
  return Object.entries(env)
    .filter(([k, v]) => k.startsWith('PFM_KAFKA_PASSWORD_') && k.length > 'PFM_KAFKA_PASSWORD_'.length && v)
    .map(([k, v]) => ({ user: k.slice('PFM_KAFKA_PASSWORD_'.length).toLowerCase(), password: v! }))
    .sort((a, b) => a.user.localeCompare(b.user));
}

/**
 * `coordinator`: also wait until the broker's group coordinator exists (a new broker makes
 * its offsets topic on the first lookup and answers "coordinator not available" until then,
 * which a client that does not retry would take for the answer): the test stacks ask it.
 */
export async function setupKafka(env: NodeJS.ProcessEnv = process.env, log: (m: string) => void = say, opts: { coordinator?: boolean } = {}): Promise<{ users: string[]; acls: number }> {
  const adminPassword = env.PFM_KAFKA_PASSWORD_ADMIN;
  if (!adminPassword) throw new Error('set PFM_KAFKA_PASSWORD_ADMIN (the admin principal\'s password)');
  const brokers = (env.KAFKA_BROKERS ?? 'kafka:19092').split(',').map((b) => b.trim()).filter(Boolean);
  const caFile = env.KAFKA_SSL_CA_FILE?.trim();
  const ca = caFile ? readFileSync(caFile) : undefined;
  const rules = parseAcls(readFileSync(env.PFM_KAFKA_ACLS_FILE ?? join(__dirname, '..', '..', '..', 'infra', 'kafka', 'acls.txt'), 'utf8'));
  const users = principalsFromEnv(env);

  // The broker's port may answer before it takes logins: try until it does.
  const deadline = Date.now() + Number(env.PFM_KAFKA_SETUP_WAIT_MS ?? 180_000);
  for (let attempt = 1; ; attempt++) {
    try {
      await upsertScramCredentials({ broker: brokers[0]!, username: 'admin', password: adminPassword, ca }, users);
      break;
    } catch (e) {
      if (Date.now() > deadline) throw e;
      if (attempt === 1 || attempt % 10 === 0) log(`waiting for ${brokers[0]} (${(e as Error).message})`);
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
  for (const u of users) log(`SCRAM-SHA-512 credential for ${u.user}`);

  const adminEnv = { KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'admin', KAFKA_SASL_PASSWORD: adminPassword, ...(caFile ? { KAFKA_SSL_CA_FILE: caFile } : {}) };
  const admin = new Kafka(kafkaClientConfig({ brokers, clientId: 'pfm-kafka-setup', logLevel: logLevel.NOTHING }, adminEnv)).admin();
  await admin.connect();
  try {
    await grantAcls(admin, rules);
    log(`${rules.length} ACL rules of acls.txt in place`);
    if (opts.coordinator) await groupCoordinator(admin, deadline);
  } finally {
    await admin.disconnect();
  }
  return { users: users.map((u) => u.user), acls: rules.length };
}

async function groupCoordinator(admin: Admin, deadline: number): Promise<void> {
  for (;;) {
    const found = await admin.describeGroups(['pfm-kafka-setup-ready']).then((d) => d.groups.length === 1, (e: Error) => e);
    if (found === true) return;
    if (Date.now() > deadline) throw new Error(`the broker's group coordinator did not appear: ${found instanceof Error ? found.message : 'no answer'}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

if (require.main === module) {
  setupKafka().then(() => say('done'), (e: Error) => {
    process.stderr.write(`kafka-setup: ${e.message}\n`);
    process.exit(1);
  });
}
