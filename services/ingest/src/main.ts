// ingest: HTTP (JSON, FHIR R4) and HL7 v2 over MLLP -> pfm.flow-events.v1; rejects -> pfm.ingest-rejects.v1.
import { topicsFor } from '@pfm/contracts';
import { commonEnv, loadConfig, serviceEnv } from '@pfm/config';
import { createKafka, createProducer, ensureTopics, FlowEventCodec } from '@pfm/kafka-runtime';
import { createLogger, Metrics, onShutdown } from '@pfm/observability';
import { buildHttpApp } from './http';
import { Publisher } from './publisher';

async function main(): Promise<void> {
  const config = loadConfig({ ...commonEnv, ...serviceEnv.ingest });
  const logger = createLogger('ingest');
  const metrics = new Metrics('ingest');

  const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: 'pfm-ingest', logger });
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin);
  await admin.disconnect();
  const topics = topicsFor(config.PFM_TOPIC_NAMESPACE);
  const codec = new FlowEventCodec(config.SCHEMA_REGISTRY_URL, `${topics.flowEvents}-value`);
  await codec.init();
  const producer = createProducer(kafka);
  await producer.connect();
  const publisher = new Publisher(producer, codec, logger, metrics, { flowEvents: topics.flowEvents, rejects: topics.ingestRejects });

  const app = buildHttpApp({ publisher, logger, maxBatch: config.PFM_MAX_BATCH, maxBodyBytes: config.PFM_MAX_BODY_BYTES });
  app.get('/metrics', async (_req, reply) => reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()));
  await app.listen({ port: config.PFM_INGEST_HTTP_PORT, host: '127.0.0.1' });
  logger.info({ http: config.PFM_INGEST_HTTP_PORT }, 'ingest listening');

  onShutdown(logger, [() => app.close(), () => producer.disconnect()]);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
