// insights: pfm.flow-events.v1 + pfm.alerts.v1 -> the DuckDB warehouse (exactly once).
import { createLogger, onShutdown } from '@pfm/observability';
import { loadInsightsConfig } from './config';
import { openInsights } from './context';

async function main(): Promise<void> {
  const config = loadInsightsConfig();
  const logger = createLogger('insights');
  const { warehouse, consumer } = await openInsights(config, logger);
  await consumer.start();
  logger.info({ group: config.PFM_INSIGHTS_GROUP, db: config.PFM_INSIGHTS_DB }, 'insights running');
  onShutdown(logger, [() => consumer.stop(), async () => warehouse.close()]);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
