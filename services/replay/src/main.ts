// replay service: the HTTP API over the same operations as the CLI (pfm replay).
import { authFromSettings } from '@pfm/access';
import { accessEnv, commonEnv, loadConfig, snapshotEnv } from '@pfm/config';
import { SnapshotKeeper } from '@pfm/flow-processing';
import { z } from 'zod';
import { onShutdown } from '@pfm/observability';
import { buildApi } from './api';
import { openContext } from './context';

async function main(): Promise<void> {
  const config = loadConfig({
    ...commonEnv, ...accessEnv, ...snapshotEnv,
    PFM_REPLAY_PORT: z.coerce.number().int().min(0).max(65535).default(3100),
    /** Replays the API runs at once (each reads the whole flow log). */
    PFM_REPLAY_MAX_CONCURRENT: z.coerce.number().int().min(1).max(16).default(2),
    /** Requests a minute from one client address before 429. */
    PFM_REPLAY_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).default(120),
  });
  const auth = authFromSettings(config);
  const ctx = await openContext();
  // The CLI keeps its log quiet; the service logs at info (snapshot progress, audit lines).
  ctx.logger.level = process.env.PFM_LOG_LEVEL ?? 'info';
  const app = buildApi(ctx, { auth, maxConcurrent: config.PFM_REPLAY_MAX_CONCURRENT, rateLimitPerMinute: config.PFM_REPLAY_RATE_LIMIT_PER_MINUTE });
  await app.listen({ port: config.PFM_REPLAY_PORT, host: config.PFM_BIND_HOST });
  ctx.logger.info({ port: config.PFM_REPLAY_PORT }, 'replay API listening');
  // Keeps time-travel snapshots up to date with the log (one builder at a time across processes).
  const keeper = new SnapshotKeeper({ ...ctx, intervalMs: config.PFM_SNAPSHOT_INTERVAL_MS, everyEvents: config.PFM_SNAPSHOT_EVERY_EVENTS });
  keeper.start();
  onShutdown(ctx.logger, [() => keeper.stop(), () => app.close(), () => ctx.close()]);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
