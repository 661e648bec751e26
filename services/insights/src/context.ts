// Wiring shared by the service and the CLI: config -> warehouse, row context, Kafka.
import { WardRegistry, loadThresholds } from '@pfm/flow-store';
import type { FlowEvent } from '@pfm/contracts';
import { connectKafka, sendFlowEvents } from '@pfm/kafka-runtime';
import type { Logger, Metrics } from '@pfm/observability';
import type { InsightsConfig } from './config';
import { InsightsConsumer } from './consumer';
import { LocalAreas, Pseudonymiser } from './pseudonym';
import type { RowContext } from './rows';
import { Warehouse } from './warehouse';

export function rowContext(config: InsightsConfig): { ctx: RowContext; registry: WardRegistry } {
  const thresholds = loadThresholds(config.PFM_THRESHOLDS_FILE);
  const registry = WardRegistry.fromFile(config.PFM_WARDS_FILE);
  const ctx: RowContext = {
    thresholds, wardType: (site, ward) => registry.typeOf(site, ward),
    pseudo: new Pseudonymiser(config.PFM_INSIGHTS_SECRET), areas: LocalAreas.fromFile(config.PFM_LOCAL_AREAS_FILE, config.PFM_INSIGHTS_AREA_LEVEL),
  };
  return { ctx, registry };
}

/** `metrics`: count the Kafka client's errors (producer, consumer, admin) by class. */
export async function openInsights(config: InsightsConfig, logger: Logger, dbPath: string = config.PFM_INSIGHTS_DB, groupId: string = config.PFM_INSIGHTS_GROUP, metrics?: Metrics) {
  const { ctx, registry } = rowContext(config);
  const warehouse = await Warehouse.open(dbPath, { wards: registry.wards(), thresholds: ctx.thresholds });
  try {
    const { kafka, producer, codec, topics } = await connectKafka({ brokers: config.KAFKA_BROKERS, clientId: 'pfm-insights', registryUrl: config.SCHEMA_REGISTRY_URL, namespace: config.PFM_TOPIC_NAMESPACE, logger, metrics });
    // The producer writes improvement notes (the API); callers that do not serve it disconnect it.
    const consumer = new InsightsConsumer({ kafka, codec, warehouse, ctx, logger, groupId, topics: { flowEvents: topics.flowEvents, alerts: topics.alerts }, maxBatchBytes: config.PFM_INSIGHTS_MAX_BATCH_BYTES, concurrentPartitions: config.PFM_INSIGHTS_CONCURRENT_PARTITIONS });
    const sendNote = (e: FlowEvent) => sendFlowEvents(producer, codec, [e], topics.flowEvents);
    return { warehouse, consumer, ctx, kafka, topics, producer, sendNote };
  } catch (e) {
    warehouse.close();
    throw e;
  }
}
