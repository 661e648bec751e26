/** @pfm-stack kafka */
// Paging on the real broker: Critical alerts read from a real alerts topic reach a paging
// service (a real HTTP server on loopback) at least once, through its failures, and across
// a restart of the pager; nothing else pages, and no page carries a patient identifier.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Producer } from 'kafkajs';
import type { Alert } from '@pfm/contracts';
import { kafkaClientConfig } from '@pfm/kafka-runtime';
import { createLogger, Metrics } from '@pfm/observability';
import { openScratchTopic, uniqueName, waitFor, type ScratchTopic } from '@pfm/testkit';
import { Pager, type Page } from './pager';

interface Received { status: number; page: Page; auth?: string; key?: string }

const alert = (id: string, over: Partial<Alert> = {}): Alert => ({
  alertId: id, rule: 'followup_missed', severity: 'critical', threshold: { value: 72, unit: 'hours' }, source: 'NHS Standard Contract',
  message: 'NHS 999 000 0018: no follow-up contact within 72 hours of discharge', site: 'RXT', ward: 'NG-ASH',
  patientId: 'P-PAGER', nhsNumber: '9990000018', becameTrueAt: 1_000, raisedAt: 2_000, version: 1, ...over,
});

describe('the pager on the real stack', () => {
  const topic = uniqueName('pager');
  const group = `${topic}-group`;
  const logger = createLogger('pager-test');
  logger.level = 'fatal';
  const received: Received[] = [];
  let failFirst = 2;
  let scratch: ScratchTopic;
  let producer: Producer;
  let server: Server;
  let url: string;
  let pager: Pager | undefined;

  const accepted = () => received.filter((r) => r.status === 200).map((r) => r.page.pageId);
  const send = (alerts: Alert[]) => producer.send({ topic, messages: alerts.map((a) => ({ key: `${a.site}/${a.alertId}`, value: JSON.stringify(a) })) });
  const startPager = async (metrics?: Metrics) => {
    pager = new Pager({ kafka: scratch.kafka, alertsTopic: topic, groupId: group, url, token: 'pager-secret', boardUrl: 'https://board.test', logger, metrics, fromBeginning: true, backoffMs: 50, maxBackoffMs: 200 });
    await pager.start();
  };

  beforeAll(async () => {
    server = createServer((req: IncomingMessage, res) => {
      let body = '';
      req.on('data', (c: Buffer) => { body += c.toString('utf8'); });
      req.on('end', () => {
        const page = JSON.parse(body) as Page;
        const status = page.alertId.startsWith('MALFORMED') ? 422 : failFirst-- > 0 ? 503 : 200;
        received.push({ status, page, auth: req.headers.authorization, key: req.headers['idempotency-key'] as string | undefined });
        res.writeHead(status).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/page`;
    scratch = await openScratchTopic(topic, 1, [], kafkaClientConfig);
    producer = scratch.kafka.producer();
    await producer.connect();
  });

  afterAll(async () => {
    await pager?.stop();
    await producer?.disconnect();
    await scratch?.close([group]);
    await new Promise((r) => server.close(r));
  });

  it('pages each Critical alert at raise and at each escalation level, through the paging service failing, and nothing else', async () => {
    const metrics = new Metrics('pager-test');
    await startPager(metrics);
    await send([
      alert('A'),
      alert('W', { severity: 'warning' }),
      alert('K', { version: 2, acknowledged: { by: 'crisis-lead', at: 3_000 } }),
      alert('R', { version: 2, resolvedAt: 3_000 }),
    ]);
    await send([alert('A', { version: 2, escalated: { level: 1, role: 'bed_manager', at: 4_000 } })]);
    await waitFor(() => accepted().includes('RXT/A/1'), { timeoutMs: 60_000, what: 'the escalation page accepted' });

    expect([...new Set(accepted())]).toEqual(['RXT/A/0', 'RXT/A/1']);
    // The first two deliveries failed (503) and were retried, not dropped.
    expect(received.slice(0, 3).map((r) => [r.status, r.page.pageId])).toEqual([[503, 'RXT/A/0'], [503, 'RXT/A/0'], [200, 'RXT/A/0']]);
    expect(await metrics.registry.getSingleMetricAsString('pfm_pager_failures_total')).toContain('pfm_pager_failures_total{reason="http_5xx",service="pager-test"} 2');
    for (const r of received) {
      expect(r.auth).toBe('Bearer pager-secret');
      expect(r.key).toBe(r.page.pageId);
      const text = JSON.stringify(r.page);
      for (const identifier of ['9990000018', '999 000 0018', 'P-PAGER', 'no follow-up contact']) expect(text).not.toContain(identifier);
    }
    expect(received.find((r) => r.page.pageId === 'RXT/A/1')?.page).toMatchObject({ level: 1, role: 'bed_manager', ward: 'NG-ASH', link: 'https://board.test/#/alerts?rule=followup_missed' });
  });

  it('a page raised while the pager is stopped is delivered when it starts again', async () => {
    await pager!.stop();
    pager = undefined;
    await send([alert('B', { rule: 'awol', ward: 'NG-ELM' })]);
    await startPager();
    await waitFor(() => accepted().includes('RXT/B/0'), { timeoutMs: 60_000, what: 'the page sent while the pager was down' });
    expect([...new Set(accepted())].sort()).toEqual(['RXT/A/0', 'RXT/A/1', 'RXT/B/0']);
  });
  it('a page the paging service refuses as malformed on every try is given up after 3, loudly, and the pages after it go out', async () => {
    await pager!.stop();
    const metrics = new Metrics('pager-refused-test');
    await startPager(metrics);
    await send([alert('MALFORMED-1'), alert('C', { rule: 'awol', ward: 'NG-OAK' })]);
    await waitFor(() => accepted().includes('RXT/C/0'), { timeoutMs: 60_000, what: 'the page after the refused one' });
    expect(received.filter((r) => r.page.alertId === 'MALFORMED-1').map((r) => r.status)).toEqual([422, 422, 422]);
    expect(await metrics.registry.getSingleMetricAsString('pfm_pager_pages_refused_total')).toContain('pfm_pager_pages_refused_total{rule="followup_missed",status="422",service="pager-refused-test"} 1');
  });
});
