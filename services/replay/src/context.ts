// Connections and settings the replay tools share (CLI and HTTP API).
import Redis from 'ioredis';
import { topicsFor } from '@pfm/contracts';
import { commonEnv, loadConfig } from '@pfm/config';
import { FlowStore, Keys, loadThresholds, WardRegistry } from '@pfm/flow-store';
import { createKafka, createProducer, FlowEventCodec } from '@pfm/kafka-runtime';
import { createLogger } from '@pfm/observability';
import { SnapshotStore, type ReplayDeps } from '@pfm/flow-processing';

export interface ReplayContext extends ReplayDeps {
  live: FlowStore;
  topic: string;
  /** Time-travel snapshots of the live log under the live rules (see @pfm/flow-processing snapshots). */
  snapshots: SnapshotStore;
  thresholdsFile?: string;
  close(): Promise<void>;
}

export async function openContext(): Promise<ReplayContext> {
  const config = loadConfig(commonEnv);
  const logger = createLogger('replay');
  if (!process.env.PFM_LOG_LEVEL) logger.level = 'warn';
  const redis = new Redis(config.REDIS_URL, { maxRetriesPerRequest: 3 });
  const registry = WardRegistry.fromFile(config.PFM_WARDS_FILE);
  const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: 'pfm-replay', logger });
  const topic = topicsFor(config.PFM_TOPIC_NAMESPACE).flowEvents;
  const codec = new FlowEventCodec(config.SCHEMA_REGISTRY_URL, `${topic}-value`);
  await codec.init();
  const producer = createProducer(kafka);
  await producer.connect();
  const live = new FlowStore(redis, new Keys(config.PFM_KEY_PREFIX), registry, loadThresholds(config.PFM_THRESHOLDS_FILE));
  const snapshots = new SnapshotStore(redis, SnapshotStore.prefixFor(config.PFM_KEY_PREFIX), topic, live.thresholds, registry);
  return {
    kafka, redis, producer, codec, registry, logger, live, topic, snapshots, thresholdsFile: config.PFM_THRESHOLDS_FILE,
    close: async () => { await producer.disconnect(); redis.disconnect(); },
  };
}
