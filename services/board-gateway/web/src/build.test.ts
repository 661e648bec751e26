// The build a trust deploys publishes no sourcemaps (they would hand out the app's source);
// PFM_WEB_SOURCEMAPS=1 turns them on for debugging only. Reads vite.config.ts the way
// `vite build` does. Run with `pnpm --filter @pfm/board-web test`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { loadConfigFromFile } from 'vite';

const configFile = fileURLToPath(new URL('../vite.config.ts', import.meta.url));
const sourcemapWith = async (value: string | undefined) => {
  const before = process.env.PFM_WEB_SOURCEMAPS;
  if (value === undefined) delete process.env.PFM_WEB_SOURCEMAPS;
  else process.env.PFM_WEB_SOURCEMAPS = value;
  try {
    const loaded = await loadConfigFromFile({ command: 'build', mode: 'production' }, configFile, undefined, 'silent');
    return loaded?.config.build?.sourcemap;
  } finally {
    if (before === undefined) delete process.env.PFM_WEB_SOURCEMAPS;
    else process.env.PFM_WEB_SOURCEMAPS = before;
  }
};

test('the production build has no sourcemaps unless PFM_WEB_SOURCEMAPS=1', async () => {
  assert.equal(await sourcemapWith(undefined), false);
  assert.equal(await sourcemapWith('true'), false);
  assert.equal(await sourcemapWith('1'), true);
});
