// Paging: a Critical alert pages a person outside the product. The pager reads the alerts
// topic in a consumer group of its own and sends each Critical alert that nobody has
// acknowledged, when raised and again at each escalation level, to the trust's paging
// service (an HTTPS webhook). A page is delivered at least once: the group's offset moves
// on only after the paging service answered 2xx, delivery is retried with back-off for as
// long as it fails (never dropped), and every page carries an idempotency key
// (site/alert/level) so the paging service can drop repeats. Pages carry no patient
// identifiers: no NHS number, no name, no patient id, not the alert's message text (which
// quotes the NHS number); the link opens the board's alert feed filtered to the alert's rule (the board's own
// route, #/alerts?rule=), behind its login.
import type { Consumer, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import { alertSchema, type Alert } from '@pfm/contracts';
import { createConsumer, superviseConsumer } from '@pfm/kafka-runtime';
import type { Logger, Metrics } from '@pfm/observability';

/** What the paging service receives (JSON body). */
export interface Page {
  /** Idempotency key: the same alert at the same level is the same page. */
  pageId: string;
  alertId: string;
  rule: Alert['rule'];
  severity: 'critical';
  site: string;
  ward?: string;
  team?: string;
  area?: string;
  threshold: Alert['threshold'];
  source: string;
  becameTrueAt: number;
  raisedAt: number;
  /** 0 when raised; n once escalated to level n, with the role now responsible. */
  level: number;
  role?: string;
  version: number;
  link?: string;
}

/** The page an alert version calls for, or null (not Critical, acknowledged, resolved). */
export function pageFor(a: Alert, boardUrl?: string): Page | null {
  if (a.severity !== 'critical' || a.acknowledged !== undefined || a.resolvedAt !== undefined) return null;
  const level = a.escalated?.level ?? 0;
  const page: Page = {
    pageId: `${a.site}/${a.alertId}/${level}`, alertId: a.alertId, rule: a.rule, severity: 'critical', site: a.site,
    threshold: a.threshold, source: a.source, becameTrueAt: a.becameTrueAt, raisedAt: a.raisedAt, level, version: a.version ?? 1,
  };
  if (a.ward !== undefined) page.ward = a.ward;
  if (a.team !== undefined) page.team = a.team;
  if (a.area !== undefined) page.area = a.area;
  if (a.escalated) page.role = a.escalated.role;
  if (boardUrl) page.link = `${boardUrl.replace(/\/+$/, '')}/#/alerts?rule=${encodeURIComponent(a.rule)}`;
  return page;
}

/**
 * The pages of one batch of alert versions, in order: an alert whose later version in the
 * same batch is acknowledged or resolved pages nothing, and each level pages once.
 */
export function pagesOf(alerts: Alert[], boardUrl?: string): Page[] {
  const latest = new Map<string, Alert>();
  for (const a of alerts) {
    const key = `${a.site}/${a.alertId}`;
    const seen = latest.get(key);
    if (!seen || (a.version ?? 1) >= (seen.version ?? 1)) latest.set(key, a);
  }
  const out = new Map<string, Page>();
  for (const a of alerts) {
    const last = latest.get(`${a.site}/${a.alertId}`)!;
    if (last.acknowledged !== undefined || last.resolvedAt !== undefined) continue;
    const p = pageFor(a, boardUrl);
    if (p && !out.has(p.pageId)) out.set(p.pageId, p);
  }
  return [...out.values()];
}

export interface PagerOptions {
  kafka: Kafka;
  alertsTopic: string;
  groupId: string;
  /** The paging service's webhook (POST, JSON). */
  url: string;
  /** Sent as `Authorization: Bearer <token>` when set. */
  token?: string;
  boardUrl?: string;
  logger: Logger;
  metrics?: Metrics;
  /** Where a group with no committed offset starts: the topic's end (default) or its start. */
  fromBeginning?: boolean;
  /** Per request (default 10 s). */
  timeoutMs?: number;
  /** First wait after a failed delivery, doubled up to maxBackoffMs (defaults 1 s, 10 s: with the request timeout, within the group's session timeout). */
  backoffMs?: number;
  maxBackoffMs?: number;
}

/**
 * The pager's metrics. A service that runs no pager registers them too (all zero), so the
 * alert rules and dashboards find the same series whether paging is configured or not.
 */
export function pagerMetrics(metrics: Metrics) {
  return {
    delivered: metrics.counter('pfm_pager_pages_total', 'Pages the paging service accepted (Critical alerts, at raise and at each escalation level)', ['rule', 'level']),
    failures: metrics.counter('pfm_pager_failures_total', 'Failed page deliveries (each is retried until the paging service accepts it, or refuses that page as malformed REFUSED_ATTEMPTS times)', ['reason']),
    refused: metrics.counter('pfm_pager_pages_refused_total', 'Pages the paging service refused as malformed (HTTP 400, 413, 415, 422) on every try: not sent again, so that they do not hold up every later page; the alert stays on the boards', ['rule', 'status']),
    restarts: metrics.counter('pfm_pager_consumer_restarts_total', 'Times the pager started its Kafka consumer again after kafkajs gave it up'),
  };
}

/**
 * Answers by which the paging service refuses this one request (its body), not paging as a
 * whole: sending the same page again cannot succeed. A page so refused this many times in a
 * row is given up, loudly, rather than hold up every later page behind it. Every other
 * failure (no answer, 5xx, 401/403/404: the service or the pager's settings) is retried
 * until it passes, since every page would fail the same way.
 */
export const REFUSED_STATUSES = new Set([400, 413, 415, 422]);
export const REFUSED_ATTEMPTS = 3;

/** Reads the alerts topic and pages for Critical alerts until stopped. */
export class Pager {
  private consumer?: Consumer;
  private stopping = false;
  private readonly delivered: ReturnType<Metrics['counter']> | undefined;
  private readonly failures: ReturnType<Metrics['counter']> | undefined;
  private readonly restarts: ReturnType<Metrics['counter']> | undefined;
  private readonly refused: ReturnType<Metrics['counter']> | undefined;

  constructor(private readonly o: PagerOptions) {
    const c = o.metrics && pagerMetrics(o.metrics);
    this.delivered = c?.delivered;
    this.failures = c?.failures;
    this.restarts = c?.restarts;
    this.refused = c?.refused;
  }

  async start(): Promise<void> {
    const consumer = createConsumer(this.o.kafka, { groupId: this.o.groupId });
    this.consumer = consumer;
    superviseConsumer(consumer, {
      logger: this.o.logger, what: 'pager', stopped: () => this.stopping, onRestart: () => this.restarts?.inc(),
      restart: async () => { await this.consumer?.disconnect().catch(() => undefined); await this.start(); },
    });
    await consumer.connect();
    await consumer.subscribe({ topics: [this.o.alertsTopic], fromBeginning: this.o.fromBeginning ?? false });
    await consumer.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch: (p) => this.onBatch(p) });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.consumer?.disconnect().catch(() => undefined);
  }

  private async onBatch({ batch, resolveOffset, commitOffsetsIfNecessary, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    const alerts: Alert[] = [];
    for (const m of batch.messages) {
      const a = this.parse(m);
      if (a) alerts.push(a);
    }
    for (const page of pagesOf(alerts, this.o.boardUrl)) {
      // Not delivered yet: the offset stays where it is, so a restart pages again (same key).
      if (!(await this.deliver(page, () => isRunning() && !isStale() && !this.stopping, heartbeat))) return;
    }
    const last = batch.messages[batch.messages.length - 1];
    if (last) resolveOffset(last.offset);
    await commitOffsetsIfNecessary({ topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: (BigInt(batch.lastOffset()) + 1n).toString() }] }] });
  }

  private parse(m: KafkaMessage): Alert | null {
    try {
      return alertSchema.parse(JSON.parse(m.value?.toString('utf8') ?? 'null'));
    } catch {
      // Not an alert the contract knows: nothing to page, and nothing the paging service could read.
      this.failures?.inc({ reason: 'unreadable_alert' });
      this.o.logger.error({ offset: m.offset }, 'pager: a message on the alerts topic is not an alert; skipped');
      return null;
    }
  }

  /**
   * Posts the page until the paging service accepts it, or has refused this page as
   * malformed REFUSED_ATTEMPTS times in a row; false if the pager stopped first.
   */
  private async deliver(page: Page, running: () => boolean, heartbeat: () => Promise<void>): Promise<boolean> {
    let wait = this.o.backoffMs ?? 1000;
    let refusals = 0;
    for (let attempt = 1; running(); attempt++) {
      const reason = await this.post(page);
      if (reason === null) {
        this.delivered?.inc({ rule: page.rule, level: String(page.level) });
        this.o.logger.info({ pageId: page.pageId, rule: page.rule, level: page.level, attempt }, 'paged');
        return true;
      }
      this.failures?.inc({ reason: reason.kind });
      refusals = reason.status !== undefined && REFUSED_STATUSES.has(reason.status) ? refusals + 1 : 0;
      if (refusals >= REFUSED_ATTEMPTS) {
        this.refused?.inc({ rule: page.rule, status: String(reason.status) });
        this.o.logger.error({ pageId: page.pageId, rule: page.rule, level: page.level, attempts: attempt, reason: reason.detail },
          'the paging service refused this page as malformed on every try: it is not sent again, so that later pages are not held up; the alert stays on the boards and escalates there');
        return true;
      }
      this.o.logger.error({ pageId: page.pageId, attempt, reason: reason.detail, retryInMs: wait }, 'page not delivered: retrying');
      await heartbeat().catch(() => undefined);
      await new Promise((r) => setTimeout(r, wait));
      await heartbeat().catch(() => undefined);
      wait = Math.min(wait * 2, this.o.maxBackoffMs ?? 10_000);
    }
    return false;
  }

  private async post(page: Page): Promise<{ kind: string; detail: string; status?: number } | null> {
    try {
      const headers: Record<string, string> = { 'content-type': 'application/json', 'idempotency-key': page.pageId };
      if (this.o.token) headers.authorization = `Bearer ${this.o.token}`;
      const res = await fetch(this.o.url, { method: 'POST', headers, body: JSON.stringify(page), signal: AbortSignal.timeout(this.o.timeoutMs ?? 10_000) });
      await res.arrayBuffer().catch(() => undefined);
      return res.ok ? null : { kind: `http_${Math.floor(res.status / 100)}xx`, detail: `HTTP ${res.status}`, status: res.status };
    } catch (err) {
      const timeout = err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError');
      return { kind: timeout ? 'timeout' : 'network', detail: timeout ? 'no answer in time' : err instanceof Error ? err.message : String(err) };
    }
  }
}
