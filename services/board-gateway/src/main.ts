// board-gateway: REST + socket.io + web app for the live boards.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import Redis from 'ioredis';
import { authFromSettings } from '@pfm/access';
import { z } from 'zod';
import { accessEnv, commonEnv, loadConfig, serviceEnv, snapshotEnv } from '@pfm/config';
import { SnapshotKeeper } from '@pfm/flow-processing';
import { FlowStore, Keys, loadThresholds, WardRegistry } from '@pfm/flow-store';
import { connectKafka, exportConsumerLag, kafkaCheck } from '@pfm/kafka-runtime';
import { createLogger, errorCounter, exportDependencyChecks, initTracing, Metrics, onShutdown } from '@pfm/observability';
import { Gateway } from './gateway';

async function main(): Promise<void> {
  // Time-travel snapshots are taken by the replay service; a gateway takes them only when told to (no replay service).
  const config = loadConfig({ ...commonEnv, ...serviceEnv.gateway, ...accessEnv, ...snapshotEnv, PFM_SNAPSHOT_INTERVAL_MS: z.coerce.number().int().min(0).default(0) });
  const logger = createLogger('board-gateway');
  const tracing = initTracing('board-gateway', { url: config.PFM_OTLP_TRACES_URL });
  const metrics = new Metrics('board-gateway');
  // No keys, or a shared secret in production: refuse to start (never a random secret).
  const auth = authFromSettings(config);

  const redis = new Redis(config.REDIS_URL, { maxRetriesPerRequest: 3 });
  redis.on('error', errorCounter(metrics, 'pfm_redis_errors_total', 'Redis client errors, by class'));
  const store = new FlowStore(redis, new Keys(config.PFM_KEY_PREFIX), WardRegistry.fromFile(config.PFM_WARDS_FILE), loadThresholds(config.PFM_THRESHOLDS_FILE));
  const { kafka, producer, codec, topics } = await connectKafka({ brokers: config.KAFKA_BROKERS, clientId: 'pfm-board-gateway', registryUrl: config.SCHEMA_REGISTRY_URL, namespace: config.PFM_TOPIC_NAMESPACE, logger, metrics });

  const gateway = new Gateway({ store, kafka, producer, codec, auth, logger, metrics, clock: config.PFM_CLOCK === 'event' ? 'engine' : 'wall', topics: { flowEvents: topics.flowEvents, boardUpdates: topics.boardUpdates, alerts: topics.alerts }, rateLimitPerMinute: config.PFM_GATEWAY_RATE_LIMIT_PER_MINUTE, idleTimeoutMs: config.PFM_GATEWAY_IDLE_TIMEOUT_MS, maxSocketsPerUser: config.PFM_GATEWAY_MAX_SOCKETS_PER_USER, maxSocketsPerAddress: config.PFM_GATEWAY_MAX_SOCKETS_PER_ADDRESS, insightsUrl: config.PFM_INSIGHTS_URL || undefined });
  // Each instance has its own group (it must see every update), named here so its lag can be read.
  const group = config.PFM_GATEWAY_GROUP ?? `pfm-gateway-${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const opsAdmin = kafka.admin();
  await opsAdmin.connect();
  exportConsumerLag(metrics, opsAdmin, () => [{ groupId: group, topics: [topics.boardUpdates, topics.alerts], fromBeginning: false }]);
  exportDependencyChecks(metrics, { kafka: kafkaCheck(opsAdmin), redis: async () => ({ ok: (await redis.ping()) === 'PONG' }) });
  await gateway.startFeed(group);
  const port = await gateway.listen(config.PFM_GATEWAY_PORT, config.PFM_BIND_HOST);
  logger.info({ port, traces: tracing.enabled }, 'board-gateway listening');
  const keeper = new SnapshotKeeper({ kafka, redis, producer, codec, logger, snapshots: gateway.snapshots, intervalMs: config.PFM_SNAPSHOT_INTERVAL_MS, everyEvents: config.PFM_SNAPSHOT_EVERY_EVENTS });
  keeper.start();

  onShutdown(logger, [() => keeper.stop(), () => gateway.close(), () => producer.disconnect(), () => opsAdmin.disconnect(), async () => { redis.disconnect(); }, () => tracing.shutdown()]);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
