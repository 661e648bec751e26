// insights: pfm.flow-events.v1 + pfm.alerts.v1 -> the DuckDB warehouse (exactly once),
// and the analysts' read API over that same warehouse.
import { authFromSettings } from '@pfm/access';
import { accessEnv, loadConfig } from '@pfm/config';
import { createLogger, onShutdown } from '@pfm/observability';
import { buildInsightsApi } from './api';
import { loadInsightsConfig } from './config';
import { openInsights } from './context';
import { loadCatalogue, loadPopulation } from './measures';

async function main(): Promise<void> {
  const config = loadInsightsConfig();
  const auth = authFromSettings(loadConfig(accessEnv));
  const logger = createLogger('insights');
  const { warehouse, consumer } = await openInsights(config, logger);
  const api = buildInsightsApi({ warehouse, auth, logger, catalogue: loadCatalogue(config.PFM_MEASURES_FILE), population: loadPopulation(config.PFM_POPULATION_FILE) });
  await consumer.start();
  await api.listen({ port: config.PFM_INSIGHTS_PORT, host: config.PFM_BIND_HOST });
  const port = (api.server.address() as { port: number }).port;
  logger.info({ group: config.PFM_INSIGHTS_GROUP, db: config.PFM_INSIGHTS_DB, port }, 'insights running');
  onShutdown(logger, [() => api.close(), () => consumer.stop(), async () => warehouse.close()]);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
