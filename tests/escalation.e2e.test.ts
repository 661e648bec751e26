// Escalation reaches people, in a real browser against the product on the real stack
// (ingest -> Kafka -> engine -> Redis -> gateway -> page): a Critical alert nobody
// acknowledges goes to the bed manager, then ops, as a new alert on their screens and
// sockets, and never to roles outside the chain or the alert's scope. Small thresholds
// from the trust's settings file (a level every 6 s), the wall clock, no long sleeps.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import type { Alert } from '@pfm/contracts';
import { waitFor } from '@pfm/testkit';
import { boardUrl, ensureWebBuilt, launchBrowser, type BoardBrowser } from './support/browser';
import { postAccepted } from './support/feed';
import { startProduct, type ProductUnderTest } from './support/stack';

const WAIT = { timeout: 45_000 };

describe('escalation of an unacknowledged Critical alert, live', () => {
  let p: ProductUnderTest;
  let browser: BoardBrowser;

  beforeAll(async () => {
    ensureWebBuilt();
    const dir = mkdtempSync(join(tmpdir(), 'pfm-esc-'));
    const thresholds = join(dir, 'thresholds.json');
    writeFileSync(thresholds, JSON.stringify({ escalation: { critical: { afterMinutes: 0.1, wardChain: ['ward', 'bed_manager', 'ops'], teamChain: ['crisis_team', 'bed_manager', 'ops'] } } }));
    p = await startProduct({ extraEnv: { PFM_THRESHOLDS_FILE: thresholds, PFM_SCAN_INTERVAL_MS: '300' } });
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await p?.stop();
  });

  const open = async (token: string, route: string): Promise<Page> => {
    const page = await browser.page();
    await page.goto(boardUrl(p.gatewayUrl, token, route));
    await page.locator('[data-testid="connection"][data-state="live"]').waitFor(WAIT);
    return page;
  };
  /** A socket of this role that has joined no room: what reaches it is what the gateway sends the role. */
  const listener = async (claims: Parameters<ProductUnderTest['token']>[0]) => {
    const s = await p.connect(await p.token(claims));
    const escalated: Alert[] = [];
    s.on('escalated', (a) => escalated.push(a));
    await new Promise<void>((resolve, reject) => { if (s.connected) resolve(); else { s.once('connect', () => resolve()); s.once('connect_error', reject); } });
    return { s, escalated };
  };

  it('reaches the bed manager, then ops, on their sockets and screens as "Escalated to <role> (level n)"; never the ward or the team; acknowledgement ends it', async () => {
    const bm = await listener({ sub: 'bm-night', role: 'bed_manager' });
    const ops = await listener({ sub: 'ops-oncall', role: 'ops' });
    const ward = await listener({ sub: 'oak-nurse', role: 'ward', wards: ['OAK'] });
    const team = await listener({ sub: 'liaison-nurse', role: 'crisis_team', teams: ['LIAISON-1'] });
    const bmPage = await open(await p.token({ sub: 'bm-night' }), '#/site');
    const opsPage = await open(await p.token({ sub: 'ops-oncall', role: 'ops' }), '#/alerts');

    // An emergency liaison referral 3 h ago: its 1-hour response is already breached, so
    // the engine raises a Critical alert for the team now; nobody acknowledges it.
    const referralId = 'ESC-R1';
    await postAccepted(p.ingestUrl, [{
      eventId: 'esc-ref-1', type: 'referral.received', occurredAt: new Date(Date.now() - 3 * 3_600_000).toISOString(), site: 'RXT', patientId: 'ESC1',
      payload: { referralId, team: 'LIAISON-1', teamType: 'liaison', urgency: 'emergency' },
    }]);

    const toBm = await waitFor(() => bm.escalated.find((a) => a.referralId === referralId), { timeoutMs: 45_000, what: 'the escalation on the bed manager\'s socket' });
    expect(toBm).toMatchObject({ severity: 'critical', team: 'LIAISON-1', escalated: { level: 1, role: 'bed_manager' } });
    expect(toBm.escalated!.at).toBeGreaterThanOrEqual(toBm.raisedAt + 6_000);
    const alertId = toBm.alertId;

    // On the bed manager's board: a notice "Escalated to you", and the board's list.
    const notice = bmPage.getByTestId(`escalation-notice-${alertId}`);
    await notice.waitFor(WAIT);
    expect(await notice.textContent()).toMatch(/Escalated to you: Referral response time, Local id ESC1, team LIAISON-1\. Escalated to .*raised at \d\d:\d\d, not acknowledged/);
    await bmPage.getByTestId(`escalated-${alertId}`).waitFor(WAIT);

    // Level 2: ops on call, on its socket and its feed, with words (not colour only).
    const toOps = await waitFor(() => ops.escalated.find((a) => a.alertId === alertId && a.escalated?.level === 2), { timeoutMs: 45_000, what: 'the escalation to ops' });
    expect(toOps.escalated).toMatchObject({ level: 2, role: 'ops' });
    await opsPage.getByTestId(`escalation-notice-${alertId}`).waitFor(WAIT);
    const badge = opsPage.getByTestId(`alert-escalated-${alertId}`);
    await badge.filter({ hasText: 'Escalated to ops (on call) (level 2)' }).waitFor(WAIT);
    expect(await opsPage.getByTestId(`alert-since-raised-${alertId}`).first().textContent()).toMatch(/^raised \S+ ago$/);
    // The feed card on the bed manager's screen too (the feed reads the same alert).
    await bmPage.goto(boardUrl(p.gatewayUrl, await p.token({ sub: 'bm-night' }), '#/alerts'));
    await bmPage.getByTestId(`alert-escalated-${alertId}`).filter({ hasText: /Escalated to ops \(on call\) \(level 2\)/ }).waitFor(WAIT);

    // Each role was told once per level; the team (level 0) and a ward outside the alert were never sent it.
    expect(bm.escalated.filter((a) => a.alertId === alertId).map((a) => a.escalated!.level)).toEqual([1]);
    expect(ops.escalated.filter((a) => a.alertId === alertId).map((a) => a.escalated!.level)).toEqual([2]);
    expect(ward.escalated).toEqual([]);
    expect(team.escalated).toEqual([]);

    // REST says it too.
    const listed = (await (await fetch(`${p.gatewayUrl}/api/v1/alerts`, { headers: { authorization: `Bearer ${await p.token()}` } })).json()) as (Alert & { escalation?: { level: number; role: string } })[];
    expect(listed.find((a) => a.alertId === alertId)).toMatchObject({ escalated: { level: 2, role: 'ops' }, escalation: { level: 2, role: 'ops' } });

    // The bed manager acknowledges it: the notice leaves the ops screen.
    expect(await new Promise((resolve) => bm.s.emit('acknowledge', { alertId }, resolve))).toEqual({ ok: true });
    await opsPage.getByTestId(`escalation-notice-${alertId}`).waitFor({ state: 'detached', timeout: 45_000 });
    await bmPage.close();
    await opsPage.close();
  });
});
