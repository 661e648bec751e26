// Time travel in the web app: the replay view's slider / exact time replays the flow log
// up to T (GET /api/v1/replay/board) and shows the site board's ward tiles as at T.
import type { Page } from 'playwright-core';
import { boardUrl, ensureWebBuilt, launchBrowser, type BoardBrowser } from './support/browser';
import { postAccepted } from './support/feed';
import { startProduct, type ProductUnderTest } from './support/stack';

const WAIT = { timeout: 60_000 };
const HOUR = 3_600_000;
// January: Europe/London (the test browser's zone) is UTC, so local input times are UTC.
const T0 = Date.parse('2026-01-10T00:00:00Z');

describe('replay view: the board as at a past time', () => {
  let p: ProductUnderTest;
  let browser: BoardBrowser;

  beforeAll(async () => {
    ensureWebBuilt();
    p = await startProduct();
    browser = await launchBrowser();
    // Three admissions to OAK at 01:00, 02:00 and 03:00 (event time); recorded now.
    await postAccepted(p.ingestUrl, [1, 2, 3].map((h) => ({
      eventId: `rv-adm-${h}`, type: 'patient.admitted', occurredAt: new Date(T0 + h * HOUR).toISOString(), site: 'RXT', patientId: `RV${h}`,
      payload: { spellId: `SRV${h}`, ward: 'OAK', bed: `B${h}`, initials: 'RV' },
    })));
  });
  afterAll(async () => {
    await browser?.close();
    await p?.stop();
  });

  const api = async (path: string, token: string) => {
    const res = await fetch(`${p.gatewayUrl}${path}`, { headers: { Authorization: `Bearer ${token}` } });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const occupied = (page: Page, n: number) =>
    page.getByTestId('replay-board').getByTestId('occupied-OAK').filter({ hasText: new RegExp(`^${n}$`) }).waitFor(WAIT);

  it('API: ops and bed managers only, a bad time is a field-level 400, the range covers the events', async () => {
    const bm = await p.token();
    expect((await api('/api/v1/replay/range', await p.token({ role: 'ward', wards: ['OAK'] }))).status).toBe(403);
    expect((await api(`/api/v1/replay/board?at=${T0}`, await p.token({ role: 'crisis_team', teams: ['CRHT-N'] }))).status).toBe(403);
    const bad = await api('/api/v1/replay/board?at=yesterday', bm);
    expect(bad.status).toBe(400);
    expect(bad.body.errors).toEqual([expect.objectContaining({ path: 'at' })]);
    const range = await api('/api/v1/replay/range', await p.token({ role: 'ops' }));
    expect(range.status).toBe(200);
    expect(range.body.from).toBe(T0 + HOUR);
    expect(range.body.to).toBeGreaterThanOrEqual(T0 + 3 * HOUR);
  });

  it('setting the time shows the wards as they were: admitted-by-T beds occupied, more for a later T', async () => {
    const page = await browser.page();
    await page.goto(boardUrl(p.gatewayUrl, await p.token(), '#/replay'));
    await page.getByTestId('replay-basis-known').check();
    const exact = page.getByTestId('replay-exact');
    await exact.waitFor(WAIT);

    await exact.fill('2026-01-10T02:30');
    await page.locator(`[data-testid="replay-board"][data-at="${T0 + 2.5 * HOUR}"][data-basis="known"]`).waitFor(WAIT);
    await occupied(page, 2);
    await page.getByTestId('replay-banner').filter({ hasText: /replay, not live/ }).waitFor(WAIT);
    expect(await page.getByTestId('replay-time').getAttribute('data-at')).toBe(String(T0 + 2.5 * HOUR));

    await exact.fill('2026-01-10T03:30');
    await page.locator(`[data-testid="replay-board"][data-at="${T0 + 3.5 * HOUR}"]`).waitFor(WAIT);
    await occupied(page, 3);

    // The slider, from the keyboard: Home = the first event (one admission by then).
    await page.getByTestId('replay-slider').focus();
    await page.keyboard.press('Home');
    await page.locator(`[data-testid="replay-board"][data-at="${T0 + HOUR}"]`).waitFor(WAIT);
    await occupied(page, 1);
    // "As shown at the time": none of these was recorded by then.
    await page.getByTestId('replay-basis-shown').check();
    await page.locator(`[data-testid="replay-board"][data-at="${T0 + HOUR}"][data-basis="shown"]`).waitFor(WAIT);
    expect(await page.getByTestId('replay-board').getByTestId('ward-tile-OAK').count() === 0
      || (await page.getByTestId('replay-board').getByTestId('occupied-OAK').textContent()) === '0').toBe(true);
    await page.close();
  });
});
