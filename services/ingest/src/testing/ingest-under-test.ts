// Ingest in-process on the real stack for integration tests and the benchmark: its own
// topic namespace, ephemeral ports, its log kept in memory (printed too with
// PFM_TEST_LOG_LEVEL); stop() closes it and deletes its topics. A start that fails or takes
// longer than PFM_TEST_START_TIMEOUT_MS (90 s) fails with ingest's last log lines.
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { kafkaClientConfig } from '@pfm/kafka-runtime';
import { createLogger } from '@pfm/observability';
import { LogTail, requireStack, startWithin, uniqueName } from '@pfm/testkit';
import { loadIngestConfig, type IngestConfig } from '../config';
import { startIngest, type IngestService } from '../service';
import { testAccess, TEST_JWT_SECRET, type TestAccess } from './access';

export interface IngestUnderTest {
  ingest: IngestService;
  config: IngestConfig;
  kafka: Kafka;
  registryUrl: string;
  /** Ingest's log lines (warnings and errors, or PFM_TEST_LOG_LEVEL and above), the last 500. */
  log: LogTail;
  /** The test sender's key and an ops token maker (see testing/access.ts). */
  access: TestAccess;
  stop(opts?: { keepTopics?: boolean }): Promise<void>;
}

export async function startTestIngest(env: Record<string, string> = {}, label = 'ingest'): Promise<IngestUnderTest> {
  const stack = await requireStack();
  const access = testAccess();
  const config = loadIngestConfig({
    PFM_SENDERS_FILE: access.file, PFM_JWT_SECRET: TEST_JWT_SECRET,
    KAFKA_BROKERS: stack.kafkaBrokers.join(','), SCHEMA_REGISTRY_URL: stack.schemaRegistryUrl,
    PFM_TOPIC_NAMESPACE: uniqueName(label), PFM_TOPIC_PARTITIONS: '3', PFM_INGEST_HTTP_PORT: '0', PFM_MLLP_PORT: '0',
    PFM_WARDS_FILE: join(__dirname, '..', '..', '..', '..', 'config', 'wards.json'),
    ...env,
  });
  const level = process.env.PFM_TEST_LOG_LEVEL;
  const log = new LogTail(500, level ? (line) => process.stdout.write(`${line}\n`) : undefined);
  const logger = createLogger('ingest-test', log);
  logger.level = level ?? 'warn';
  const ingest = await startWithin(`ingest (${config.PFM_TOPIC_NAMESPACE})`, startIngest(config, { logger }), { tail: () => log.tail(), late: (i) => i.close() });
  const kafka = new Kafka(kafkaClientConfig({ brokers: config.KAFKA_BROKERS, clientId: `${config.PFM_TOPIC_NAMESPACE}-test`, logLevel: logLevel.NOTHING }));
  return {
    ingest, config, kafka, registryUrl: config.SCHEMA_REGISTRY_URL, access, log,
    stop: async (opts = {}) => {
      await ingest.close();
      if (opts.keepTopics) return;
      const admin = kafka.admin();
      await admin.connect();
      await admin.deleteTopics({ topics: Object.values(ingest.topics) }).catch(() => undefined);
      await admin.disconnect();
    },
  };
}
