// A real browser for the board tests and screenshots: Debian's headless Chromium driven by
// playwright-core (no browser download), with a fresh profile each launch.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export type { Page };
import { repoRoot } from '@pfm/testkit';

export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

export const chromiumPath = (): string => process.env.PFM_CHROMIUM || '/usr/bin/chromium';

export interface BoardBrowser {
  context: BrowserContext;
  /** A new tab (its own sessionStorage, so its own board token). */
  page(): Promise<Page>;
  close(): Promise<void>;
}

export async function launchBrowser(opts: { viewport?: { width: number; height: number }; deviceScaleFactor?: number; colorScheme?: 'dark' | 'light' } = {}): Promise<BoardBrowser> {
  const exe = chromiumPath();
  if (!existsSync(exe)) throw new Error(`No Chromium at ${exe}: install Debian's 'chromium' package (./pfm test does) or set PFM_CHROMIUM`);
  const profile = mkdtempSync(join(tmpdir(), 'pfm-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: exe, headless: true, args: CHROMIUM_ARGS, viewport: opts.viewport ?? { width: 1440, height: 900 },
    deviceScaleFactor: opts.deviceScaleFactor ?? 1, colorScheme: opts.colorScheme ?? 'dark', locale: 'en-GB', timezoneId: 'Europe/London',
  });
  return {
    context,
    page: () => context.newPage(),
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

const WEB = join(repoRoot, 'services', 'board-gateway', 'web');

function newest(dir: string): number {
  let t = 0;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const s = statSync(p);
    t = Math.max(t, s.isDirectory() ? newest(p) : s.mtimeMs);
  }
  return t;
}

/**
 * The gateway serves the built web app (web/dist). `pnpm build:web` builds it (the
 * check script runs it before the tests); this builds it when it is missing or older
 * than its sources, so a test run on its own still tests the current app.
 */
export function ensureWebBuilt(): void {
  const index = join(WEB, 'dist', 'index.html');
  if (existsSync(index) && statSync(index).mtimeMs >= Math.max(newest(join(WEB, 'src')), statSync(join(WEB, 'index.html')).mtimeMs)) return;
  execFileSync(join(WEB, 'node_modules', '.bin', 'vite'), ['build', '--logLevel', 'warn'], { cwd: WEB, stdio: 'inherit' });
}

/** The board URL for a token, in the fragment as the product's links carry it (the app moves it into sessionStorage at once). */
export const boardUrl = (gatewayUrl: string, token: string, route = '#/site'): string => `${gatewayUrl}/${route}${route.includes('?') ? '&' : '?'}token=${encodeURIComponent(token)}`;
