// ./pfm demo: the live product on the local stack, fed by a synthetic trust.
//   1. the trust's ward registry -> PFM_WARDS_FILE; a JWT secret kept in .stack/demo-secret
//   2. ingest, flow-engine and board-gateway as child processes (logs in .stack/logs/), each
//      logged in to Kafka and the registry as its own principal (the stack's password files;
//      acls.txt's rules granted on the demo's topic namespace, when it has one),
//      on event time (PFM_CLOCK=event), so time-compressed demo time is one clock; once the
//      board is ready, the insights warehouse too (.stack/insights-<namespace>.v<schema>.duckdb)
//   3. warm start: the last N days of history sent as fast as the pipeline takes them
//      (HL7 over MLLP, FHIR, JSON), with a progress bar; skipped when an earlier demo's
//      state is still live (it continues from where that run stopped)
//   4. live: simulated time runs --speed times faster than the wall clock, with a small
//      fault rate; Ctrl-C stops the simulator, then the services, and prints a summary.
// Load mode (--load) sends loadStream at a fixed rate into a sandbox namespace, for benchmarks.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Presets, SingleBar } from 'cli-progress';
import { Command, InvalidArgumentError, Option } from 'commander';
import Redis from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import { grantNamespaceAcls, kafkaClientConfig, namespaceGroups, passwordFilesFromEnv, servicePrincipalEnv, SERVICE_PRINCIPALS, type KafkaService } from '@pfm/kafka-runtime';
import type { WardSummary } from '@pfm/contracts';
import { Auth } from '../services/board-gateway/src/auth';
import { SCHEMA_VERSION as WAREHOUSE_SCHEMA_VERSION } from '../services/insights/src/schema';
import { createSimulation, defaultTrust, describeLoad, loadSiteCodes, loadStream, makeTrust, settingsOf, wardsOf, type Simulation } from '../services/simulator/src';
import { runLive, sendAll, TrustSender } from '../services/simulator/src/send';
import { httpOk, logSays, repoRoot, requirePortFree, startChild, type Child } from './demo/processes';
import { clearLive, demoRejectsKey, demoSecret, demoSenders, engineClock, flowEventCount, freshNamespace, hasLiveState, LIVE_PREFIX, prepareNamespace, readState, schemaRefusal, writeState, type DemoState } from './demo/state';

const stateDir = process.env.PFM_STATE_DIR ?? join(repoRoot, '.stack');
/** Demo board links last a week; the gateway's maximum token age is set to match. */
const DEMO_TOKEN_DAYS = 8;
const files = { state: join(stateDir, 'demo-state.json'), secret: join(stateDir, 'demo-secret'), logs: join(stateDir, 'logs'), dir: join(stateDir, 'demo') };
const t0 = Number(process.env.PFM_DEMO_T0_MS) || Date.now();
const since = (): string => `${((Date.now() - t0) / 1000).toFixed(1)} s`;
const say = (m: string): void => void process.stdout.write(`\x1b[1m[demo]\x1b[0m ${m}\n`);

const int = (name: string, min: number) => (v: string): number => {
  const n = Number(v);
  if (!Number.isFinite(n) || n < min) throw new InvalidArgumentError(`${name} must be a number >= ${min}`);
  return n;
};

interface Opts {
  seed: string; historyDays: number; speed: number; faults: boolean; fresh: boolean; connections: number; exitAfterHistory: boolean;
  load: boolean; rate: number; duration: number; sites: number; traces?: string;
}

const program = new Command('pfm demo')
  .description('The live product on the local stack, fed by a synthetic mental-health trust.')
  .option('--seed <seed>', 'simulation seed (one seed, one trust history)', '42')
  .option('--history-days <days>', 'days of history sent before going live', int('--history-days', 0), 120)
  .option('--speed <x>', 'simulated time per real time when live (3600 = one simulated hour per second)', int('--speed', 1), 3600)
  .option('--no-faults', 'no delivery faults (duplicates, late messages, bad NHS numbers) and no cancels')
  .option('--fresh', 'forget an earlier demo: clear its live keys (prefix pfm) and use a new topic namespace', false)
  .option('--connections <n>', 'MLLP connections to ingest', int('--connections', 1), 8)
  .option('--exit-after-history', 'stop once the board shows the history (for timing and scripts)', false)
  .option('--traces <url>', 'export OpenTelemetry traces by OTLP/HTTP to this collector endpoint (e.g. http://127.0.0.1:4318/v1/traces); off by default')
  .addOption(new Option('--load', 'load mode: loadStream at --rate events/s for --duration s over --sites sites, in a sandbox namespace').default(false))
  .option('--rate <n>', 'load mode: events per second', int('--rate', 1), 500)
  .option('--duration <s>', 'load mode: seconds', int('--duration', 1), 60)
  .option('--sites <k>', 'load mode: sites (organisations)', int('--sites', 1), 3)
  .showHelpAfterError();

interface Ports { http: number; mllp: number; gateway: number }

function ports(): Ports {
  const n = (v: string | undefined, d: number) => (v ? Number(v) : d);
  return { http: n(process.env.PFM_INGEST_HTTP_PORT, 8080), mllp: n(process.env.PFM_MLLP_PORT, 2575), gateway: n(process.env.PFM_GATEWAY_PORT, 3000) };
}

async function checkPorts(p: Ports): Promise<void> {
  await requirePortFree(p.http, 'ingest HTTP', 'PFM_INGEST_HTTP_PORT');
  await requirePortFree(p.mllp, 'ingest MLLP', 'PFM_MLLP_PORT');
  await requirePortFree(p.gateway, 'board-gateway', 'PFM_GATEWAY_PORT');
}

/** Each service's own logins (Kafka and registry principals), or none on a stack without logins. */
type Logins = (service: KafkaService) => Record<string, string>;

/**
 * Reads the stack's password files (PFM_KAFKA_PASSWORDS_FILE, PFM_REGISTRY_PASSWORDS_FILE)
 * and checks every service's principal is there before anything starts; on a stack
 * without Kafka logins (PFM_KAFKA_SASL=0) the services keep the environment's.
 */
function serviceLogins(): Logins {
  const files = passwordFilesFromEnv();
  if (!files) return () => ({});
  const logins = new Map((Object.keys(SERVICE_PRINCIPALS) as KafkaService[]).map((s) => [s, servicePrincipalEnv(s, files)]));
  return (s) => logins.get(s)!;
}

/** Grants acls.txt's service rules on a namespace's topics (nothing for the live names, which kafka.sh grants). */
async function grantDemoAcls(namespace: string): Promise<void> {
  const files = passwordFilesFromEnv();
  if (!files || !namespace) return;
  const aclsFile = process.env.PFM_KAFKA_ACLS_FILE ?? join(repoRoot, 'infra', 'kafka', 'acls.txt');
  const rules = await grantNamespaceAcls({ brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','), namespace, aclsFile, kafka: files.kafka });
  say(`granted the services' ${rules.length} topic rules of acls.txt on namespace "${namespace}"`);
}

/** Starts ingest, the engine and the gateway, each as its own principal; stops those already started if one fails. */
async function startServices(env: Record<string, string>, p: Ports, logins: Logins): Promise<Child[]> {
  const started: Child[] = [];
  try {
    say(`starting ingest, flow-engine and board-gateway (logs: .stack/logs/<service>.log)${logins('ingest').KAFKA_SASL_USERNAME ? ', each as its own Kafka and registry principal' : ''}`);
    const [ingest, engine] = await Promise.all([
      startChild('ingest', { ...env, ...logins('ingest') }, files.logs, httpOk(`http://127.0.0.1:${p.http}/readyz`)),
      startChild('flow-engine', { ...env, ...logins('flow-engine') }, files.logs, logSays('flow-engine running')),
    ]);
    started.push(ingest, engine);
    started.push(await startChild('board-gateway', { ...env, ...logins('board-gateway') }, files.logs, httpOk(`http://127.0.0.1:${p.gateway}/healthz`)));
    say(`services ready after ${since()}`);
    return started;
  } catch (e) {
    await Promise.all(started.map((c) => c.stop()));
    throw e;
  }
}

async function stopServices(children: Child[]): Promise<void> {
  // The gateway and ingest first (no new input), then the engine finishes its batch.
  await Promise.all(children.filter((c) => c.name !== 'flow-engine').map((c) => c.stop()));
  await Promise.all(children.filter((c) => c.name === 'flow-engine').map((c) => c.stop()));
}

function progressBar(label: string, total: number): SingleBar {
  const bar = new SingleBar({
    format: `  ${label} |{bar}| {percentage}% | {value}/{total} events | {rate} ev/s | ETA {eta_formatted} | rejected {rejected}`,
    hideCursor: true, noTTYOutput: true, notTTYSchedule: 5000, etaBuffer: 200,
  }, Presets.shades_classic);
  bar.start(total, 0, { rate: 0, rejected: 0 });
  return bar;
}

async function wards(gatewayUrl: string, token: string, site: string): Promise<WardSummary[]> {
  const r = await fetch(`${gatewayUrl}/api/v1/wards?site=${site}`, { headers: { authorization: `Bearer ${token}` } });
  if (!r.ok) throw new Error(`GET /api/v1/wards answered ${r.status}`);
  return (await r.json()) as WardSummary[];
}

function boardLine(ws: WardSummary[], registered: Set<string>): string {
  const local = ws.filter((w) => registered.has(w.ward));
  const sum = (f: (w: WardSummary) => number, list = local) => list.reduce((n, w) => n + f(w), 0);
  const beds = sum((w) => Math.max(0, w.beds - w.closed));
  const pct = (n: number) => (beds ? `${((n / beds) * 100).toFixed(1)}%` : '-');
  const reasons: Record<string, number> = {};
  for (const w of ws) for (const [k, v] of Object.entries(w.crfdReasons)) reasons[k] = (reasons[k] ?? 0) + v;
  const top = Object.entries(reasons).sort((a, b) => b[1] - a[1]).slice(0, 3).map(([k, v]) => `${k}:${v}`).join(' ');
  return `occupancy ${pct(sum((w) => w.occupied))} incl. leave, ${pct(sum((w) => w.present))} present (${sum((w) => w.occupied)}/${beds} beds); `
    + `stranded ${sum((w) => w.stranded, ws)}, super-stranded ${sum((w) => w.superStranded, ws)}, long stay ${sum((w) => w.longStay, ws)}, `
    + `CRFD ${sum((w) => w.crfd, ws)} (top reasons ${top || 'none'}), EDD passed ${sum((w) => w.eddPassed, ws)}, out of area ${sum((w) => w.outOfArea, ws)}`;
}

/**
 * What the alert feed asks people to read now: open alerts by severity, per ward (median and
 * the busiest), alerts held by teams rather than wards, and the four rules that raise most.
 */
async function alertSummary(gatewayUrl: string, token: string, site: string): Promise<string> {
  const r = await fetch(`${gatewayUrl}/api/v1/alerts?site=${site}`, { headers: { authorization: `Bearer ${token}` } });
  if (!r.ok) return `unknown (alerts API answered ${r.status})`;
  const alerts = (await r.json()) as { severity: string; rule: string; ward?: string; team?: string }[];
  const count = (key: (a: (typeof alerts)[number]) => string) => {
    const m = new Map<string, number>();
    for (const a of alerts) m.set(key(a), (m.get(key(a)) ?? 0) + 1);
    return [...m].sort((x, y) => y[1] - x[1]);
  };
  const severities = count((a) => a.severity).map(([k, n]) => `${k} ${n}`).join(', ');
  const wards = count((a) => a.ward ?? '').filter(([w]) => w !== '');
  const perWard = wards.map(([, n]) => n).sort((x, y) => x - y);
  const median = perWard.length ? perWard[Math.floor(perWard.length / 2)]! : 0;
  const rules = count((a) => a.rule).slice(0, 4).map(([k, n]) => `${k} ${n}`).join(', ');
  const teams = alerts.filter((a) => !a.ward).length;
  return `${alerts.length} open (${severities || 'none'}); per ward median ${median}${wards[0] ? `, most ${wards[0][1]} on ${wards[0][0]}` : ''}; team alerts ${teams}; by rule ${rules || 'none'}`;
}

/** Waits until the board's occupied beds match the model's census (the engine has caught up). */
async function waitForBoard(sim: Simulation, gatewayUrl: string, token: string, timeoutMs = 90_000): Promise<WardSummary[]> {
  const census = sim.census();
  const expected = census.wards.reduce((n, w) => n + w.occupied, 0);
  const registered = new Set(census.wards.map((w) => w.ward));
  const deadline = Date.now() + timeoutMs;
  let ws: WardSummary[] = [];
  for (;;) {
    try {
      ws = await wards(gatewayUrl, token, sim.trust.site);
      const occupied = ws.filter((w) => registered.has(w.ward)).reduce((n, w) => n + w.occupied, 0);
      // Late and rejected (bad NHS number) messages leave a few beds different from the model's own count.
      if (Math.abs(occupied - expected) <= Math.max(3, expected * 0.03)) return ws;
    } catch { /* gateway busy: try again */ }
    if (Date.now() > deadline) {
      say(`the board did not reach the model's census (${expected} occupied) within ${timeoutMs / 1000} s; showing what it has`);
      return ws;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

function printSummary(sender: TrustSender, extra: string[]): void {
  const s = sender.stats;
  say('summary');
  console.log(`  events sent ${s.sent}: accepted ${s.accepted}, rejected ${s.rejected} (${s.rejectedAsPlanned} planned bad NHS numbers, now in ingest's rejects)`);
  console.log(`  by channel: MLLP ${s.byChannel.mllp.accepted}/${s.byChannel.mllp.rejected}, FHIR ${s.byChannel.fhir.accepted}/${s.byChannel.fhir.rejected}, JSON ${s.byChannel.json.accepted}/${s.byChannel.json.rejected} (accepted/rejected)`);
  console.log(`  faults sent: ${s.faults.duplicate} duplicates, ${s.faults.late} late, ${s.faults.bad_nhs} bad NHS numbers; MLLP resends ${s.mllp.resent}, reconnects ${s.mllp.reconnects}; HTTP retries ${s.httpRetries}`);
  for (const u of s.unexpected.slice(0, 5)) console.log(`  unexpected rejection: ${u.type} ${u.eventId ?? ''}: ${u.reason}`);
  for (const l of extra) console.log(`  ${l}`);
}

/** Resolves on the first SIGINT / SIGTERM; later signals only say that stopping is under way. */
function stopSignal(): { signal: AbortSignal; reason: () => string } {
  const ac = new AbortController();
  let why = '';
  const on = (sig: NodeJS.Signals) => {
    if (ac.signal.aborted) { say(`${sig} again: still stopping (services get up to 15 s to finish)`); return; }
    why = sig;
    process.stdout.write('\n');
    say(`${sig}: stopping the simulator, then the services`);
    ac.abort();
  };
  process.on('SIGINT', on);
  process.on('SIGTERM', on);
  return { signal: ac.signal, reason: () => why };
}

async function demo(o: Opts): Promise<void> {
  mkdirSync(files.dir, { recursive: true });
  const p = ports();
  await checkPorts(p);
  const trust = defaultTrust;
  const wardsFile = join(files.dir, 'wards.json');
  writeFileSync(wardsFile, `${JSON.stringify(wardsOf(trust), null, 2)}\n`);
  const thresholdsFile = join(files.dir, 'thresholds.json');
  writeFileSync(thresholdsFile, `${JSON.stringify(settingsOf(trust), null, 2)}\n`);
  const secret = demoSecret(files.secret);
  const logins = serviceLogins();

  const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: 3 });
  const kafka = new Kafka(kafkaClientConfig({ brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','), clientId: 'pfm-demo', logLevel: logLevel.NOTHING }));
  const registry = process.env.SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:8081/apis/ccompat/v7';
  let state = readState(files.state);
  let reuse = false;
  try {
    const live = await hasLiveState(redis);
    const clock = await engineClock(redis, trust.site);
    if (o.fresh) {
      const n = live ? await clearLive(redis) : 0;
      state = undefined;
      say(`--fresh: cleared ${n} keys of the live prefix "${LIVE_PREFIX}"`);
    } else if (state && live && clock !== undefined && state.seed === o.seed && state.faults === o.faults) {
      reuse = true;
    } else if (live) {
      throw new Error(state
        ? `live state from an earlier demo (seed ${state.seed}, faults ${state.faults ? 'on' : 'off'}) is in Redis and does not match these options: run ./pfm demo --fresh to clear it, or use the same options`
        : `live state (Redis keys "${LIVE_PREFIX}:*") exists that no earlier demo recorded: run ./pfm demo --fresh to clear it and start over`);
    }
    if (!reuse) {
      // The engine rebuilds from its topic when Redis has nothing: give it a topic with nothing old on it.
      // And a schema subject that takes the current schema (the registry keeps old ones forever).
      let namespace = '';
      let why = '';
      if (o.fresh) why = '--fresh';
      else if ((await flowEventCount(kafka, '')) > 0) why = 'the default topics hold events of an earlier run';
      else {
        const refusal = await schemaRefusal(registry, '');
        if (refusal) why = `the registry refuses the current schema on the default subject (${refusal.slice(0, 160)})`;
      }
      if (why) {
        namespace = freshNamespace();
        say(`using topic namespace "${namespace}": ${why}`);
      }
      const start = Math.floor(Date.now() / 60_000) * 60_000;
      state = { version: 1, seed: o.seed, start, historyDays: o.historyDays, faults: o.faults, namespace, site: trust.site, confirmedUntil: start, createdAt: new Date().toISOString() };
    }
    await prepareNamespace(kafka, registry, (state as DemoState).namespace);
    await grantDemoAcls((state as DemoState).namespace);
  } finally {
    redis.disconnect();
  }
  const st = state as DemoState;
  const senders = demoSenders(files.dir, [trust.site]);
  // The insights API sits beside the gateway's port (3000 -> 3300) so demos on other ports do not collide;
  // the gateway passes the web app's /api/v1/insights/* to it.
  const insightsPort = process.env.PFM_INSIGHTS_PORT ?? String(p.gateway + 300);
  const env: Record<string, string> = {
    PFM_INSIGHTS_URL: `http://127.0.0.1:${insightsPort}`,
    PFM_WARDS_FILE: wardsFile, PFM_THRESHOLDS_FILE: thresholdsFile, PFM_TOPIC_NAMESPACE: st.namespace, PFM_KEY_PREFIX: LIVE_PREFIX, PFM_JWT_SECRET: secret,
    PFM_SENDERS_FILE: senders.file, PFM_JWT_MAX_AGE_SECONDS: String(DEMO_TOKEN_DAYS * 86400),
    PFM_REJECTS_KEYS: demoRejectsKey(join(files.dir, 'rejects.key')),
    // Demo time runs --speed times faster than the wall clock: events are dated ahead of it on purpose.
    PFM_INGEST_MAX_AHEAD_MINUTES: '0',
    PFM_CLOCK: 'event', PFM_SCAN_INTERVAL_MS: '1000', PFM_LOG_LEVEL: process.env.PFM_LOG_LEVEL ?? 'info',
    PFM_INGEST_HTTP_PORT: String(p.http), PFM_MLLP_PORT: String(p.mllp), PFM_GATEWAY_PORT: String(p.gateway), PFM_DEFAULT_SITE: trust.site,
    // Traces only when asked, whatever the shell has set.
    PFM_OTLP_TRACES_URL: o.traces ?? '',
  };
  const children = await startServices(env, p, logins);
  const stop = stopSignal();
  const ingestUrl = `http://127.0.0.1:${p.http}`;
  const gatewayUrl = `http://127.0.0.1:${p.gateway}`;
  const sender = new TrustSender({ ingestUrl, mllp: { host: '127.0.0.1', port: p.mllp, connections: o.connections }, trusts: [trust], senderKey: senders.key });
  const auth = new Auth(secret, { maxAgeSeconds: DEMO_TOKEN_DAYS * 86400 });
  const token = await auth.issue({ sub: 'demo-bed-manager', role: 'bed_manager', sites: [trust.site] }, '7d');
  const opsToken = await auth.issue({ sub: 'demo-ops', role: 'ops', sites: [trust.site] }, '7d');
  const analystToken = await auth.issue({ sub: 'demo-analyst', role: 'analyst', sites: [trust.site] }, '7d');
  const crisisTeams = trust.teams.filter((t) => t.type === 'crisis' || t.type === 'liaison').map((t) => t.code);
  const crisisToken = await auth.issue({ sub: 'demo-crisis-team', role: 'crisis_team', sites: [trust.site], teams: crisisTeams }, '7d');
  const extra: string[] = [];
  let until = st.confirmedUntil;
  try {
    console.log('');
    console.log(`  \x1b[1;32mBoard (bed manager, all of ${trust.site}):\x1b[0m  ${gatewayUrl}/#/site?token=${token}`);
    console.log(`  Crisis team alerts (${crisisTeams.join(', ')}):  ${gatewayUrl}/#/alerts?token=${crisisToken}`);
    console.log(`  Ingest: HL7 v2 MLLP 127.0.0.1:${p.mllp}, HTTP ${ingestUrl} (POST /v1/events, /fhir/r4/ServiceRequest, /fhir/r4/Encounter with -H "Authorization: ApiKey $(cat .stack/demo/sender-key)")`);
    console.log(`  Rejects (ops): curl -H "Authorization: Bearer $(cat .stack/demo-ops-token)" ${ingestUrl}/v1/rejects`);
    console.log(`  REST: curl -H "Authorization: Bearer $(cat .stack/demo-token)" ${gatewayUrl}/api/v1/wards`);
    console.log('');
    writeFileSync(join(stateDir, 'demo-token'), `${token}\n`, { mode: 0o600 });
    writeFileSync(join(stateDir, 'demo-ops-token'), `${opsToken}\n`, { mode: 0o600 });
    writeFileSync(join(stateDir, 'demo-analyst-token'), `${analystToken}\n`, { mode: 0o600 });

    const sim = createSimulation({ seed: st.seed, start: st.start, historyDays: Math.max(1, st.historyDays), faults: st.faults });
    if (reuse) {
      say(`an earlier demo's state is live: continuing from simulated ${new Date(st.confirmedUntil).toISOString()} (no history re-sent; --fresh starts over)`);
      // Replay the same seeded timeline silently up to where the last run stopped, so every event keeps its id.
      for (const _ of sim.deliveries(sim.history(st.historyDays), st.start)) { /* sent by an earlier run */ }
      if (st.confirmedUntil > st.start) for (const _ of sim.deliveries(sim.advance(st.confirmedUntil), st.confirmedUntil)) { /* sent */ }
    } else {
      const deliveries = [...sim.deliveries(sim.history(st.historyDays), st.start)];
      say(`warm start: ${deliveries.length} events of ${st.historyDays} days of history (HL7 v2 over MLLP, FHIR, JSON)`);
      const bar = progressBar('history', deliveries.length);
      const started = Date.now();
      const timer = setInterval(() => {
        const done = sender.stats.accepted + sender.stats.rejected;
        bar.update(done, { rate: Math.round(done / Math.max(0.001, (Date.now() - started) / 1000)), rejected: sender.stats.rejected });
      }, 200);
      await sendAll(sender, deliveries, { signal: stop.signal });
      clearInterval(timer);
      const done = sender.stats.accepted + sender.stats.rejected;
      bar.update(done, { rate: Math.round(done / Math.max(0.001, (Date.now() - started) / 1000)), rejected: sender.stats.rejected });
      bar.stop();
      if (!stop.signal.aborted) {
        writeState(files.state, { ...st, confirmedUntil: st.start });
        say(`history sent in ${((Date.now() - started) / 1000).toFixed(1)} s; waiting for the engine to apply it`);
        const ws = await waitForBoard(sim, gatewayUrl, token);
        const registered = new Set(trust.wards.map((w) => w.code));
        say(`\x1b[1;32mboard ready ${since()} after start\x1b[0m: ${boardLine(ws, registered)}`);
        say(`alerts: ${await alertSummary(gatewayUrl, token, trust.site)}`);
        extra.push(`board ready ${since()} after ./pfm demo started (history of ${st.historyDays} days, ${deliveries.length} events)`);
      }
      until = st.start;
    }

    if (!o.exitAfterHistory && !stop.signal.aborted) {
      // The analysts' warehouse joins once the board is up, so it never slows the warm start;
      // it folds the log from its start (one file per topic namespace and warehouse schema:
      // after an upgrade that changes the schema, a new file is folded from the log, which
      // is where everything in it comes from, and the old file is left alone).
      const insightsDb = join(stateDir, `insights-${st.namespace || 'live'}.v${WAREHOUSE_SCHEMA_VERSION}.duckdb`);
      children.push(await startChild('insights', {
        ...env, ...logins('insights'), PFM_INSIGHTS_DB: insightsDb, PFM_INSIGHTS_SECRET: `${secret}:insights`, PFM_INSIGHTS_GROUP: namespaceGroups(st.namespace).insights, PFM_INSIGHTS_PORT: insightsPort,
      }, files.logs, logSays('insights running')));
      say(`insights warehouse: ${insightsDb} (after Ctrl-C, for analysts: PFM_INSIGHTS_DB=${insightsDb} ./pfm insights export --out DIR)`);
      say(`Insights view (analyst): ${gatewayUrl}/#/insights?token=${analystToken}`);
      say(`insights API (analyst): curl -H "Authorization: Bearer $(cat .stack/demo-analyst-token)" "http://127.0.0.1:${insightsPort}/api/v1/insights/series?measure=admissions&period=week"`);
      // The simulator's planted change, recorded as the trust would: an improvement note
      // through the API (same note id every run, so a re-run replaces it, never doubles it).
      if (sim.story) {
        const r = await fetch(`http://127.0.0.1:${insightsPort}/api/v1/insights/improvements`, {
          method: 'POST', headers: { authorization: `Bearer ${opsToken}`, 'content-type': 'application/json' }, body: JSON.stringify(sim.story.note),
        }).catch((e: unknown) => ({ status: 0, text: async () => String(e) }));
        if (r.status === 202) say(`improvement note recorded: "${sim.story.note.title}" from ${sim.story.note.effectiveDate} (learning log: GET /api/v1/insights/improvements?site=${trust.site})`);
        else say(`could not record the simulator's improvement note (${r.status}): ${(await r.text()).slice(0, 200)}`);
      }
      say(`live: ${o.speed}x (one simulated ${o.speed >= 3600 ? `${(o.speed / 3600).toFixed(1)} h` : `${o.speed} s`} per second), faults ${st.faults ? 'on' : 'off'}; Ctrl-C stops`);
      const registered = new Set(trust.wards.map((w) => w.code));
      let lastReport = Date.now();
      const live = await runLive({
        sim, sender, speed: o.speed, from: until, signal: stop.signal,
        onStep: ({ until: u }) => {
          until = u;
          writeState(files.state, { ...st, confirmedUntil: u });
          if (Date.now() - lastReport < 10_000) return;
          lastReport = Date.now();
          void wards(gatewayUrl, token, trust.site)
            .then((ws) => say(`simulated ${new Date(u).toISOString().slice(0, 16)}Z, ${sender.stats.sent} events sent: ${boardLine(ws, registered)}`))
            .catch(() => undefined);
        },
      });
      extra.push(`live: ${live.sent} events, simulated time reached ${new Date(live.until).toISOString().slice(0, 16)}Z`);
    }
  } finally {
    await sender.close();
    say('stopping the services');
    await stopServices(children);
    printSummary(sender, extra);
    console.log(`  The stack (Kafka, schema registry, Redis) is still running; ./pfm stack down stops it.`);
    console.log(`  ./pfm demo continues from here; ./pfm demo --fresh starts over.`);
  }
}

async function load(o: Opts): Promise<void> {
  mkdirSync(files.dir, { recursive: true });
  const p = ports();
  await checkPorts(p);
  const plan = describeLoad({ eventsPerSecond: o.rate, durationSeconds: o.duration, sites: o.sites });
  const sites = loadSiteCodes(o.sites);
  const trusts = sites.map((s) => makeTrust(s));
  const wardsFile = join(files.dir, 'load-wards.json');
  writeFileSync(wardsFile, JSON.stringify(trusts.flatMap((t) => wardsOf(t))));
  const ns = `load-${Date.now().toString(36)}`;
  const prefix = ns.replace(/-/g, '_');
  const loadSenders = demoSenders(files.dir, sites);
  const env: Record<string, string> = {
    PFM_WARDS_FILE: wardsFile, PFM_TOPIC_NAMESPACE: ns, PFM_KEY_PREFIX: prefix, PFM_JWT_SECRET: demoSecret(files.secret), PFM_ENGINE_GROUP: namespaceGroups(ns).engine, PFM_SENDERS_FILE: loadSenders.file,
    PFM_CLOCK: 'event', PFM_SCAN_INTERVAL_MS: '1000', PFM_LOG_LEVEL: 'info', // the engine's readiness is read from its log
    PFM_INGEST_MAX_AHEAD_MINUTES: '0', // the load's simulated days are compressed time, dated ahead of the wall clock
    PFM_INGEST_HTTP_PORT: String(p.http), PFM_MLLP_PORT: String(p.mllp), PFM_GATEWAY_PORT: String(p.gateway), PFM_DEFAULT_SITE: sites[0]!,
  };
  say(`load: ${plan.totalEvents} events at ${o.rate}/s over ${o.sites} site(s) (${plan.simulatedDaysPerSite.toFixed(1)} simulated days each), namespace ${ns}`);
  const kafka = new Kafka(kafkaClientConfig({ brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','), clientId: 'pfm-demo-load', logLevel: logLevel.NOTHING }));
  const logins = serviceLogins();
  await prepareNamespace(kafka, process.env.SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:8081/apis/ccompat/v7', ns);
  await grantDemoAcls(ns);
  const children = await startServices(env, p, logins);
  const stop = stopSignal();
  const sender = new TrustSender({ ingestUrl: `http://127.0.0.1:${p.http}`, mllp: { host: '127.0.0.1', port: p.mllp, connections: o.connections }, trusts, maxInFlight: 20_000, senderKey: loadSenders.key });
  const extra: string[] = [];
  try {
    const bar = progressBar('load', plan.totalEvents);
    const started = Date.now();
    const update = () => {
      const done = sender.stats.accepted + sender.stats.rejected;
      bar.update(done, { rate: Math.round(done / Math.max(0.001, (Date.now() - started) / 1000)), rejected: sender.stats.rejected });
    };
    const timer = setInterval(update, 200);
    let behind = 0;
    for (const item of loadStream({ eventsPerSecond: o.rate, durationSeconds: o.duration, sites: o.sites, faults: o.faults })) {
      if (stop.signal.aborted) break;
      const wait = started + item.sendAtMs - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      else if (wait < -1000) behind = Math.max(behind, -wait);
      await sender.capacity();
      sender.send(item.delivery).catch(() => undefined);
    }
    await sendAll(sender, [], { signal: stop.signal }); // wait for the answers (or Ctrl-C)
    clearInterval(timer);
    const secs = (Date.now() - started) / 1000;
    update();
    bar.stop();
    extra.push(`load: ${sender.stats.sent} events answered in ${secs.toFixed(1)} s = ${(sender.stats.sent / secs).toFixed(0)} events/s (target ${o.rate}/s; at most ${(behind / 1000).toFixed(1)} s behind schedule)`);
  } finally {
    await sender.close();
    await stopServices(children);
    const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
    await clearLive(redis, prefix).finally(() => redis.disconnect());
    printSummary(sender, [...extra, `sandbox keys "${prefix}:*" removed; topics of namespace ${ns} kept`]);
  }
}

async function main(): Promise<void> {
  program.parse(process.argv);
  const o = program.opts<Opts>();
  if (o.historyDays > 365) throw new InvalidArgumentError('--history-days is at most 365');
  await (o.load ? load(o) : demo(o));
  process.exit(0);
}

main().catch((e: unknown) => {
  console.error(`\x1b[31m[demo] error:\x1b[0m ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});

