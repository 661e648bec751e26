// Reads the observability artifacts under infra/observability: the Prometheus rule file
// and the Grafana dashboard, as lists of PromQL expressions with where each came from.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';

export const OBSERVABILITY_DIR = join(__dirname, '..', '..', '..', 'infra', 'observability');

const ruleSchema = z.union([
  z.object({ alert: z.string(), expr: z.string(), for: z.string().optional(), labels: z.record(z.string(), z.string()).optional(), annotations: z.record(z.string(), z.string()).optional() }),
  z.object({ record: z.string(), expr: z.string(), labels: z.record(z.string(), z.string()).optional() }),
]);
const ruleFileSchema = z.object({ groups: z.array(z.object({ name: z.string(), rules: z.array(ruleSchema) })) });
export type Rule = z.infer<typeof ruleSchema>;

export function loadRules(file = join(OBSERVABILITY_DIR, 'alerts.yml')): Rule[] {
  return ruleFileSchema.parse(parse(readFileSync(file, 'utf8'))).groups.flatMap((g) => g.rules);
}

const targetSchema = z.object({ expr: z.string().min(1), refId: z.string(), legendFormat: z.string().optional() }).loose();
const panelSchema = z.object({
  id: z.number().int(),
  type: z.string(),
  title: z.string().min(1),
  gridPos: z.object({ x: z.number(), y: z.number(), w: z.number(), h: z.number() }),
  datasource: z.object({ type: z.literal('prometheus'), uid: z.string() }).optional(),
  targets: z.array(targetSchema).optional(),
}).loose();
const dashboardSchema = z.object({
  uid: z.string().min(1),
  title: z.string().min(1),
  schemaVersion: z.number().int(),
  panels: z.array(panelSchema).min(1),
  templating: z.object({ list: z.array(z.object({ name: z.string(), type: z.string() }).loose()) }).optional(),
}).loose();
export type Dashboard = z.infer<typeof dashboardSchema>;

export function loadDashboard(file = join(OBSERVABILITY_DIR, 'grafana-dashboard.json')): Dashboard {
  return dashboardSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
}

export interface Expression { where: string; expr: string }

/** Every query of every panel, with dashboard variables replaced by a match-all value. */
export function dashboardExpressions(d: Dashboard): Expression[] {
  return d.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ where: `panel "${p.title}" ${t.refId}`, expr: t.expr.replace(/\$__rate_interval|\$__interval/g, '5m').replace(/\$\{?(\w+)\}?/g, '.*') })));
}

export function ruleExpressions(rules: Rule[]): Expression[] {
  return rules.map((r) => ({ where: 'alert' in r ? `alert ${r.alert}` : `record ${r.record}`, expr: r.expr }));
}
