// What ops do with a replayed sandbox: the board as it was at T, a what-if comparison
// of alerts under other thresholds, and the determinism check against live state.
import type { Alert, PatientRow, WardSummary } from '@pfm/contracts';
import { fold } from '@pfm/flow-domain';
import type { FlowStore } from '@pfm/flow-store';

export interface BoardAt { at: number; sites: { site: string; wards: WardSummary[]; flagged: PatientRow[]; alerts: Alert[] }[] }

export async function boardAt(store: FlowStore, at: number): Promise<BoardAt> {
  // Every read is sent at once (one connection pipelines them): the board of a trust is
  // dozens of wards, and one round trip after another was most of a time-travel request.
  const sites = await Promise.all((await store.sites()).map(async (site) => {
    const codes = await store.wardCodes(site);
    const [wards, onWards, alerts] = await Promise.all([
      store.wardSummaries(site, codes, at),
      Promise.all(codes.map((w) => store.patientsOnWard(site, w, at))),
      store.alerts(site, { limit: 1_000_000 }),
    ]);
    const flagged: PatientRow[] = onWards.flat().filter((r) => r.flags.some((f) => f !== 'on_leave'));
    return { site, wards, flagged, alerts: alerts.filter((a) => a.becameTrueAt <= at) };
  }));
  return { at, sites };
}

export interface AlertDiff {
  byRule: Record<string, { baseline: number; candidate: number; delta: number }>;
  byRuleAndWard: Record<string, Record<string, number>>;
  onlyCandidate: number;
  onlyBaseline: number;
  lines: string[];
}

/** Alerts of the candidate run against the baseline run, by rule and by ward. */
export async function diffAlerts(baseline: FlowStore, candidate: FlowStore, range: { from?: number; to?: number } = {}): Promise<AlertDiff> {
  const inRange = (a: Alert) => (range.from === undefined || a.becameTrueAt >= range.from) && (range.to === undefined || a.becameTrueAt <= range.to);
  // Every alert raised in the range, open or since resolved (a clock that fired and stopped counts).
  const all = async (s: FlowStore) => (await Promise.all((await s.sites()).map((site) => s.alerts(site, { includeResolved: true })))).flat().filter(inRange);
  const b = await all(baseline);
  const c = await all(candidate);
  const key = (a: Alert) => `${a.rule}|${a.site}|${a.patientId ?? ''}|${a.spellId ?? a.referralId ?? ''}`;
  const bKeys = new Set(b.map(key));
  const cKeys = new Set(c.map(key));
  const byRule: AlertDiff['byRule'] = {};
  const bump = (rule: string, side: 'baseline' | 'candidate') => { byRule[rule] ??= { baseline: 0, candidate: 0, delta: 0 }; byRule[rule][side] += 1; byRule[rule].delta = byRule[rule].candidate - byRule[rule].baseline; };
  for (const a of b) bump(a.rule, 'baseline');
  for (const a of c) bump(a.rule, 'candidate');
  const byRuleAndWard: AlertDiff['byRuleAndWard'] = {};
  for (const a of c) if (!bKeys.has(key(a))) { (byRuleAndWard[a.rule] ??= {})[a.ward ?? a.team ?? '-'] = ((byRuleAndWard[a.rule] ?? {})[a.ward ?? a.team ?? '-'] ?? 0) + 1; }
  const lines: string[] = [];
  for (const [rule, n] of Object.entries(byRule)) {
    if (n.delta === 0) continue;
    const wards = Object.entries(byRuleAndWard[rule] ?? {}).sort((x, y) => y[1] - x[1]);
    const top = wards[0] ? `, ${wards[0][1]} on ward ${wards[0][0]}` : '';
    lines.push(`${rule}: ${Math.abs(n.delta)} ${n.delta > 0 ? 'more' : 'fewer'} alerts (${n.baseline} -> ${n.candidate})${n.delta > 0 ? top : ''}`);
  }
  return { byRule, byRuleAndWard, onlyCandidate: c.filter((a) => !bKeys.has(key(a))).length, onlyBaseline: b.filter((a) => !cKeys.has(key(a))).length, lines };
}

/**
 * A due set as a scan up to `after` would leave it: each patient with its time (members of
 * the older per-clock form folded into their patient); a patient due by then (one store's
 * clock may not have reached it yet, its member then names an earlier clock than the other
 * store's) at its first clock after `after` from its own state, or left out when it runs none.
 */
async function dueAfter(s: FlowStore, site: string, members: string[], after: number): Promise<string[]> {
  const by = new Map<string, number>();
  for (let i = 0; i < members.length; i += 2) {
    const pid = members[i]!.split('\u001f')[0]!;
    by.set(pid, Math.min(by.get(pid) ?? Number.POSITIVE_INFINITY, Number(members[i + 1])));
  }
  const out: string[] = [];
  for (const [pid, score] of [...by].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    let at: number | undefined = score;
    if (score <= after) {
      const st = await s.patient(site, pid);
      at = undefined;
      for (const t of st ? s.derive(site, pid, fold(st.events).view).timers : []) if (t.dueAt > after && (at === undefined || t.dueAt < at)) at = t.dueAt;
    }
    if (at !== undefined) out.push(pid, String(at));
  }
  return out;
}

export interface Determinism { equal: boolean; keysCompared: number; differences: string[]; alertsCompared: number; alertDifferences: string[] }

/**
 * Sandbox state against live state: every key in canonical form, except what depends
 * on when things ran rather than on the events (clock, outbox, per-scope seq counters,
 * raisedAt, and the escalation schedule, timed from raisedAt); clocks and alerts are
 * compared up to the replay's watermark.
 */
export async function compareWithLive(live: FlowStore, sandbox: FlowStore, replayWatermark: number): Promise<Determinism> {
  // Live may not have scanned up to the end of the log yet (its scanner runs on its own
  // clock): compare clocks and alerts up to the earlier of the two clocks.
  const liveClocks = await Promise.all((await live.sites()).map((s) => live.clock(s)));
  const liveClock = Math.min(...liveClocks.map((c) => c ?? Number.POSITIVE_INFINITY));
  const watermark = Math.min(replayWatermark, liveClock);
  const after = Math.max(replayWatermark, liveClock === Number.POSITIVE_INFINITY ? 0 : liveClock);
  const norm = async (s: FlowStore) => {
    const dump = await s.dump({ exclude: /:(clock|outbox|aout|esc)$|:a:/ });
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(dump)) {
      const key = k.replace(s.keys.prefix, '<p>');
      if (key.endsWith(':due')) { out[key] = await dueAfter(s, /:\{([^}]*)\}:due$/.exec(k)![1]!, v as string[], after); continue; }
      if (/:c:/.test(key) && v && typeof v === 'object' && !Array.isArray(v)) { const { seq: _seq, ...rest } = v as Record<string, string>; out[key] = rest; continue; }
      if (key.endsWith(':fu') || key.endsWith(':alerts')) {
        const arr = v as string[];
        const kept: string[] = [];
        // Follow-up clocks still to fire after both clocks; alerts up to the earlier.
        const clocks = key.endsWith(':fu');
        for (let i = 0; i < arr.length; i += 2) {
          const score = Number(arr[i + 1]);
          if (clocks ? score > after : score <= watermark) kept.push(arr[i]!, arr[i + 1]!);
        }
        out[key] = kept;
        continue;
      }
      out[key] = v;
    }
    return out;
  };
  const a = await norm(live);
  const b = await norm(sandbox);
  const differences = [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]));
  const alerts = async (s: FlowStore) => new Map((await Promise.all((await s.sites()).map((site) => s.alerts(site, { limit: 1_000_000 })))).flat().filter((x) => x.becameTrueAt <= watermark).map((x) => [x.alertId, x.becameTrueAt]));
  const la = await alerts(live);
  const sa = await alerts(sandbox);
  const alertDifferences = [...new Set([...la.keys(), ...sa.keys()])].filter((id) => la.get(id) !== sa.get(id));
  return { equal: differences.length === 0 && alertDifferences.length === 0, keysCompared: Object.keys(a).length, differences: differences.slice(0, 50), alertsCompared: la.size, alertDifferences: alertDifferences.slice(0, 50) };
}
