// ./pfm report --month YYYY-MM --site S --out report.pdf: the monthly board report as a
// PDF. It is the web app's own report page (#/report), opened in Debian's headless
// Chromium (playwright-core, no browser download) against a running board-gateway
// (which serves the app and passes insights reads on with the token), printed to A4 once
// the page says every read has settled. The token is an analyst's, an ops' or a bed
// manager's (`--token-file`, default .stack/demo-analyst-token from ./pfm demo).
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { chromium } from 'playwright-core';

export interface ReportOptions { url: string; token: string; month: string; site: string; out: string; chromium?: string; timeoutMs?: number }

const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Renders the report page to a PDF file; returns the number of bytes written. */
export async function renderReport(o: ReportOptions): Promise<number> {
  const exe = o.chromium ?? process.env.PFM_CHROMIUM ?? '/usr/bin/chromium';
  if (!existsSync(exe)) throw new Error(`No Chromium at ${exe}: install Debian's 'chromium' package or set PFM_CHROMIUM`);
  const profile = mkdtempSync(join(tmpdir(), 'pfm-report-'));
  const context = await chromium.launchPersistentContext(profile, { executablePath: exe, headless: true, args: CHROMIUM_ARGS, locale: 'en-GB', timezoneId: 'Europe/London', colorScheme: 'light', viewport: { width: 1100, height: 1500 } });
  try {
    const page = await context.newPage();
    // The token in the fragment, as on the board links: never sent to the server or its logs.
    const route = new URLSearchParams({ month: o.month, site: o.site, token: o.token });
    await page.goto(`${o.url.replace(/\/$/, '')}/#/report?${route.toString()}`);
    const report = page.locator('[data-testid="report"][data-ready="true"]');
    try {
      await report.waitFor({ timeout: o.timeoutMs ?? 60_000 });
    } catch {
      const text = (await page.locator('main').textContent().catch(() => null)) ?? '';
      throw new Error(`the report page did not finish loading${text ? `: ${text.trim().slice(0, 300)}` : ''}`);
    }
    await page.emulateMedia({ media: 'print' });
    const pdf = await page.pdf({ path: o.out, format: 'A4', printBackground: true, margin: { top: '12mm', bottom: '14mm', left: '12mm', right: '12mm' }, displayHeaderFooter: true, headerTemplate: '<span></span>', footerTemplate: `<div style="font-size:8px;width:100%;text-align:center;color:#555">Patient Flow Monitor board report, ${o.site} ${o.month} — page <span class="pageNumber"></span> of <span class="totalPages"></span></div>` });
    return pdf.length;
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

const month = (v: string) => {
  if (!/^\d{4}-(0[1-9]|1[0-2])$/.test(v)) throw new InvalidArgumentError('must be a month, YYYY-MM');
  return v;
};
const site = (v: string) => {
  if (!/^[A-Za-z0-9_-]{1,16}$/.test(v)) throw new InvalidArgumentError('must be a site code');
  return v;
};

async function main(argv: string[]): Promise<void> {
  const root = resolve(__dirname, '..');
  const cmd = new Command('pfm report')
    .description('The monthly board report (key measures as SPC charts, equity flags, CRFD delays, OAP bed days, improvement notes) as a PDF')
    .requiredOption('--month <YYYY-MM>', 'the month reported', month)
    .requiredOption('--site <code>', 'the site', site)
    .requiredOption('--out <file.pdf>', 'where to write the PDF')
    .option('--url <url>', 'board-gateway URL (it serves the web app and passes insights reads on)', process.env.PFM_GATEWAY_URL ?? `http://127.0.0.1:${process.env.PFM_GATEWAY_PORT ?? '3000'}`)
    .option('--token-file <file>', 'a reader token (analyst, ops or bed manager) for the site', process.env.PFM_REPORT_TOKEN_FILE ?? join(root, '.stack', 'demo-analyst-token'))
    .showHelpAfterError();
  cmd.parse(argv);
  const o = cmd.opts<{ month: string; site: string; out: string; url: string; tokenFile: string }>();
  if (!existsSync(o.tokenFile)) throw new Error(`no token file at ${o.tokenFile}: give --token-file (./pfm demo writes .stack/demo-analyst-token)`);
  const bytes = await renderReport({ url: o.url, token: readFileSync(o.tokenFile, 'utf8').trim(), month: o.month, site: o.site, out: resolve(o.out) });
  process.stdout.write(`${resolve(o.out)} (${Math.round(bytes / 1024)} KB)\n`);
}

if (require.main === module) {
  main(process.argv).catch((e: unknown) => {
    process.stderr.write(`pfm report: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}
