// replay service: the HTTP API over the same operations as the CLI (pfm replay).
import { commonEnv, loadConfig } from '@pfm/config';
import { z } from 'zod';
import { onShutdown } from '@pfm/observability';
import { buildApi } from './api';
import { openContext } from './context';

async function main(): Promise<void> {
  const config = loadConfig({ ...commonEnv, PFM_REPLAY_PORT: z.coerce.number().int().min(0).max(65535).default(3100) });
  const ctx = await openContext();
  const app = buildApi(ctx);
  await app.listen({ port: config.PFM_REPLAY_PORT, host: config.PFM_BIND_HOST });
  ctx.logger.info({ port: config.PFM_REPLAY_PORT }, 'replay API listening');
  onShutdown(ctx.logger, [() => app.close(), () => ctx.close()]);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
