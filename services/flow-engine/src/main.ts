// flow-engine: pfm.flow-events.v1 -> Redis state -> board updates, alerts, rejects.
import { hostname } from 'node:os';
import Redis from 'ioredis';
import { RejectKeys } from '@pfm/access';
import { commonEnv, loadConfig, serviceEnv } from '@pfm/config';
import { FlowStore, Keys, loadThresholds, WardRegistry } from '@pfm/flow-store';
import { connectKafka, exportConsumerLag, kafkaCheck, registryCheck } from '@pfm/kafka-runtime';
import { createLogger, errorCounter, exportDependencyChecks, initTracing, Metrics, onShutdown, startOpsServer } from '@pfm/observability';
import { engineTopics, EventTimeClock, WallClock, FlowEngine, Pager, pagerMetrics, Scanner } from '@pfm/flow-processing';
import { exportAlertGauges } from './alert-metrics';
import { watchRedis } from './redis-watchdog';

async function main(): Promise<void> {
  const config = loadConfig({ ...commonEnv, ...serviceEnv.engine });
  const logger = createLogger('flow-engine');
  const tracing = initTracing('flow-engine', { url: config.PFM_OTLP_TRACES_URL });
  const metrics = new Metrics('flow-engine');

  const redis = new Redis(config.REDIS_URL, { maxRetriesPerRequest: 3 });
  redis.on('error', errorCounter(metrics, 'pfm_redis_errors_total', 'Redis client errors, by class'));
  const watchdog = watchRedis(redis, { onRedial: () => logger.warn('Redis did not answer in 5 s: connecting again') });
  const thresholds = loadThresholds(config.PFM_THRESHOLDS_FILE);
  // What the engine cannot apply goes to the rejects and dead-letter topics whole: sealed at rest.
  const rejectKeys = RejectKeys.parse(config.PFM_REJECTS_KEYS);
  if (!rejectKeys && config.PFM_ENV === 'production') throw new Error('PFM_REJECTS_KEYS is required in production: events the engine rejects or sets aside are sealed at rest (<kid>:<base64 of 32 bytes>)');
  if (!rejectKeys) logger.warn('PFM_REJECTS_KEYS is not set: events the engine rejects or sets aside are stored in clear (development only)');
  const store = new FlowStore(redis, new Keys(config.PFM_KEY_PREFIX), WardRegistry.fromFile(config.PFM_WARDS_FILE), thresholds);

  const { kafka, producer, codec, topics: t } = await connectKafka({ brokers: config.KAFKA_BROKERS, clientId: 'pfm-flow-engine', registryUrl: config.SCHEMA_REGISTRY_URL, namespace: config.PFM_TOPIC_NAMESPACE, logger, metrics });
  const topics = engineTopics(t);

  const clock = config.PFM_CLOCK === 'event' ? new EventTimeClock() : new WallClock();
  const engine = new FlowEngine({ kafka, producer, codec, store, clock, logger, metrics, groupId: config.PFM_ENGINE_GROUP, outboxConsumer: `${config.PFM_ENGINE_INSTANCE ?? hostname()}/${config.PFM_ENGINE_GROUP}`, topics, publish: true, sealReject: rejectKeys && ((r) => rejectKeys.seal(r)), maxBatchBytes: config.PFM_ENGINE_MAX_BATCH_BYTES, boardWindowMs: config.PFM_BOARD_WINDOW_MS, sessionTimeoutMs: config.PFM_ENGINE_SESSION_TIMEOUT_MS });
  const scanner = new Scanner({ store, engine, clock, producer, codec, flowTopic: topics.flowEvents, logger, metrics, parkWaitMs: thresholds.parkMinutes * 60_000 });

  // Ops metrics read at scrape time: consumer lag from Kafka, dependencies, alerts in Redis.
  const opsAdmin = kafka.admin();
  await opsAdmin.connect();
  exportConsumerLag(metrics, opsAdmin, () => [{ groupId: config.PFM_ENGINE_GROUP, topics: [topics.flowEvents], fromBeginning: true }]);
  exportDependencyChecks(metrics, { kafka: kafkaCheck(opsAdmin), schema_registry: registryCheck(config.SCHEMA_REGISTRY_URL), redis: async () => ({ ok: (await redis.ping()) === 'PONG' }) });
  exportAlertGauges(metrics, store, clock);

  // Critical alerts page a person outside the product (the trust's paging service), at raise and at each escalation.
  const pager = config.PFM_PAGER_URL
    ? new Pager({ kafka, alertsTopic: topics.alerts, groupId: config.PFM_PAGER_GROUP, url: config.PFM_PAGER_URL, token: config.PFM_PAGER_TOKEN, boardUrl: config.PFM_BOARD_URL, logger, metrics })
    : undefined;
  if (!pager) {
    pagerMetrics(metrics);
    logger.warn('PFM_PAGER_URL is not set: Critical alerts reach the boards only and page nobody outside the product');
  }

  await engine.start();
  scanner.start(config.PFM_SCAN_INTERVAL_MS);
  await pager?.start();
  const ops = config.PFM_OPS_PORT !== undefined
    ? await startOpsServer({ port: config.PFM_OPS_PORT, host: config.PFM_BIND_HOST, metrics, logger, checks: { redis: async () => ({ ok: (await redis.ping()) === 'PONG' }) } })
    : undefined;
  logger.info({ group: config.PFM_ENGINE_GROUP, clock: clock.kind, prefix: config.PFM_KEY_PREFIX, traces: tracing.enabled }, 'flow-engine running');

  onShutdown(logger, [
    () => scanner.stop(),
    async () => { await pager?.stop(); },
    () => engine.stop(),
    () => producer.disconnect(),
    () => opsAdmin.disconnect(),
    async () => { watchdog.stop(); ops?.close(); redis.disconnect(); },
    () => tracing.shutdown(),
  ]);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
