// Alert gauges read from Redis at scrape time: what is on the board now, by rule and
// severity, and how long the oldest unacknowledged alert of each rule has waited
// (the "follow-up alerts unacknowledged" page). Counts come from the alert index the
// board reads, so they match what people see.
import type { Alert } from '@pfm/contracts';
import type { FlowStore } from '@pfm/flow-store';
import type { Metrics } from '@pfm/observability';
import type { Clock } from '@pfm/flow-processing';

/** Most alerts read per site per scrape; a site with more is counted up to this (and says so). */
export const ALERT_SCRAPE_LIMIT = 20_000;

export interface AlertCounts {
  active: Map<string, { site: string; rule: string; severity: string; acknowledged: string; n: number }>;
  oldestUnacknowledged: Map<string, { site: string; rule: string; seconds: number }>;
  truncated: Set<string>;
}

/** Pure: folds a site's active alerts into the gauge values. */
export function countAlerts(site: string, alerts: Alert[], now: number, into: AlertCounts): void {
  for (const a of alerts) {
    if (a.resolvedAt !== undefined) continue;
    const acknowledged = a.acknowledged ? 'true' : 'false';
    const k = `${site}|${a.rule}|${a.severity}|${acknowledged}`;
    const row = into.active.get(k) ?? { site, rule: a.rule, severity: a.severity, acknowledged, n: 0 };
    row.n += 1;
    into.active.set(k, row);
    if (!a.acknowledged) {
      const seconds = Math.max(0, (now - a.raisedAt) / 1000);
      const o = into.oldestUnacknowledged.get(`${site}|${a.rule}`);
      if (!o || seconds > o.seconds) into.oldestUnacknowledged.set(`${site}|${a.rule}`, { site, rule: a.rule, seconds });
    }
  }
}

/** Registers `pfm_alerts_active` and `pfm_alerts_unacknowledged_oldest_seconds` (one Redis read per scrape). */
export function exportAlertGauges(metrics: Metrics, store: FlowStore, clock: Clock): void {
  let current: Promise<AlertCounts> = Promise.resolve({ active: new Map(), oldestUnacknowledged: new Map(), truncated: new Set() });
  metrics.gaugeCollected('pfm_alerts_active', 'Active (raised, not resolved) alerts by site, rule, severity and acknowledgement', ['site', 'rule', 'severity', 'acknowledged'], async (set) => {
    current = (async () => {
      const counts: AlertCounts = { active: new Map(), oldestUnacknowledged: new Map(), truncated: new Set() };
      const now = clock.now();
      for (const site of await store.sites()) {
        const alerts = await store.alerts(site, { limit: ALERT_SCRAPE_LIMIT });
        if (alerts.length >= ALERT_SCRAPE_LIMIT) counts.truncated.add(site);
        countAlerts(site, alerts, now, counts);
      }
      return counts;
    })();
    for (const r of (await current).active.values()) set({ site: r.site, rule: r.rule, severity: r.severity, acknowledged: r.acknowledged }, r.n);
  });
  // Registered after the first gauge, so it reads the counts of the same scrape.
  metrics.gaugeCollected('pfm_alerts_unacknowledged_oldest_seconds', 'Age of the oldest active unacknowledged alert, by site and rule (engine clock)', ['site', 'rule'], async (set) => {
    for (const o of (await current).oldestUnacknowledged.values()) set({ site: o.site, rule: o.rule }, o.seconds);
  });
  metrics.gaugeCollected('pfm_alerts_scrape_truncated', `1 for a site with more than ${ALERT_SCRAPE_LIMIT} active alerts (counts above are of the newest ones)`, ['site'], async (set) => {
    for (const site of (await current).truncated) set({ site }, 1);
  });
}
