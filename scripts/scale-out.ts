// Scale-out measured: the same events on a 12-partition topic applied by 1, 2 and 3
// engine processes side by side (one consumer group each run), then 3 processes with
// one SIGKILLed mid-run. Reports throughput, how long the killed member's partitions
// stood still before the others took them over, and whether each run's Redis state
// (patients, wards, clocks, alerts: the canonical dump) equals the 1-process run's.
//   source .stack/stack.env && pnpm -s tsx scripts/scale-out.ts [events] [partitions]
import { mkdtempSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_THRESHOLDS } from '@pfm/flow-domain';
import { FlowStore, Keys, WardRegistry } from '@pfm/flow-store';
import { logReady, startService, syntheticEvents, waitFor, type RunningService } from '@pfm/testkit';
import { openScratch } from '../tests/support/scratch';

const log = (m: string) => process.stdout.write(`[scale] ${m}\n`);
const SESSION_TIMEOUT_MS = 6000;

interface RunResult { label: string; engines: number; ms: number; rate: number; rebalanceMs?: number; stallMs?: number; equal?: boolean; differences?: string[] }

async function main(): Promise<void> {
  const total = Number(process.argv[2]) || 60_000;
  const partitions = Number(process.argv[3]) || 12;
  const scratch = await openScratch('scale', partitions);
  const { ns, topics: t, env, admin, redis } = scratch;
  const dir = mkdtempSync(join(tmpdir(), 'pfm-scale-'));
  const wardsFile = join(dir, 'wards.json');
  writeFileSync(wardsFile, JSON.stringify([{ site: 'RXT', code: 'OAK', name: 'Oak', type: 'adult_acute', beds: 400 }]));
  const stores: FlowStore[] = [];
  const running: RunningService[] = [];
  try {
    log(`machine: ${cpus().length} CPUs, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
    log(`producing ${total} events to ${t.flowEvents} (${partitions} partitions)`);
    await scratch.send(syntheticEvents({ total, seed: 11 }), 2000);
    const ends = new Map((await admin.fetchTopicOffsets(t.flowEvents)).map((p) => [p.partition, BigInt(p.high) - 1n]));
    log(`events per partition: ${[...ends.values()].map((e) => String(e + 1n)).join(' ')}`);

    const run = async (label: string, engines: number, killOneAfter?: number): Promise<{ store: FlowStore; result: RunResult }> => {
      const prefix = `${ns}_${label}`.replace(/-/g, '_');
      const store = new FlowStore(redis, new Keys(prefix), new WardRegistry([]), DEFAULT_THRESHOLDS);
      stores.push(store);
      const svcEnv = {
        KAFKA_BROKERS: env.kafkaBrokers.join(','), SCHEMA_REGISTRY_URL: env.schemaRegistryUrl, REDIS_URL: env.redisUrl,
        PFM_TOPIC_NAMESPACE: ns, PFM_TOPIC_PARTITIONS: String(partitions), PFM_KEY_PREFIX: prefix, PFM_WARDS_FILE: wardsFile,
        PFM_ENGINE_GROUP: `${ns}-${label}`, PFM_CLOCK: 'event', PFM_SCAN_INTERVAL_MS: '86400000',
        PFM_ENGINE_SESSION_TIMEOUT_MS: String(SESSION_TIMEOUT_MS),
      };
      const offsets = async () => store.appliedOffsets(t.flowEvents);
      const applied = async (): Promise<number> => { const o = await offsets(); let n = 0n; for (const [p] of ends) n += o.has(p) ? BigInt(o.get(p)!) + 1n : 0n; return Number(n); };
      const done = async () => { const o = await offsets(); return [...ends].every(([p, end]) => end < 0n || (o.has(p) && BigInt(o.get(p)!) >= end)); };
      // Throughput is timed from the first applied event to the last (process start-up,
      // which is slow on a loaded machine, is not counted); polled every 20 ms.
      let firstAt = 0;
      const poll = setInterval(() => { void applied().then((n) => { if (n > 0 && !firstAt) firstAt = Date.now(); }); }, 20);
      // Side by side: all members start at once and share the partitions.
      const members = await Promise.all(Array.from({ length: engines }, () => startService('flow-engine', svcEnv, logReady('flow-engine running'))));
      running.push(...members);
      let stallMs: number | undefined;
      let rebalanceMs: number | undefined;
      if (killOneAfter !== undefined) {
        await waitFor(async () => (await applied()) >= killOneAfter, { timeoutMs: 600000, intervalMs: 20, what: `${label} to apply ${killOneAfter} events` });
        const before = await offsets();
        const killedAt = Date.now();
        await members[0]!.kill();
        log(`${label}: SIGKILL one of ${engines} engines at ${await applied()} of ${total} applied`);
        // Rebalance: until the group is Stable again with the survivors only (the broker
        // notices the dead member when its session times out, then reassigns).
        const group = `${ns}-${label}`;
        await waitFor(async () => {
          const g = (await admin.describeGroups([group])).groups[0];
          return g?.state === 'Stable' && g.members.length === engines - 1;
        }, { timeoutMs: 120000, intervalMs: 50, what: `${label}: group stable with ${engines - 1} members` });
        rebalanceMs = Date.now() - killedAt;
        // Stall: until every unfinished partition has moved past where it was at the kill
        // (the killed member's partitions wait for its session to time out and a rebalance).
        await waitFor(async () => {
          const now = await offsets();
          return [...ends].every(([p, end]) => {
            const was = before.has(p) ? BigInt(before.get(p)!) : -1n;
            const is = now.has(p) ? BigInt(now.get(p)!) : -1n;
            return was >= end || is > was;
          });
        }, { timeoutMs: 120000, intervalMs: 20, what: `${label}: every partition moving again after the kill` });
        stallMs = Date.now() - killedAt;
      }
      await waitFor(done, { timeoutMs: 900000, intervalMs: 20, what: `${label} to apply every event` });
      clearInterval(poll);
      const ms = Date.now() - firstAt;
      for (const m of members) await m.stop();
      const result: RunResult = { label, engines, ms, rate: total / (ms / 1000), rebalanceMs, stallMs };
      log(`${label}: ${engines} engine(s) applied ${total} events in ${ms} ms = ${result.rate.toFixed(0)} events/s${stallMs !== undefined ? `; group rebalanced ${rebalanceMs} ms and every partition moving again ${stallMs} ms after the kill` : ''}`);
      return { store, result };
    };

    const strip = (store: FlowStore, d: Record<string, unknown>) => Object.fromEntries(Object.entries(d).map(([k, v]) => [k.replace(store.keys.prefix, '<p>'), v]));
    const base = await run('one', 1);
    const reference = strip(base.store, await base.store.dump());
    base.result.equal = true;
    const results: RunResult[] = [base.result];
    for (const [label, engines, kill] of [['two', 2, undefined], ['three', 3, undefined], ['three-kill', 3, Math.floor(total / 3)]] as const) {
      const r = await run(label, engines, kill);
      const d = strip(r.store, await r.store.dump());
      const differences = [...new Set([...Object.keys(reference), ...Object.keys(d)])].filter((k) => JSON.stringify(reference[k]) !== JSON.stringify(d[k]));
      r.result.equal = differences.length === 0;
      r.result.differences = differences.slice(0, 10);
      results.push(r.result);
    }
    log(`Redis keys compared per run: ${Object.keys(reference).length}`);
    const secs = (ms?: number) => (ms === undefined ? '-' : `${(ms / 1000).toFixed(1)} s`);
    log('| run | engines | events/s | time (first to last apply) | group stable after kill | every partition moving after kill | state = 1-process run |');
    for (const r of results) log(`| ${r.label} | ${r.engines} | ${r.rate.toFixed(0)} | ${secs(r.ms)} | ${secs(r.rebalanceMs)} | ${secs(r.stallMs)} | ${r.equal ? 'yes' : `NO (${(r.differences ?? []).join(', ')})`} |`);
    log(`load average after: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
    process.exitCode = results.every((r) => r.equal) ? 0 : 1;
  } finally {
    for (const s of running) await s.kill();
    for (const st of stores) await st.clear();
    await scratch.close();
  }
}

main().catch((e: unknown) => { console.error(e); process.exit(1); });
