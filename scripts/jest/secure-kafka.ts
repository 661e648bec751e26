// The secure test stacks' Kafka set-up (@pfm/testkit's SecureKafka): the product's own
// command for docker-compose.yml's kafka-setup (@pfm/kafka-runtime setup-cli.ts), in
// process: every principal of the stack's passwords file gets its SCRAM-SHA-512
// credential and infra/kafka/acls.txt is granted, as the admin over PLAIN on TLS. The
// native stack does the same with its Java tool (infra/kafka/kafka.sh), a JVM start
// of ~2 s a stack this saves.
//
// Then the broker's group coordinator is made to exist: a new broker creates its offsets
// topic on the first coordinator lookup and answers "coordinator not available" until it
// has, which a client that does not retry (a test of the ACLs) would take for the answer.
// A suite of its own stack then meets a broker as a running one is.
import { Kafka, logLevel } from 'kafkajs';
import { kafkaClientConfig } from '../../packages/kafka-runtime/src/client';
import { setupKafka } from '../../packages/kafka-runtime/src/setup-cli';
import { waitFor } from '../../packages/testkit/src/index';
import type { SecureKafka } from '../../packages/testkit/src/containers';

export const secureKafka: SecureKafka = async ({ brokers, caFile, passwords }) => {
  const env: NodeJS.ProcessEnv = { KAFKA_BROKERS: brokers, KAFKA_SSL_CA_FILE: caFile, PFM_KAFKA_SETUP_WAIT_MS: '120000' };
  for (const [user, password] of passwords) env[`PFM_KAFKA_PASSWORD_${user.toUpperCase()}`] = password;
  await setupKafka(env, () => undefined);

  const adminEnv = { KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'admin', KAFKA_SASL_PASSWORD: passwords.get('admin') ?? '', KAFKA_SSL_CA_FILE: caFile };
  const admin = new Kafka(kafkaClientConfig({ brokers: [brokers], clientId: 'pfm-test-stack', logLevel: logLevel.NOTHING, retry: { retries: 0 } }, adminEnv)).admin();
  await admin.connect();
  try {
    await waitFor(async () => {
      const { groups } = await admin.describeGroups(['pfm-test-stack-ready']);
      return groups.length === 1;
    }, { timeoutMs: 120_000, intervalMs: 200, what: "the test stack's group coordinator" });
  } finally {
    await admin.disconnect();
  }
};
