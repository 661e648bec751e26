// pnpm tsx scripts/screenshots.ts: screenshots of every board view with realistic data,
// saved as docs/screenshots/*.png. The product runs on the real stack (source
// .stack/stack.env first); the simulator's synthetic trust (60 days of history, seed 42)
// goes through ingest like any sender; Debian's headless Chromium takes the pictures.
import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Alert, PatientRow } from '@pfm/contracts';
import { freePort, repoRoot, waitFor } from '@pfm/testkit';
import { boardUrl, ensureWebBuilt, launchBrowser, type Page } from '../tests/support/browser';
import { postInBatches, simulatedTrust } from '../tests/support/feed';
import { startProduct } from '../tests/support/stack';

const OUT = join(repoRoot, 'docs', 'screenshots');
const SEED = 42;
const DAYS = 60;
const WAIT = { timeout: 60_000 };
const log = (m: string) => process.stdout.write(`[screenshots] ${m}\n`);

/** Events the engine has processed, by any outcome (its Prometheus counter). */
async function processed(opsPort: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${opsPort}/metrics`)).text();
  let n = 0;
  for (const line of text.split('\n')) if (line.startsWith('pfm_engine_events_total{')) n += Number(line.slice(line.lastIndexOf(' ') + 1));
  return n;
}

const MAX_BYTES = 300 * 1024;

async function shoot(page: Page, name: string, clipHeight?: number): Promise<number> {
  const path = join(OUT, `${name}.png`);
  const width = page.viewportSize()!.width;
  await page.screenshot({ path, fullPage: clipHeight !== undefined, clip: clipHeight ? { x: 0, y: 0, width, height: clipHeight } : undefined, animations: 'disabled', caret: 'hide' });
  const size = statSync(path).size;
  log(`${path} (${Math.round(size / 1024)} KB)`);
  return size;
}

/** The site board down to the end of the last whole row of tiles that keeps the PNG small. */
async function shootSiteBoard(page: Page): Promise<void> {
  const bottoms = await page.locator('[data-testid^="ward-tile-"]').evaluateAll((els) => [...new Set(els.map((e) => Math.ceil(e.getBoundingClientRect().bottom + window.scrollY)))].sort((a, b) => a - b));
  for (let rows = bottoms.length; rows >= 1; rows--) {
    if ((await shoot(page, 'site-board', bottoms[rows - 1]! + 8)) <= MAX_BYTES) return;
  }
}

async function main(): Promise<void> {
  mkdirSync(OUT, { recursive: true });
  ensureWebBuilt();
  // History up to the start of this hour: the same events for a run within the hour.
  const { wards, events } = simulatedTrust({ seed: SEED, start: Math.floor(Date.now() / 3_600_000) * 3_600_000, days: DAYS });
  log(`simulated trust: ${wards.length} wards, ${events.length} events over ${DAYS} days`);
  const opsPort = await freePort();
  const p = await startProduct({ wards, extraEnv: { PFM_OPS_PORT: String(opsPort), PFM_SCAN_INTERVAL_MS: '1000' } });
  const browser = await launchBrowser({ viewport: { width: 1440, height: 900 } });
  try {
    await postInBatches(p.ingestUrl, events);
    await waitFor(async () => (await processed(opsPort)) >= events.length, { timeoutMs: 600_000, intervalMs: 500, what: 'the engine to process the history' });
    const token = await p.token({ sub: 'site.bed.manager' });
    const get = async <T>(path: string): Promise<T> => (await (await fetch(`${p.gatewayUrl}${path}`, { headers: { authorization: `Bearer ${token}` } })).json()) as T;
    const alerts = await waitFor(async () => { const a = await get<Alert[]>('/api/v1/alerts'); return a.length ? a : null; }, { timeoutMs: 60_000, what: 'alerts from the scanner' });
    log(`engine caught up; ${alerts.length} alerts`);

    // Site flow board.
    const page = await browser.page();
    await page.goto(boardUrl(p.gatewayUrl, token, '#/site'));
    await page.locator('[data-testid="connection"][data-state="live"]').waitFor(WAIT);
    await page.locator('[data-testid="site-pressure"][data-level]:not([data-level=""])').waitFor(WAIT);
    // A tile per local inpatient ward: units outside the trust and s136 suites are shown apart.
    const tiles = wards.filter((w) => !w.external && w.type !== 'place_of_safety').length;
    await waitFor(async () => (await page.locator('[data-testid^="ward-tile-"]').count()) >= tiles, { timeoutMs: 30_000, what: 'every local ward tile' });
    await shootSiteBoard(page);

    // Ward bed board of the fullest ward, with the timeline of its longest stay open.
    const summaries = await get<{ ward: string; occupied: number }[]>('/api/v1/wards');
    const ward = summaries.reduce((a, b) => (b.occupied > a.occupied ? b : a)).ward;
    const { patients } = await get<{ patients: PatientRow[] }>(`/api/v1/wards/${encodeURIComponent(ward)}`);
    const longest = patients.filter((x) => x.bed).reduce((a, b) => (b.losDays > a.losDays ? b : a));
    await page.goto(boardUrl(p.gatewayUrl, token, `#/ward/${ward}`));
    await page.locator('[data-testid="connection"][data-state="live"]').waitFor(WAIT);
    await page.getByTestId(`patient-${longest.patientId}`).click();
    await page.getByTestId('timeline-event').first().waitFor(WAIT);
    await page.evaluate(() => window.scrollTo(0, 0));
    await shoot(page, 'ward-board-timeline');
    await page.getByTestId('timeline-close').click();

    // Crisis alert feed, one alert acknowledged through the UI first.
    await page.goto(boardUrl(p.gatewayUrl, token, '#/alerts'));
    await page.locator('[data-testid="connection"][data-state="live"]').waitFor(WAIT);
    await page.getByTestId('alert-list').waitFor(WAIT);
    const button = page.locator('[data-testid^="ack-"]').filter({ hasText: /acknowledge/i }).nth(1);
    const id = (await button.getAttribute('data-testid'))!.slice('ack-'.length);
    await button.click();
    await page.locator(`[data-testid="alert-${id}"][data-ack-state="acknowledged"]`).waitFor(WAIT);
    await page.evaluate(() => window.scrollTo(0, 0));
    await shoot(page, 'alert-feed');

    // What an expired or forged link shows.
    const bad = await browser.page();
    await bad.goto(boardUrl(p.gatewayUrl, 'expired-or-forged'));
    await bad.getByTestId('auth-error').waitFor(WAIT);
    await shoot(bad, 'auth-error');
  } finally {
    await browser.close();
    await p.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
