// Jest global tear-down: removes the project's stack stack-setup.ts started (if any), a
// spare stack still on its way (in band), and every stack the workers noted
// (suite-stack-env.ts: a worker's stack, a spare), also those of a worker that died.
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { removeStack } from '../../packages/testkit/src/containers';
import { settleSpare } from './suite-stack-env';

export default async function teardown(): Promise<void> {
  const stack = globalThis.pfmTestStack;
  globalThis.pfmTestStack = undefined;
  await stack?.stop();
  await settleSpare();
  const dir = process.env.PFM_WORKER_STACKS_DIR;
  if (!dir) return;
  const noted = readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as { id: string; securityDir?: string });
  await Promise.all(noted.map((s) => removeStack(s.id, s.securityDir)));
  rmSync(dir, { recursive: true, force: true });
  delete process.env.PFM_WORKER_STACKS_DIR;
}
