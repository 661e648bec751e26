// insights: pfm.flow-events.v1 + pfm.alerts.v1 -> the DuckDB warehouse (exactly once),
// and the analysts' API over that same warehouse (which also puts improvement notes on the log). With PFM_OPS_PORT: /healthz,
// /readyz (Kafka and the warehouse answer) and /metrics (consumer lag, dependencies).
import { authFromSettings } from '@pfm/access';
import { accessEnv, loadConfig } from '@pfm/config';
import { exportConsumerLag, kafkaCheck, registryCheck } from '@pfm/kafka-runtime';
import { createLogger, exportDependencyChecks, Metrics, onShutdown, startOpsServer } from '@pfm/observability';
import { buildInsightsApi } from './api';
import { loadInsightsConfig } from './config';
import { openInsights } from './context';
import { loadCatalogue, loadPopulation } from './measures';
import { LocalAreas } from './pseudonym';

async function main(): Promise<void> {
  const config = loadInsightsConfig();
  const auth = authFromSettings(loadConfig(accessEnv));
  const logger = createLogger('insights');
  const metrics = new Metrics('insights');
  const { warehouse, consumer, kafka, topics, producer, sendNote } = await openInsights(config, logger, config.PFM_INSIGHTS_DB, config.PFM_INSIGHTS_GROUP, metrics);
  const api = buildInsightsApi({
    warehouse, auth, logger, sendNote, catalogue: loadCatalogue(config.PFM_MEASURES_FILE), population: loadPopulation(config.PFM_POPULATION_FILE, LocalAreas.fromFile(config.PFM_LOCAL_AREAS_FILE, config.PFM_INSIGHTS_AREA_LEVEL)),
    suppressBelow: config.PFM_INSIGHTS_SUPPRESS_BELOW,
  });

  // Ops metrics read at scrape time. The group commits to Kafka after each warehouse
  // transaction, so its committed offsets (and this lag) trail the warehouse's own record.
  const opsAdmin = kafka.admin();
  await opsAdmin.connect();
  exportConsumerLag(metrics, opsAdmin, () => [{ groupId: config.PFM_INSIGHTS_GROUP, topics: [topics.flowEvents, topics.alerts], fromBeginning: true }]);
  const warehouseCheck = async () => ({ ok: (await warehouse.rows('select 1 as ok')).length === 1 });
  exportDependencyChecks(metrics, { kafka: kafkaCheck(opsAdmin), schema_registry: registryCheck(config.SCHEMA_REGISTRY_URL), warehouse: warehouseCheck });

  await consumer.start();
  await api.listen({ port: config.PFM_INSIGHTS_PORT, host: config.PFM_BIND_HOST });
  const port = (api.server.address() as { port: number }).port;
  const ops = config.PFM_OPS_PORT !== undefined
    ? await startOpsServer({ port: config.PFM_OPS_PORT, host: config.PFM_BIND_HOST, metrics, logger, checks: { kafka: kafkaCheck(opsAdmin), warehouse: warehouseCheck } })
    : undefined;
  logger.info({ group: config.PFM_INSIGHTS_GROUP, db: config.PFM_INSIGHTS_DB, port, ops: config.PFM_OPS_PORT }, 'insights running');
  onShutdown(logger, [() => api.close(), () => consumer.stop(), () => producer.disconnect(), () => opsAdmin.disconnect(), async () => { ops?.close(); }, async () => warehouse.close()]);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
