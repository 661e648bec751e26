// The improvement loop in a real browser (Debian's headless Chromium via playwright-core):
// an ops user records a change on the Learning log page -> board-gateway (a real process,
// passing /api/v1/insights/* on) -> the insights API, which puts an improvement.noted
// event on a real Kafka topic -> the insights consumer folds it into the warehouse ->
// the log lists it with its outcome, and the Insights chart shows it at its date and
// rebases at it. The warehouse holds the small seeded trust of insights-seed.ts (Oak's
// admissions step up from STEP_DATE).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { Auth, type ClaimsInput } from '@pfm/access';
import { DEFAULT_THRESHOLDS } from '@pfm/flow-domain';
import { InsightsConsumer, LocalAreas, Pseudonymiser, Warehouse } from '@pfm/insights';
import { buildInsightsApi } from '@pfm/insights/src/api';
import { loadCatalogue, loadPopulation } from '@pfm/insights/src/measures';
import { connectKafka, sendFlowEvents } from '@pfm/kafka-runtime';
import { createLogger } from '@pfm/observability';
import { freePort, httpReady, repoRoot, requireStack, startService, uniqueName, type RunningService } from '@pfm/testkit';
import { boardUrl, ensureWebBuilt, launchBrowser, type BoardBrowser } from './support/browser';
import { INSIGHTS_WARDS, SEED_T0, SEED_WEEKS, seedRecords, STEP_DATE } from './support/insights-seed';
import { SECRET } from './support/stack';

const WAIT = { timeout: 20_000 };

describe('the learning log and the improvement loop in a real browser', () => {
  const ns = uniqueName('learning-e2e');
  const dir = mkdtempSync(join(tmpdir(), 'pfm-learning-e2e-'));
  const logger = createLogger('learning-e2e');
  logger.level = 'error';
  const auth = new Auth(SECRET);
  const token = (c: Partial<ClaimsInput>) => auth.issue({ sub: 'e2e', role: 'analyst', sites: ['RXT'], ...c } as ClaimsInput);
  let w: Warehouse;
  let consumer: InsightsConsumer;
  let api: FastifyInstance;
  let gateway: RunningService | undefined;
  let browser: BoardBrowser;
  let gatewayUrl = '';
  let closeKafka: () => Promise<void> = async () => undefined;

  beforeAll(async () => {
    ensureWebBuilt();
    const stack = await requireStack();
    w = await Warehouse.open(join(dir, 'insights.duckdb'), { thresholds: DEFAULT_THRESHOLDS, wards: INSIGHTS_WARDS });
    await w.commit({ records: seedRecords(), alerts: [], offsets: [], watermark: SEED_T0 + SEED_WEEKS * 7 * 86_400_000 + 86_400_000 });
    const rt = await connectKafka({ brokers: stack.kafkaBrokers, clientId: ns, registryUrl: stack.schemaRegistryUrl, namespace: ns, logger });
    consumer = new InsightsConsumer({
      kafka: rt.kafka, codec: rt.codec, warehouse: w, logger, groupId: `${ns}-insights`, topics: { flowEvents: rt.topics.flowEvents, alerts: rt.topics.alerts },
      ctx: { thresholds: DEFAULT_THRESHOLDS, wardType: () => 'adult_acute', pseudo: new Pseudonymiser('s'.repeat(40)), areas: new LocalAreas([], 'area') },
    });
    await consumer.start();
    closeKafka = async () => { await consumer.stop(); await rt.producer.disconnect(); };
    api = buildInsightsApi({
      warehouse: w, auth, logger, catalogue: loadCatalogue(join(repoRoot, 'config', 'measures.json')), population: loadPopulation(join(repoRoot, 'config', 'population.csv')),
      sendNote: (e) => sendFlowEvents(rt.producer, rt.codec, [e], rt.topics.flowEvents),
    });
    const insightsUrl = await api.listen({ port: 0, host: '127.0.0.1' });
    writeFileSync(join(dir, 'wards.json'), JSON.stringify(INSIGHTS_WARDS));
    const port = await freePort();
    gatewayUrl = `http://127.0.0.1:${port}`;
    gateway = await startService('board-gateway', {
      KAFKA_BROKERS: stack.kafkaBrokers.join(','), SCHEMA_REGISTRY_URL: stack.schemaRegistryUrl, REDIS_URL: stack.redisUrl,
      PFM_TOPIC_NAMESPACE: ns, PFM_TOPIC_PARTITIONS: '1', PFM_KEY_PREFIX: ns.replace(/-/g, '_'), PFM_WARDS_FILE: join(dir, 'wards.json'),
      PFM_GATEWAY_PORT: String(port), PFM_JWT_SECRET: SECRET, PFM_INSIGHTS_URL: insightsUrl,
    }, httpReady(`${gatewayUrl}/healthz`));
    browser = await launchBrowser({ viewport: { width: 1440, height: 1000 }, colorScheme: 'light' });
  });
  afterAll(async () => {
    await browser?.close();
    await gateway?.stop();
    await api?.close();
    await closeKafka();
    w?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('ops records a change on the learning log; it is listed with its outcome, shown on the chart at its date, and the chart rebases at it', async () => {
    const page = await browser.page();
    await page.goto(boardUrl(gatewayUrl, await token({ sub: 'ops-e2e', role: 'ops' }), '#/learning'));
    const form = page.getByTestId('note-form');
    await form.waitFor(WAIT);
    await page.getByTestId('learning-summary').filter({ hasText: 'No changes recorded yet.' }).waitFor(WAIT);

    // Sent empty: every missing field says so, nothing is recorded.
    await page.getByTestId('note-submit').click();
    await page.getByTestId('note-error-title').waitFor(WAIT);
    expect(await page.locator('[data-testid^="note-error-"]').evaluateAll((els) => els.map((e) => e.getAttribute('data-testid')).sort()))
      .toEqual(['note-error-effectiveDate', 'note-error-expectedDirection', 'note-error-measures', 'note-error-title']);
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe('note-title');

    await page.getByLabel('What changed').fill('Second admissions nurse on Oak');
    await page.getByLabel('Ward (optional)').selectOption('OAK');
    await page.getByLabel('Took effect on').fill(STEP_DATE);
    await page.getByTestId('note-measure-admissions').check();
    await page.getByTestId('note-direction-up').check();
    await page.getByTestId('note-submit').click();
    await page.getByTestId('note-done').filter({ hasText: 'Recorded' }).waitFor(WAIT);

    // Through Kafka into the warehouse, then listed with its outcome: Oak's step up is special cause, as hoped.
    const listed = page.locator('[data-testid="learning-list"] li.learning-note', { hasText: 'Second admissions nurse on Oak' });
    await listed.waitFor(WAIT);
    await expect(listed.textContent()).resolves.toMatch(new RegExp(`From ${STEP_DATE} at RXT, ward OAK; expected to go up\\. Recorded by ops-e2e`));
    expect(await listed.locator('[data-measure="admissions"]').getAttribute('data-verdict')).toBe('improvement');
    await expect(page.getByTestId('learning-summary').textContent()).resolves.toBe('1 change recorded: 1 showing improvement, 0 concern, 0 no signal yet, 0 too early to tell.');

    // The Insights chart of that measure shows the note at its date; one action rebases at it.
    await page.goto(boardUrl(gatewayUrl, await token({ sub: 'analyst-e2e', role: 'analyst' }), '#/insights?measure=admissions&period=week&ward=OAK'));
    const chart = page.getByTestId('spc-chart');
    await chart.getByTestId('note-marker').waitFor(WAIT);
    await expect(page.getByTestId('notes-list').textContent()).resolves.toContain('Second admissions nurse on Oak');
    expect(await chart.getByTestId('spc-phase').count()).toBe(1);
    await page.getByTestId('rebase-here').click();
    await page.getByTestId('rebased').waitFor(WAIT);
    await chart.getByTestId('spc-phase').nth(1).waitFor(WAIT);
    expect(page.url()).toContain(`rebaseAt=${STEP_DATE}`);
    await page.close();
  });

  it('the log\'s link opens the chart already rebased at the change; readers without ops or analyst get no form', async () => {
    const page = await browser.page();
    await page.goto(boardUrl(gatewayUrl, await token({ sub: 'bm-e2e', role: 'bed_manager' }), '#/learning'));
    const link = page.getByRole('link', { name: /Chart, rebased at the change/ });
    await link.waitFor(WAIT);
    expect(await page.getByTestId('note-form').count()).toBe(0);
    await link.click();
    await page.getByTestId('rebased').waitFor(WAIT);
    expect(page.url()).toMatch(new RegExp(`#/insights\\?measure=admissions&.*ward=OAK.*rebaseAt=${STEP_DATE}`));
    // The board report of the change's month lists it with its outcome so far (the PDF prints this page).
    await page.goto(boardUrl(gatewayUrl, await token({ sub: 'bm-e2e', role: 'bed_manager' }), `#/report?month=${STEP_DATE.slice(0, 7)}&site=RXT`));
    await page.locator('[data-testid="report"][data-ready="true"]').waitFor(WAIT);
    await expect(page.getByTestId('report-notes').textContent()).resolves.toMatch(/Second admissions nurse on Oak.*RXT \/ OAK.*admissions: special-cause improvement \(\d+ points\)/);
    await page.close();
  });
});
