// Jest global tear-down: removes the project's stack stack-setup.ts started (if any) and
// every worker's stack the workers noted (suite-stack-env.ts), also those of a worker
// that died.
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { removeStack } from '../../packages/testkit/src/containers';

export default async function teardown(): Promise<void> {
  const stack = globalThis.pfmTestStack;
  globalThis.pfmTestStack = undefined;
  await stack?.stop();
  const dir = process.env.PFM_WORKER_STACKS_DIR;
  if (!dir) return;
  const noted = readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as { id: string; securityDir?: string });
  await Promise.all(noted.map((s) => removeStack(s.id, s.securityDir)));
  rmSync(dir, { recursive: true, force: true });
  delete process.env.PFM_WORKER_STACKS_DIR;
}
