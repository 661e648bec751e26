// The dashboard and rule files parse, every query is valid PromQL, and every alert links
// to its section of the runbook.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { dashboardExpressions, loadDashboard, loadRules, ruleExpressions } from './artifacts';
import { metricNames } from './promql';

const runbook = readFileSync(join(__dirname, '..', '..', '..', 'docs', 'operations.md'), 'utf8');
/** GitHub-style heading anchors of the runbook. */
const anchors = new Set([...runbook.matchAll(/^#{1,6} (.+)$/gm)].map((m) => m[1]!.trim().toLowerCase().replace(/[^a-z0-9 -]/g, '').replace(/ /g, '-')));

describe('Grafana dashboard', () => {
  const d = loadDashboard();
  it('has unique panel ids, a Prometheus datasource variable and a query on every non-row panel', () => {
    const ids = d.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(d.templating?.list.find((v) => v.name === 'datasource')?.type).toBe('datasource');
    for (const p of d.panels.filter((x) => x.type !== 'row')) {
      expect({ panel: p.title, datasource: p.datasource?.uid, queries: (p.targets ?? []).length > 0 }).toEqual({ panel: p.title, datasource: '${datasource}', queries: true });
    }
  });

  it('has only valid PromQL, each query naming at least one metric', () => {
    for (const e of dashboardExpressions(d)) expect({ where: e.where, names: metricNames(e.expr).length > 0 }).toEqual({ where: e.where, names: true });
  });
});

describe('alert rules', () => {
  const rules = loadRules();
  it('are valid PromQL; every alert has a severity, a summary and a runbook section that exists', () => {
    for (const e of ruleExpressions(rules)) expect(metricNames(e.expr).length).toBeGreaterThan(0);
    const alerts = rules.filter((r) => 'alert' in r);
    expect(alerts.length).toBeGreaterThanOrEqual(8);
    for (const a of alerts) {
      const anchor = a.annotations?.runbook?.split('#')[1];
      expect({ alert: a.alert, severity: a.labels?.severity, summary: !!a.annotations?.summary, runbook: anchor !== undefined && anchors.has(anchor) })
        .toEqual({ alert: a.alert, severity: expect.stringMatching(/^(warning|critical)$/), summary: true, runbook: true });
    }
  });
});
