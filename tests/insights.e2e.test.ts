// The Insights and equity views in a real browser (Debian's headless Chromium via
// playwright-core): the page -> board-gateway (a real process, which passes
// /api/v1/insights/* on with the reader's token) -> the insights read API over a small
// DuckDB warehouse seeded directly (tests/support/insights-seed.ts); and the monthly
// board report printed to PDF from the same page (scripts/report.ts, read back with
// pdftotext). With PFM_SCREENSHOTS=1 it also saves docs/screenshots/insights.png,
// equity.png and report-page1.png.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Download, Page } from 'playwright-core';
import { Auth, type ClaimsInput } from '@pfm/access';
import { freePort, httpReady, repoRoot, requireStack, startService, uniqueName, type RunningService } from '@pfm/testkit';
import { boardUrl, ensureWebBuilt, launchBrowser, type BoardBrowser } from './support/browser';
import { INSIGHTS_WARDS, startSeededInsights, STEP_DATE, type SeededInsights } from './support/insights-seed';
import { SECRET } from './support/stack';
import { renderReport } from '../scripts/report';

const WAIT = { timeout: 15_000 };
const bytesOf = async (d: Download): Promise<Buffer> => Buffer.concat((await (await d.createReadStream()).toArray()) as Buffer[]);
const SHOTS = process.env.PFM_SCREENSHOTS === '1';

describe('insights in a real browser', () => {
  let insights: SeededInsights;
  let gateway: RunningService | undefined;
  let browser: BoardBrowser;
  const p = { gatewayUrl: '', token: (c: Partial<ClaimsInput>) => new Auth(SECRET).issue({ sub: 'e2e', role: 'analyst', sites: ['RXT'], ...c } as ClaimsInput) };

  beforeAll(async () => {
    ensureWebBuilt();
    const stack = await requireStack();
    insights = await startSeededInsights(SECRET);
    // Only the gateway is needed (it serves the app and passes insights reads on).
    const ns = uniqueName('insights-e2e');
    const dir = mkdtempSync(join(tmpdir(), 'pfm-insights-e2e-'));
    writeFileSync(join(dir, 'wards.json'), JSON.stringify(INSIGHTS_WARDS));
    const port = await freePort();
    p.gatewayUrl = `http://127.0.0.1:${port}`;
    gateway = await startService('board-gateway', {
      KAFKA_BROKERS: stack.kafkaBrokers.join(','), SCHEMA_REGISTRY_URL: stack.schemaRegistryUrl, REDIS_URL: stack.redisUrl,
      PFM_TOPIC_NAMESPACE: ns, PFM_TOPIC_PARTITIONS: '1', PFM_KEY_PREFIX: ns.replace(/-/g, '_'), PFM_WARDS_FILE: join(dir, 'wards.json'),
      PFM_GATEWAY_PORT: String(port), PFM_JWT_SECRET: SECRET, PFM_INSIGHTS_URL: insights.url,
    }, httpReady(`${p.gatewayUrl}/healthz`));
    browser = await launchBrowser({ viewport: { width: 1440, height: 1000 }, colorScheme: 'light' });
  });
  afterAll(async () => {
    await browser?.close();
    await gateway?.stop();
    await insights?.close();
  });

  const analyst = () => p.token({ sub: 'analyst-e2e', role: 'analyst' });
  const open = async (token: string, route: string): Promise<Page> => {
    const page = await browser.page();
    await page.goto(boardUrl(p.gatewayUrl, token, route));
    return page;
  };

  it('an analyst picks a measure and a segmentation and sees SPC charts with their icons, the table and a CSV download', async () => {
    const page = await open(await analyst(), '#/insights');
    await page.getByTestId('measure-picker').waitFor(WAIT);
    await page.getByLabel('Measure', { exact: true }).selectOption('admissions');
    await page.getByLabel('Segment by').selectOption('ward');
    const oak = page.locator('[data-testid="spc-chart"][data-segment="OAK"]');
    await oak.waitFor(WAIT);
    expect(await page.locator('[data-testid="spc-chart"]').evaluateAll((els) => els.map((e) => e.getAttribute('data-segment')).sort())).toEqual(['ELM', 'OAK']);
    // Oak's step up from week 8: special cause (admissions: neither direction is better), high.
    expect(await oak.getByTestId('variation-icon').getAttribute('data-icon')).toBe('neutral_high');
    expect(await oak.locator('circle[data-point-type="special_cause_neutral_high"]').count()).toBeGreaterThan(0);
    expect(await page.locator('[data-testid="spc-chart"][data-segment="ELM"] [data-testid="variation-icon"]').getAttribute('data-icon')).toBe('common_cause');
    // The address keeps the choice (shareable) and never the token.
    expect(page.url()).toContain('#/insights?measure=admissions&period=week&by=ward');
    expect(page.url()).not.toContain('token=');
    // Small multiples share their axes: the same y ticks on both panels.
    const yTicks = (seg: string) => page.locator(`[data-testid="spc-chart"][data-segment="${seg}"] g.y-tick > text`).allTextContents();
    expect(await yTicks('ELM')).toEqual(await yTicks('OAK'));
    // The table: numerators per ward and week.
    const table = page.getByTestId('series-table');
    expect(await table.locator('tbody tr').count()).toBe(32);
    await expect(table.locator('tbody tr', { hasText: 'OAK' }).first().locator('td').nth(1).textContent()).resolves.toBe('5');
    const [csv] = await Promise.all([page.waitForEvent('download'), page.getByTestId('download-csv').click()]);
    expect(csv.suggestedFilename()).toBe('admissions-week-by-ward.csv');
    const [png] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'PNG of the OAK chart' }).click()]);
    expect(png.suggestedFilename()).toBe('admissions-OAK.png');
    expect((await bytesOf(png)).subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
    const [svg] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'SVG of the OAK chart' }).click()]);
    expect(svg.suggestedFilename()).toBe('admissions-OAK.svg');
    const svgText = (await bytesOf(svg)).toString('utf8');
    expect(svgText).toMatch(/^<\?xml [^>]*\?>\n<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    expect(svgText).toContain('data-icon="neutral_high"');
    // For screen readers each chart is an image named by its title and described in words.
    await expect(page.getByRole('img', { name: /^OAK .*Special cause variation, higher/ }).count()).resolves.toBe(1);
    if (SHOTS) await page.screenshot({ path: join(repoRoot, 'docs', 'screenshots', 'insights.png'), fullPage: false, animations: 'disabled', caret: 'hide' });
    // A measure with a target: the target line and the assurance icon, in words beside the chart.
    await page.getByLabel('Measure', { exact: true }).selectOption('occupancy_incl_leave');
    await page.locator('[data-testid="spc-chart"][data-segment="OAK"] [data-testid="target-line"]').waitFor({ ...WAIT, state: 'attached' });
    expect(await page.locator('[data-testid="spc-chart"][data-segment="OAK"] [data-testid="assurance-icon"]').count()).toBe(1);
    await expect(page.getByTestId('assurance-text').first().textContent()).resolves.toMatch(/The target (will consistently be (met|missed)|may or may not be met)/);
    await page.close();
  });

  it('draws improvement notes at their dates and rebases the chart at one (notes from the agreed contract)', async () => {
    const page = await browser.page();
    const asked: string[] = [];
    page.on('request', (r) => { if (r.url().includes('/api/v1/insights/series')) asked.push(r.url()); });
    await page.route('**/api/v1/insights/improvements?*', (route) => route.fulfill({
      status: 200, contentType: 'application/json',
      body: JSON.stringify({ notes: [{ noteId: 'n1', title: 'Second admissions nurse on Oak', site: 'RXT', ward: 'OAK', effectiveDate: STEP_DATE, author: 'ops-1', measures: ['admissions'], expectedDirection: 'up', recordedAt: `${STEP_DATE}T09:00:00Z`, outcomes: [{ measure: 'admissions', verdict: 'improvement', pointsSince: 8, detail: '8 points above the mean' }] }] }),
    }));
    await page.goto(boardUrl(p.gatewayUrl, await analyst(), '#/insights?measure=admissions&period=week&ward=OAK'));
    const chart = page.getByTestId('spc-chart');
    await chart.getByTestId('note-marker').waitFor(WAIT);
    expect(await chart.getByTestId('spc-phase').count()).toBe(1);
    await expect(page.getByTestId('notes-list').textContent()).resolves.toMatch(/Second admissions nurse on Oak.*special-cause improvement since the change \(8 points\)/);
    // From the keyboard: the rebase button takes focus and Enter presses it.
    await page.getByRole('button', { name: 'Rebase here (Second admissions nurse on Oak)' }).focus();
    await page.keyboard.press('Enter');
    await page.getByTestId('rebased').waitFor(WAIT);
    await chart.getByTestId('spc-phase').nth(1).waitFor(WAIT);
    expect(await chart.getByTestId('spc-phase').count()).toBe(2);
    expect(asked.at(-1)).toContain(`rebaseAt=${STEP_DATE}`);
    // After the rebase the step is the new normal: the latest point is common cause.
    expect(await chart.getByTestId('variation-icon').getAttribute('data-icon')).toBe('common_cause');
    await page.close();
  });

  it('the equity view names the segment outside the limits and shows small numbers as "<5"', async () => {
    const page = await open(await analyst(), '#/equity?measure=detained_admission_share&by=ethnic_group');
    const outside = page.getByTestId('equity-outside');
    await outside.waitFor(WAIT);
    await expect(outside.textContent()).resolves.toMatch(/Outside the 99\.8% limits:.*Black or Black British \(higher\).*Outside the 95% limits only:.*White \(below the 95% limit\)/);
    expect(await page.locator('[data-testid="funnel-point"][data-segment="White"]').getAttribute('data-flag')).toBe('low_95');
    expect(await page.getByTestId('limit-95').count()).toBe(1);
    expect(await page.getByTestId('limit-998').count()).toBe(1);
    expect(await page.locator('[data-testid="funnel-point"][data-segment="Black or Black British"]').getAttribute('data-flag')).toBe('high_998');
    await expect(page.getByTestId('equity-numerator-Mixed').textContent()).resolves.toBe('<5');
    expect(await page.locator('[data-testid="funnel-point"][data-segment="Mixed"]').count()).toBe(0);
    const [csv] = await Promise.all([page.waitForEvent('download'), page.getByTestId('equity-csv').click()]);
    const text = (await bytesOf(csv)).toString('utf8');
    expect(text).toContain('Black or Black British');
    expect(text).not.toContain('Mixed');
    // Nor can Mixed's count be had from the trust row less the rows listed: the next smallest (Asian, 10) goes with it.
    expect(text).not.toContain('Asian or Asian British');
    if (SHOTS) await page.screenshot({ path: join(repoRoot, 'docs', 'screenshots', 'equity.png'), fullPage: false, animations: 'disabled', caret: 'hide' });
    await page.close();
  });

  it('the monthly board report prints to a PDF with its sections (read back with pdftotext)', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'pfm-report-e2e-')), 'report.pdf');
    const bytes = await renderReport({ url: p.gatewayUrl, token: await analyst(), month: '2026-03', site: 'RXT', out });
    expect(bytes).toBeGreaterThan(10_000);
    const text = execFileSync('pdftotext', [out, '-'], { encoding: 'utf8' }).replace(/\s+/g, ' ');
    for (const expected of [
      'Flow report: RXT, March 2026', 'Key measures', 'Admissions', 'Detained share of admissions', 'Bed occupancy including leave', 'Special cause concern (higher)',
      'Equity: segments outside the limits', 'Black or Black British: above the 99.8% limit',
      'Delays and out-of-area placements, March 2026', 'CRFD delayed bed days by reason', 'Housing', 'Out-of-area placement (OAP) bed days: 0',
      'Improvement notes, March 2026', 'No changes were recorded', 'page 1 of',
    ]) expect(text).toContain(expected);
    expect(text).not.toContain('Print or save as PDF');
    // Page by page: the title and the key measures open page 1; the last page ends with the month's notes.
    const pages = Number(/Pages:\s+(\d+)/.exec(execFileSync('pdfinfo', [out], { encoding: 'utf8' }))![1]);
    expect(pages).toBeGreaterThanOrEqual(2);
    const page1 = execFileSync('pdftotext', ['-f', '1', '-l', '1', out, '-'], { encoding: 'utf8' }).replace(/\s+/g, ' ');
    expect(page1).toMatch(/^ ?Flow report: RXT, March 2026 .*Key measures/);
    expect(page1).toContain(`page 1 of ${pages}`);
    expect(execFileSync('pdftotext', ['-f', String(pages), '-l', String(pages), out, '-'], { encoding: 'utf8' })).toContain('Improvement notes, March 2026');
    if (SHOTS) execFileSync('pdftoppm', ['-png', '-r', '70', '-f', '1', '-l', '1', '-singlefile', out, join(repoRoot, 'docs', 'screenshots', 'report-page1')]);
  });

  it('a ward token sees only its own ward\'s insights', async () => {
    const elm = await p.token({ sub: 'elm-staff', role: 'ward', wards: ['ELM'] });
    const page = await open(elm, '#/insights?measure=admissions&period=week&by=ward');
    await page.locator('[data-testid="spc-chart"]').first().waitFor(WAIT);
    expect(await page.locator('[data-testid="spc-chart"]').evaluateAll((els) => els.map((e) => e.getAttribute('data-segment')))).toEqual(['ELM']);
    expect(await page.getByTestId('ward-picker').locator('option').allTextContents()).toEqual(['All my wards', 'Elm Ward']);
    // Asking for Oak by address: refused with the reason, no chart.
    await page.goto(boardUrl(p.gatewayUrl, elm, '#/insights?measure=admissions&period=week&ward=OAK'));
    await expect(page.getByTestId('insights-error').textContent()).resolves.toContain('ward OAK');
    expect(await page.locator('[data-testid="spc-chart"]').count()).toBe(0);
    const direct = await fetch(`${p.gatewayUrl}/api/v1/insights/equity?measure=admissions&by=sex&ward=OAK`, { headers: { authorization: `Bearer ${elm}` } });
    expect(direct.status).toBe(403);
    expect(direct.headers.get('content-security-policy')).toContain("connect-src 'self'");
    await page.close();
  });
});
