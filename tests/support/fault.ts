// Fault test: the same >= 100k events applied by a clean engine run and by a run that
// is killed with SIGKILL at random points (and restarted each time) must leave the same
// Redis state, compared as a canonical dump, and the same alerts on the alerts topic
// (every change of every alert, by alert and version; repeats after a kill are allowed
// and counted, since delivery is at least once). Then a third run with two engines in one
// group (the second joining mid-stream) must match the clean run too. Runs the real engine process on the real stack.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Alert } from '@pfm/contracts';
import { DEFAULT_THRESHOLDS } from '@pfm/flow-domain';
import { FlowStore, Keys, WardRegistry } from '@pfm/flow-store';
import { FETCH_MAX_WAIT_MS } from '@pfm/kafka-runtime';
import { logReady, startService, syntheticEvents, waitFor, type RunningService } from '@pfm/testkit';
import { openScratch } from './scratch';

export interface FaultResult {
  events: number; kills: number; keysCompared: number; equal: boolean; differences: string[]; cleanMs: number; faultyMs: number;
  /** Alerts read back from the alerts topic: distinct changes (alert, version) of each run, repeats, and the ones that differ. */
  alerts: { clean: number; faulty: number; cleanRepeats: number; faultyRepeats: number; outboxLeft: number; differences: string[] };
  /** Two engines in one group, the second joining mid-stream: what differs from the clean run. */
  scaleOut?: { ms: number; differences: string[]; alertDifferences: string[]; alertRepeats: number };
}

/** The alerts topic as a run left it: messages by (alert, version), and how many came twice. */
function alertChanges(messages: Alert[]): { byChange: Map<string, string>; repeats: number } {
  const byChange = new Map<string, string>();
  let repeats = 0;
  for (const a of messages) {
    const k = `${a.alertId}@${a.version ?? 1}`;
    if (byChange.has(k)) repeats += 1;
    byChange.set(k, JSON.stringify(a));
  }
  return { byChange, repeats };
}

export async function runFaultTest(opts: { events?: number; kills?: number; seed?: number; scaleOut?: boolean; log?: (m: string) => void } = {}): Promise<FaultResult> {
  const total = opts.events ?? 100_000;
  const kills = opts.kills ?? 5;
  const log = opts.log ?? (() => undefined);
  const scratch = await openScratch('fault');
  const { ns, topics: t, env, admin, redis } = scratch;
  const dir = mkdtempSync(join(tmpdir(), 'pfm-fault-'));
  const wardsFile = join(dir, 'wards.json');
  writeFileSync(wardsFile, JSON.stringify([{ site: 'RXT', code: 'OAK', name: 'Oak', type: 'adult_acute', beds: 400 }]));
  const registry = new WardRegistry([]);
  const stores: FlowStore[] = [];
  // Every alert the runs publish, with where it landed (the runs follow one another).
  const published: { partition: number; offset: bigint; alert: Alert }[] = [];
  const reader = scratch.kafka.consumer({ groupId: `${ns}-alerts-reader`, maxWaitTimeInMs: FETCH_MAX_WAIT_MS });
  try {
    await reader.connect();
    await reader.subscribe({ topic: t.alerts, fromBeginning: true });
    await reader.run({ eachMessage: async ({ partition, message }) => { published.push({ partition, offset: BigInt(message.offset), alert: JSON.parse(message.value!.toString()) as Alert }); } });
    const alertMarks = async () => new Map((await admin.fetchTopicOffsets(t.alerts)).map((p) => [p.partition, BigInt(p.high)]));
    const readUpTo = async (marks: Map<number, bigint>) => waitFor(() => [...marks].every(([p, high]) => high === 0n || published.some((m) => m.partition === p && m.offset === high - 1n)), { timeoutMs: 60000, what: 'the alerts topic read to its end' });
    log(`producing ${total} events to ${t.flowEvents}`);
    await scratch.send(syntheticEvents({ total, seed: opts.seed ?? 7 }), 2000);
    const ends = new Map((await admin.fetchTopicOffsets(t.flowEvents)).map((p) => [p.partition, BigInt(p.high) - 1n]));

    const run = async (label: string, killAt: number[], instances = 1): Promise<{ store: FlowStore; ms: number; kills: number }> => {
      const prefix = `${ns}_${label}`.replace(/-/g, '_');
      const store = new FlowStore(redis, new Keys(prefix), registry, DEFAULT_THRESHOLDS);
      stores.push(store);
      const svcEnv = {
        KAFKA_BROKERS: env.kafkaBrokers.join(','), SCHEMA_REGISTRY_URL: env.schemaRegistryUrl, REDIS_URL: env.redisUrl,
        PFM_TOPIC_NAMESPACE: ns, PFM_KEY_PREFIX: prefix, PFM_WARDS_FILE: wardsFile, PFM_ENGINE_GROUP: `${ns}-${label}`,
        PFM_CLOCK: 'event', PFM_SCAN_INTERVAL_MS: '86400000', PFM_LOG_LEVEL: 'warn',
        // Small fetches (~500 events a batch) so kills land at many different points.
        PFM_ENGINE_MAX_BATCH_BYTES: '131072',
        // A SIGKILLed member holds its partitions until its session times out: keep it short.
        PFM_ENGINE_SESSION_TIMEOUT_MS: '6000',
      };
      const applied = async (): Promise<bigint> => {
        const offs = await store.appliedOffsets(t.flowEvents);
        let n = 0n;
        for (const [p] of ends) n += (offs.has(p) ? BigInt(offs.get(p)!) + 1n : 0n);
        return n;
      };
      const done = async () => { const offs = await store.appliedOffsets(t.flowEvents); return [...ends].every(([p, end]) => end < 0n || (offs.has(p) && BigInt(offs.get(p)!) >= end)); };
      const t0 = Date.now();
      let killed = 0;
      let svc: RunningService = await startService('flow-engine', { ...svcEnv, PFM_ENGINE_INSTANCE: `${label}-0`, PFM_LOG_LEVEL: 'info' }, logReady('flow-engine running'));
      // Scale-out: more engines join the group mid-stream (a rebalance while events apply).
      const others: RunningService[] = [];
      for (let i = 1; i < instances; i++) {
        const from = await applied();
        await waitFor(async () => (await applied()) > from || (await done()), { timeoutMs: 120000, intervalMs: 20, what: `${label} to apply before engine ${i} joins` });
        others.push(await startService('flow-engine', { ...svcEnv, PFM_ENGINE_INSTANCE: `${label}-${i}`, PFM_LOG_LEVEL: 'info' }, logReady('flow-engine running')));
        log(`${label}: engine ${i + 1} joined at ~${await applied()} of ${total} applied`);
      }
      // Each kill lands a random time after the engine has resumed applying events, so it
      // can hit anywhere: mid-batch, mid-pipeline, between the Redis write and the commit.
      for (const delayMs of killAt) {
        const resumedFrom = await applied();
        await waitFor(async () => (await applied()) > resumedFrom || (await done()), { timeoutMs: 120000, intervalMs: 20, what: `${label} to resume applying` });
        await new Promise((r) => setTimeout(r, delayMs));
        if (await done()) break;
        await svc.kill();
        killed += 1;
        log(`${label}: SIGKILL #${killed} at ~${await applied()} of ${total} applied`);
        svc = await startService('flow-engine', { ...svcEnv, PFM_ENGINE_INSTANCE: `${label}-0`, PFM_LOG_LEVEL: 'info' }, logReady('flow-engine running'));
      }
      await waitFor(done, { timeoutMs: 600000, intervalMs: 100, what: `${label} run to apply every event` });
      await Promise.all([svc, ...others].map((x) => x.stop()));
      return { store, ms: Date.now() - t0, kills: killed };
    };

    const clean = await run('clean', []);
    log(`clean run applied every event in ${clean.ms} ms`);
    const afterClean = await alertMarks();
    // Kill delays at random (seeded): 0-200 ms after the engine has committed its first
    // batch since (re)starting, so every kill lands before the end of the stream.
    let s = (opts.seed ?? 7) * 7919;
    const rnd = () => { s = (s * 48271) % 2147483647; return s / 2147483647; };
    const delays = Array.from({ length: kills }, () => Math.floor(rnd() * 200));
    const faulty = await run('faulty', delays);
    log(`faulty run applied every event in ${faulty.ms} ms after ${faulty.kills} SIGKILLs`);

    const afterFaulty = await alertMarks();
    // Scale-out: a second engine joins the group mid-stream; no event may apply twice.
    const scaled = opts.scaleOut === false ? undefined : await run('scaled', [], 2);
    if (scaled) log(`two engines in one group applied every event in ${scaled.ms} ms (one engine: ${clean.ms} ms)`);
    const end = await alertMarks();
    await readUpTo(end);
    const between = (from: Map<number, bigint> | undefined, to: Map<number, bigint>) => alertChanges(published
      .filter((m) => m.offset >= (from?.get(m.partition) ?? 0n) && m.offset < (to.get(m.partition) ?? 0n)).map((m) => m.alert));
    const cleanAlerts = between(undefined, afterClean);
    const faultyAlerts = between(afterClean, afterFaulty);
    const scaledAlerts = scaled ? between(afterFaulty, end) : undefined;
    const alertDiff = (x: ReturnType<typeof alertChanges>, y: ReturnType<typeof alertChanges>) => {
      const out: string[] = [];
      for (const k of new Set([...x.byChange.keys(), ...y.byChange.keys()])) if (x.byChange.get(k) !== y.byChange.get(k)) out.push(k);
      return out;
    };
    const alertDifferences = alertDiff(cleanAlerts, faultyAlerts);
    const runs = [clean, faulty, ...(scaled ? [scaled] : [])];
    let outboxLeft = 0;
    for (const r of runs) outboxLeft += await r.store.outboxDepth('RXT');
    log(`alerts topic: clean run ${cleanAlerts.byChange.size} changes (${cleanAlerts.repeats} repeats), faulty run ${faultyAlerts.byChange.size} (${faultyAlerts.repeats} repeats), ${alertDifferences.length} differ, ${outboxLeft} left in the outboxes`);

    const strip = (store: FlowStore, d: Record<string, unknown>) => Object.fromEntries(Object.entries(d).map(([k, v]) => [k.replace(store.keys.prefix, '<p>'), v]));
    const a = strip(clean.store, await clean.store.dump());
    const dumpDiff = async (other: FlowStore) => {
      const b = strip(other, await other.dump());
      const out: string[] = [];
      for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) if (JSON.stringify(a[k]) !== JSON.stringify(b[k])) out.push(k);
      return out;
    };
    const differences = await dumpDiff(faulty.store);
    const scaleOut = scaled && scaledAlerts ? { ms: scaled.ms, differences: (await dumpDiff(scaled.store)).slice(0, 20), alertDifferences: alertDiff(cleanAlerts, scaledAlerts).slice(0, 20), alertRepeats: scaledAlerts.repeats } : undefined;
    if (scaleOut) log(`two engines: ${scaleOut.differences.length} Redis keys and ${scaleOut.alertDifferences.length} alert changes differ from the clean run (${scaleOut.alertRepeats} repeats)`);
    return { events: total, kills: faulty.kills, keysCompared: Object.keys(a).length, equal: differences.length === 0, differences: differences.slice(0, 20), cleanMs: clean.ms, faultyMs: faulty.ms,
      alerts: { clean: cleanAlerts.byChange.size, faulty: faultyAlerts.byChange.size, cleanRepeats: cleanAlerts.repeats, faultyRepeats: faultyAlerts.repeats, outboxLeft, differences: alertDifferences.slice(0, 20) }, scaleOut };
  } finally {
    await reader.disconnect();
    for (const st of stores) await st.clear();
    await scratch.close();
  }
}
