// The boards in a real browser (Debian's headless Chromium via playwright-core) against the
// product running on the real stack: ingest -> Kafka -> engine -> Redis -> gateway -> page.
// The engine runs on event time and scans often, so a stranded alert can be made to fire.
import type { Page } from 'playwright-core';
import type { Alert } from '@pfm/contracts';
import { Auth } from '@pfm/board-gateway/src/auth';
import { waitFor } from '@pfm/testkit';
import { boardUrl, ensureWebBuilt, launchBrowser, type BoardBrowser } from './support/browser';
import { postAccepted } from './support/feed';
import { SECRET, startProduct, type ProductUnderTest } from './support/stack';

const DAY = 86_400_000;
const WAIT = { timeout: 30_000 };

describe('live boards in a real browser', () => {
  let p: ProductUnderTest;
  let browser: BoardBrowser;
  let n = 0;

  beforeAll(async () => {
    ensureWebBuilt();
    p = await startProduct({ extraEnv: { PFM_CLOCK: 'event', PFM_SCAN_INTERVAL_MS: '300' } });
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await p?.stop();
  });

  const admission = (ward: string, occurredAt: number, patientId = `BP${++n}`) => ({
    eventId: `board-adm-${patientId}`, type: 'patient.admitted', occurredAt: new Date(occurredAt).toISOString(), site: 'RXT', patientId,
    payload: { spellId: `S${patientId}`, ward, bed: `B${n}`, initials: 'CD' },
  });
  const post = (events: unknown[]) => postAccepted(p.ingestUrl, events);
  const open = async (token: string, route = '#/site'): Promise<Page> => {
    const page = await browser.page();
    await page.goto(boardUrl(p.gatewayUrl, token, route));
    return page;
  };
  const live = (page: Page) => page.locator('[data-testid="connection"][data-state="live"]').waitFor(WAIT);
  const counter = async (page: Page, testid: string) => Number(await page.getByTestId(testid).textContent());
  const exactly = (page: Page, testid: string, value: number) => page.getByTestId(testid).filter({ hasText: new RegExp(`^${value}$`) }).waitFor(WAIT);

  it('the site board shows an admission and a new referral sent through ingest without a reload', async () => {
    const page = await open(await p.token());
    await live(page);
    await page.getByTestId('ward-tile-OAK').waitFor(WAIT);
    const before = await counter(page, 'occupied-OAK');
    await page.evaluate(() => { (window as unknown as { pfmNoReload: boolean }).pfmNoReload = true; });

    await post([admission('OAK', Date.now() - 3_600_000)]);
    await exactly(page, 'occupied-OAK', before + 1);
    expect(await counter(page, 'site-occupied')).toBeGreaterThanOrEqual(before + 1);
    expect(await page.evaluate(() => (window as unknown as { pfmNoReload?: boolean }).pfmNoReload)).toBe(true);
    expect(page.url()).not.toContain('token=');

    // Referrals waiting change with no ward update: the gateway pushes the site status
    // (checked every 5 s), well before the app's 30 s fallback poll.
    const waiting = await counter(page, 'referrals-waiting');
    await post([{
      eventId: `board-ref-${++n}`, type: 'referral.received', occurredAt: new Date(Date.now() - 60_000).toISOString(), site: 'RXT', patientId: `BR${n}`,
      payload: { referralId: `BREF${n}`, team: 'CRHT-N', teamType: 'crisis', urgency: 'urgent' },
    }]);
    await page.getByTestId('referrals-waiting').filter({ hasText: new RegExp(`^${waiting + 1}$`) }).waitFor({ timeout: 15_000 });
    await page.close();
  });

  it('a stranded alert appears in the feed; its acknowledgement survives a reload', async () => {
    const token = await p.token({ sub: 'bed.manager' });
    const page = await open(token, '#/alerts');
    await live(page);

    // Admitted ten days before the patient's next event: on event time, that event moves
    // the patient's clock past day 7 and the engine raises "stranded".
    const now = Date.now();
    const stranded = admission('OAK', now - 10 * DAY);
    const edd = {
      eventId: `board-edd-${stranded.patientId}`, type: 'edd.set', occurredAt: new Date(now - 60_000).toISOString(), site: 'RXT', patientId: stranded.patientId,
      payload: { spellId: stranded.payload.spellId, expectedDischargeAt: new Date(now + 3 * DAY).toISOString() },
    };
    await post([stranded, edd]);
    const alertId = `stranded:RXT:${stranded.patientId}:${stranded.payload.spellId}:7d`;
    const card = page.getByTestId(`alert-${alertId}`);
    await card.waitFor(WAIT);
    expect(await card.getAttribute('data-rule')).toBe('stranded');
    expect(await card.getByTestId('alert-threshold').textContent()).toMatch(/7 days/);
    expect(await card.getAttribute('data-ack-state')).toBe('none');

    await page.getByTestId(`ack-${alertId}`).click();
    // The ack is an event: gateway -> flow topic -> engine -> Redis -> alerts topic -> gateway -> page.
    await page.locator(`[data-testid="alert-${alertId}"][data-ack-state="acknowledged"]`).waitFor(WAIT);
    expect(await page.getByTestId(`ack-status-${alertId}`).textContent()).toMatch(/Acknowledged by bed\.manager/);

    await page.reload();
    await live(page);
    await page.locator(`[data-testid="alert-${alertId}"][data-ack-state="acknowledged"]`).waitFor(WAIT);
    expect(await page.getByTestId(`ack-${alertId}`).count()).toBe(0);

    const alerts = (await (await fetch(`${p.gatewayUrl}/api/v1/alerts`, { headers: { authorization: `Bearer ${token}` } })).json()) as Alert[];
    expect(alerts.find((a) => a.alertId === alertId)?.acknowledged).toMatchObject({ by: 'bed.manager' });
    await page.close();
  });

  it('a bed manager takes a Critical alert from the feed: their name shows as its owner, also after a reload', async () => {
    const token = await p.token({ sub: 'bm.okafor' });
    const page = await open(token, '#/alerts');
    await live(page);
    // An emergency liaison referral received 3 h ago: its 1 h response clock is past (Critical).
    // On event time, the patient's next event (a routine referral now) raises it.
    const referralId = `BOWN${++n}`;
    const referral = (id: string, ago: number, teamType: string, urgency: string) => ({
      eventId: `board-own-${id}`, type: 'referral.received', occurredAt: new Date(Date.now() - ago).toISOString(), site: 'RXT', patientId: `BO${n}`,
      payload: { referralId: id, team: teamType === 'liaison' ? 'LIAISON-1' : 'CMHT-1', teamType, urgency },
    });
    await post([referral(referralId, 3 * 3_600_000, 'liaison', 'emergency'), referral(`${referralId}-next`, 60_000, 'community', 'routine')]);
    const alert = await waitFor(async () => ((await (await fetch(`${p.gatewayUrl}/api/v1/alerts`, { headers: { authorization: `Bearer ${token}` } })).json()) as Alert[]).find((a) => a.referralId === referralId), { timeoutMs: 30_000, what: 'the referral response alert' });
    expect(alert.severity).toBe('critical');
    await page.getByTestId(`alert-${alert.alertId}`).waitFor(WAIT);
    expect(await page.getByTestId(`alert-owner-${alert.alertId}`).count()).toBe(0);

    await page.getByTestId(`own-${alert.alertId}`).click();
    // gateway -> flow topic (alert.owned) -> engine -> Redis -> alerts topic -> gateway -> page.
    await page.getByTestId(`alert-owner-${alert.alertId}`).filter({ hasText: /^bm\.okafor$/ }).waitFor(WAIT);
    await page.reload();
    await live(page);
    await page.getByTestId(`alert-owner-${alert.alertId}`).filter({ hasText: /^bm\.okafor$/ }).waitFor(WAIT);
    expect(await page.getByTestId(`own-${alert.alertId}`).textContent()).toMatch(/Take over/);
    await page.close();
  });

  it('an invalid, expired, foreign or missing token sees only the error page', async () => {
    const expired = await new Auth(SECRET).issue({ sub: 'old', role: 'bed_manager', sites: ['RXT'] }, Math.floor(Date.now() / 1000) - 60);
    const foreign = await new Auth(`${SECRET}-not-ours`).issue({ sub: 'x', role: 'bed_manager', sites: ['RXT'] });
    for (const token of ['not-a-token', expired, foreign, '']) {
      const page = await open(token);
      await page.getByTestId('auth-error').waitFor(WAIT);
      expect(await page.getByTestId('auth-error').textContent()).toMatch(/expired or is not valid/);
      // Nothing else: no header, no tiles, no ward names, no counters.
      expect((await page.locator('body').innerText()).trim()).toBe((await page.getByTestId('auth-error').innerText()).trim());
      expect(await page.locator('[data-testid^="ward-tile-"], [data-testid="connection"], [data-testid^="occupied-"]').count()).toBe(0);
      expect(await page.content()).not.toMatch(/Oak Ward|Elm Ward/);
      await page.close();
    }
  });

  it('a ward-scoped token sees its ward only: no other tiles, no other updates, 403 over REST', async () => {
    const token = await p.token({ sub: 'oak.nurse', role: 'ward', wards: ['OAK'] });
    const page = await open(token);
    await live(page);
    await page.getByTestId('ward-tile-OAK').waitFor(WAIT);
    expect(await page.getByTestId('ward-tile-ELM').count()).toBe(0);
    const before = await counter(page, 'occupied-OAK');

    const elm = admission('ELM', Date.now() - 120_000);
    await post([elm, admission('OAK', Date.now() - 60_000)]);
    await exactly(page, 'occupied-OAK', before + 1);
    // The ELM admission was applied (a bed manager sees it) but never reached this page.
    const bm = await p.token();
    await waitFor(async () => {
      const r = (await (await fetch(`${p.gatewayUrl}/api/v1/wards/ELM`, { headers: { authorization: `Bearer ${bm}` } })).json()) as { patients: { patientId: string }[] };
      return r.patients.some((x) => x.patientId === elm.patientId);
    }, { timeoutMs: 30_000, what: 'the ELM admission to be applied' });
    expect(await page.getByTestId('ward-tile-ELM').count()).toBe(0);
    expect(await page.content()).not.toContain('Elm Ward');
    expect((await fetch(`${p.gatewayUrl}/api/v1/wards/ELM`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(403);

    // Opening the other ward's board: a clear banner, no ward data, the link still works.
    await page.goto(`${p.gatewayUrl}/#/ward/ELM`);
    await page.getByTestId('problem').filter({ hasText: /outside your access/ }).waitFor(WAIT);
    expect(await page.locator('[data-testid="ward-summary-ELM"], [data-testid^="patient-"]').count()).toBe(0);
    expect(await page.getByTestId('auth-error').count()).toBe(0);
    await page.close();
  });
});
