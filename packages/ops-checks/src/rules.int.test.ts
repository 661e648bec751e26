/** @pfm-stack none */
// The alert rules checked and unit-tested by Prometheus's own promtool (Debian's
// `prometheus` package; ./pfm test installs it when missing).
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OBSERVABILITY_DIR } from './artifacts';

function promtool(args: string[], cwd: string): { ok: boolean; out: string } {
  try {
    return { ok: true, out: execFileSync('promtool', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }) };
  } catch (e) {
    const err = e as { code?: string; stdout?: string; stderr?: string };
    if (err.code === 'ENOENT') throw new Error('promtool not found: apt-get install -y prometheus (./pfm test does this)');
    return { ok: false, out: `${err.stdout ?? ''}${err.stderr ?? ''}` };
  }
}

describe('alert rules under promtool', () => {
  it('pass `promtool check rules`', () => {
    const r = promtool(['check', 'rules', 'alerts.yml'], OBSERVABILITY_DIR);
    expect(r.out).toMatch(/SUCCESS: \d+ rules found/);
    expect(r.ok).toBe(true);
  });

  it('pass their unit tests (`promtool test rules alerts.test.yml`)', () => {
    const r = promtool(['test', 'rules', 'alerts.test.yml'], OBSERVABILITY_DIR);
    expect(r.out).toContain('SUCCESS');
    expect(r.ok).toBe(true);
  });

  it('the unit tests catch a changed threshold (they can fail)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pfm-rules-'));
    cpSync(join(OBSERVABILITY_DIR, 'alerts.test.yml'), join(dir, 'alerts.test.yml'));
    const rules = readFileSync(join(OBSERVABILITY_DIR, 'alerts.yml'), 'utf8');
    writeFileSync(join(dir, 'alerts.yml'), rules.replace('rule=~"followup_due|followup_missed"}) > 3600', 'rule=~"followup_due|followup_missed"}) > 7200'));
    const r = promtool(['test', 'rules', 'alerts.test.yml'], dir);
    expect(r.ok).toBe(false);
    expect(r.out).toContain('alertname: PfmFollowUpUnacknowledged');
  });

  it('the unit tests catch a dead-letter alert that also counts engine rejects', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pfm-rules-'));
    cpSync(join(OBSERVABILITY_DIR, 'alerts.test.yml'), join(dir, 'alerts.test.yml'));
    const rules = readFileSync(join(OBSERVABILITY_DIR, 'alerts.yml'), 'utf8');
    const widened = rules.replace('increase(pfm_engine_events_total{outcome="dead_lettered"}[1h])', 'increase(pfm_engine_events_total{outcome=~"dead_lettered|rejected"}[1h])');
    expect(widened).not.toBe(rules);
    writeFileSync(join(dir, 'alerts.yml'), widened);
    const r = promtool(['test', 'rules', 'alerts.test.yml'], dir);
    expect(r.ok).toBe(false);
    expect(r.out).toContain('alertname: PfmEventsDeadLettered');
  });
});
