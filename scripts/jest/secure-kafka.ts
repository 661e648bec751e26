// The secure test stacks' Kafka set-up (@pfm/testkit's SecureKafka): the product's own
// command for docker-compose.yml's kafka-setup (@pfm/kafka-runtime setup-cli.ts), in
// process: every principal of the stack's passwords file gets its SCRAM-SHA-512
// credential and infra/kafka/acls.txt is granted, as the admin over PLAIN on TLS; then it
// waits, on the same connection, for the broker's group coordinator to exist, so that a
// suite meets a broker as a running one is. The native stack does the same with its Java
// tool (infra/kafka/kafka.sh), a JVM start of ~2 s a stack this saves.
import { setupKafka } from '../../packages/kafka-runtime/src/setup-cli';
import type { SecureKafka } from '../../packages/testkit/src/containers';

export const secureKafka: SecureKafka = async ({ brokers, caFile, passwords }) => {
  const env: NodeJS.ProcessEnv = { KAFKA_BROKERS: brokers, KAFKA_SSL_CA_FILE: caFile, PFM_KAFKA_SETUP_WAIT_MS: '120000' };
  for (const [user, password] of passwords) env[`PFM_KAFKA_PASSWORD_${user.toUpperCase()}`] = password;
  await setupKafka(env, () => undefined, { coordinator: true });
};
