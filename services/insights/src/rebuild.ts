// Rebuild: a new warehouse folded from the start of the log, swapped in for the old one
// once it has caught up. Refuses while the service holds the warehouse (stop it first).
import { existsSync, renameSync, rmSync } from 'node:fs';
import { DuckDBInstance } from '@duckdb/node-api';
import type { Logger } from '@pfm/observability';
import type { InsightsConfig } from './config';
import { openInsights } from './context';

export interface RebuildResult { events: number; alerts: number; ms: number; path: string }

async function assertNotInUse(path: string): Promise<void> {
  if (!existsSync(path)) return;
  try {
    const inst = await DuckDBInstance.create(path);
    inst.closeSync();
  } catch (e) {
    throw new Error(`the warehouse ${path} is in use (is the insights service running? stop it first): ${(e as Error).message.split('\n')[0]}`, { cause: e });
  }
}

export async function rebuildWarehouse(config: InsightsConfig, logger: Logger, opts: { groupSuffix?: string } = {}): Promise<RebuildResult> {
  const path = config.PFM_INSIGHTS_DB;
  await assertNotInUse(path);
  const tmp = `${path}.rebuild`;
  for (const f of [tmp, `${tmp}.wal`]) rmSync(f, { force: true });
  const t0 = Date.now();
  const { warehouse, consumer, producer } = await openInsights(config, logger, tmp, `${config.PFM_INSIGHTS_GROUP}-rebuild${opts.groupSuffix ?? ''}`);
  await producer.disconnect(); // a rebuild only reads
  try {
    await consumer.start();
    await consumer.untilCaughtUp();
    await consumer.stop();
  } finally {
    warehouse.close();
  }
  // The old file's write-ahead log (left by a crash) must not be replayed onto the new file.
  rmSync(`${path}.wal`, { force: true });
  renameSync(tmp, path);
  return { events: consumer.stats.events, alerts: consumer.stats.alerts, ms: Date.now() - t0, path };
}
