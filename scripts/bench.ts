// pnpm bench / ./pfm bench [events]: engine throughput against the raw kafkajs consume
// rate of the same topic (no-op handler), measured in the same run on the same machine,
// and Redis memory per admitted patient. Figures and method: docs/benchmarks.md.
import { cpus, loadavg, totalmem } from 'node:os';
import type { Alert, FlowEvent } from '@pfm/contracts';
import { DEFAULT_THRESHOLDS, fold } from '@pfm/flow-domain';
import { FlowStore, Keys, netOps, WardRegistry } from '@pfm/flow-store';
import { createLogger } from '@pfm/observability';
import { syntheticEventChunks, waitFor } from '@pfm/testkit';
import { openScratch } from '../tests/support/scratch';
import { main as insightsMain, simulatedLog } from './bench-insights';
import { main as timeTravelMain } from './bench-time-travel';
import { engineTopics, EventTimeClock, replay, FlowEngine } from '@pfm/flow-processing';

/**
 * Redis CPU so far: the server's CPU (INFO cpu, user + system) and the time in script
 * calls (INFO commandstats evalsha, which includes the commands a script runs), in µs.
 * Every client of the server counts: on a shared Redis, others' work is included.
 */
async function redisCpu(redis: { info(section: string): Promise<string> }): Promise<{ server: number; scripts: number; zadd: number; zrem: number }> {
  const cpu = await redis.info('cpu');
  const f = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(cpu)?.[1] ?? 0);
  const stats = await redis.info('commandstats');
  const scripts = /cmdstat_evalsha:calls=\d+,usec=(\d+),/.exec(stats)?.[1];
  // Calls of a command, those a script makes included (commandstats counts them).
  const calls = (cmd: string) => Number(new RegExp(`cmdstat_${cmd}:calls=(\\d+),`).exec(stats)?.[1] ?? 0);
  return { server: (f('used_cpu_user') + f('used_cpu_sys')) * 1e6, scripts: Number(scripts ?? 0), zadd: calls('zadd'), zrem: calls('zrem') };
}

const log = (m: string) => process.stdout.write(`[bench] ${m}\n`);

/** The simulator's trust over `days` of history (its realistic stream), in chunks as the synthetic generator gives them. */
function* simulatorChunks(days: number, size: number): Generator<FlowEvent[]> {
  const { events } = simulatedLog(days, 7, Date.parse('2024-01-01T00:00:00Z'));
  for (let i = 0; i < events.length; i += size) yield events.slice(i, i + size);
}

/**
 * The engine and a replay on one stream: the synthetic one of `total` events (dense: about
 * one alert change per event), or with `simulatorDays` the simulator's trust over that many
 * days of history (`total` is then the number of events it makes).
 */
export async function benchEngine(total: number, opts: { replayOnly?: boolean; noReplay?: boolean; commitCap?: number; simulatorDays?: number } = {}): Promise<Record<string, number | string>> {
  const scratch = await openScratch('bench');
  const { ns, topics: t, kafka, redis, codec, producer } = scratch;
  const registry = opts.simulatorDays ? simulatedLog(1, 7, Date.parse('2024-01-01T00:00:00Z')).registry : new WardRegistry([]);
  const store = new FlowStore(redis, new Keys(ns.replace(/-/g, '_')), registry, DEFAULT_THRESHOLDS);
  try {
    const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');
    const loadAtStart = load();
    const stream = opts.simulatorDays ? `the simulator's trust, ${opts.simulatorDays} days` : 'synthetic';
    if (opts.simulatorDays) total = 0;
    log(`producing ${opts.simulatorDays ? '' : `${total} `}events: ${stream} (load average ${loadAtStart})`);
    // The events are made and sorted in a compact form, then sent a chunk at a time (only
    // the chunk in hand is held as objects: 10M as objects would take ~2.4 GiB of heap).
    const produceStart = Date.now();
    const patientIds = new Set<string>();
    const sites = new Set<string>();
    let sent = 0;
    const chunks = opts.simulatorDays ? simulatorChunks(opts.simulatorDays, 10_000) : syntheticEventChunks({ total, seed: 3 }, 10_000);
    for (const chunk of chunks) {
      for (const e of chunk) { patientIds.add(e.patientId); sites.add(e.site); }
      if (opts.simulatorDays) total += chunk.length;
      await scratch.send(chunk);
      sent += chunk.length;
      if (total >= 1_000_000 && sent % Math.ceil(total / 10) < chunk.length) log(`produce progress: ${sent} events in ${Date.now() - produceStart} ms (load average ${load()})`);
    }
    const syntheticPatients = patientIds.size;
    patientIds.clear();
    const produceMs = Date.now() - produceStart;
    log(`produced ${total} events (${syntheticPatients} patients) in ${produceMs} ms = ${(total / (produceMs / 1000)).toFixed(0)} events/s`);

    // Baseline: kafkajs consuming the same topic with a no-op handler.
    let seen = 0;
    const raw = kafka.consumer({ groupId: `${ns}-raw`, maxBytesPerPartition: 4 * 1024 * 1024 });
    await raw.connect();
    await raw.subscribe({ topic: t.flowEvents, fromBeginning: true });
    let rawStart = 0;
    await raw.run({ eachBatchAutoResolve: true, eachBatch: async ({ batch }) => { if (!rawStart) rawStart = Date.now(); seen += batch.messages.length; } });
    await waitFor(() => seen >= total, { timeoutMs: Math.max(600_000, total), intervalMs: 5, what: 'raw consumer to read every event' });
    const rawMs = Date.now() - rawStart;
    await raw.disconnect();
    const rawRate = total / (rawMs / 1000);
    log(`raw kafkajs consume: ${total} events in ${rawMs} ms = ${rawRate.toFixed(0)} events/s`);

    let engineMs = 0;
    let engineRate = 0;
    let nodeUsPerEvent = 0;
    let redisUsPerEvent = 0;
    let redisScriptUsPerEvent = 0;
    let commitMeanUs = 0;
    let commitMaxUs = 0;
    let memBefore = 0;
    const alerts = { published: 0, distinct: 0, expected: 0 };
    if (!opts.replayOnly) {
      // Every alert change the engine publishes, read back from the alerts topic.
      const changes = new Set<string>();
      let published = 0;
      const reader = kafka.consumer({ groupId: `${ns}-alerts` });
      await reader.connect();
      await reader.subscribe({ topic: t.alerts, fromBeginning: true });
      await reader.run({ eachBatch: async ({ batch }) => {
        for (const m of batch.messages) { const a = JSON.parse(m.value!.toString()) as Alert; published += 1; changes.add(`${a.alertId}@${a.version ?? 1}`); }
      } });
      // The engine, with state in Redis, from the same topic.
      memBefore = Number(/used_memory:(\d+)/.exec(await redis.info('memory'))![1]);
      const logger = createLogger('bench');
      logger.level = 'warn';
      let applied = 0;
      let batches = 0;
      let engineStart = 0;
      let cpu0 = process.cpuUsage();
      const engine = new FlowEngine({
        kafka, producer, codec, store, clock: new EventTimeClock(), logger, groupId: `${ns}-engine`, publish: true,
        topics: engineTopics(t), maxEventsPerCommit: opts.commitCap,
        // As the service takes it: PFM_ENGINE_MAX_BATCH_BYTES (the fetch per partition, so the events of one batch).
        ...(process.env.PFM_ENGINE_MAX_BATCH_BYTES ? { maxBatchBytes: Number(process.env.PFM_ENGINE_MAX_BATCH_BYTES) } : {}),
        beforeBatch: () => { if (!engineStart) { engineStart = Date.now(); cpu0 = process.cpuUsage(); } },
        afterBatch: ({ count }) => { applied += count; batches += 1; },
      });
      // PFM_BENCH_COUNT_OPS=1: the sorted-set ops the commits send, after netting, counted
      // (a separate run: netting each run twice costs CPU). Per op one ZADD or ZREM at most.
      const counted = { dueSet: 0, zadd: 0, zrem: 0 };
      if (process.env.PFM_BENCH_COUNT_OPS) {
        const commitRun = store.commitRun.bind(store);
        store.commitRun = (run) => {
          for (const o of netOps(run.ops)) {
            if (o.key === store.keys.due(run.site)) counted.dueSet += 1;
            if (o.op === 'zadd') counted.zadd += 1;
            else if (o.op === 'zrem') counted.zrem += 1;
          }
          return commitRun(run);
        };
      }
      const startedAt = Date.now();
      const redis0 = await redisCpu(redis);
      await engine.start();
      // Done when Redis records every offset applied (a batch returns only after its
      // outputs are published: a stalled publish would otherwise hide the apply rate).
      const appliedInRedis = async () => { let n = 0; for (const o of (await store.appliedOffsets(t.flowEvents)).values()) n += Number(o) + 1; return n; };
      await waitFor(async () => applied >= total || (await appliedInRedis()) >= total, { timeoutMs: 600000, intervalMs: 20, what: 'engine to apply every event' });
      engineMs = Date.now() - Math.min(engineStart, startedAt + 1e12);
      if (applied < total) log(`engine: every event applied in Redis, but batches covering ${total - applied} events have not returned yet (publishing)`);
      const cpu = process.cpuUsage(cpu0);
      nodeUsPerEvent = (cpu.user + cpu.system) / total;
      const redis1 = await redisCpu(redis);
      redisUsPerEvent = (redis1.server - redis0.server) / total;
      redisScriptUsPerEvent = (redis1.scripts - redis0.scripts) / total;
      if (process.env.PFM_BENCH_COUNT_OPS) log(`sorted-set ops committed (after netting): due set ${(counted.dueSet / total).toFixed(3)}, zadd ${(counted.zadd / total).toFixed(3)}, zrem ${(counted.zrem / total).toFixed(3)} per event (due-set ops: ${counted.dueSet}, each at most one ZADD or ZREM)`);
      log(`sorted-set writes: ZADD ${((redis1.zadd - redis0.zadd) / total).toFixed(3)}, ZREM ${((redis1.zrem - redis0.zrem) / total).toFixed(3)} calls/event (commandstats, script calls included; a shared Redis counts its other clients too)`);
      engineRate = total / (engineMs / 1000);
      const c = (engine as Partial<Pick<FlowEngine, 'commits'>>).commits;
      if (c?.calls) {
        commitMeanUs = c.micros / c.calls;
        commitMaxUs = c.maxMicros;
        log(`batch commits: ${c.calls} script calls, Redis blocked ${Math.round(commitMeanUs)} µs per call on average, at most ${c.maxMicros} µs (a run of ${c.maxEvents} events)`);
      }
      log(`engine (Redis state, board updates published): ${total} events in ${engineMs} ms = ${engineRate.toFixed(0)} events/s (${batches} batches, ${Math.round(total / Math.max(1, batches))} events each)`);
      log(`engine CPU: Node ${nodeUsPerEvent.toFixed(1)} µs/event (this process from the first batch, the alerts read-back included); Redis ${redisUsPerEvent.toFixed(1)} µs/event (server CPU), of which scripts ${redisScriptUsPerEvent.toFixed(1)} µs/event (commandstats evalsha); a shared Redis counts its other clients too`);
      await waitFor(() => applied >= total, { timeoutMs: 120000, intervalMs: 20, what: 'every batch to return (board updates and alerts published)' });
      await engine.stop();
      // Expected: every version of every alert Redis holds (raised = 1, each later change + 1).
      let cursor = '0';
      for (const site of sites) {
        do {
          const [next, keys] = await redis.scan(cursor, 'MATCH', store.keys.alert(site, '*'), 'COUNT', 2000);
          cursor = next;
          if (keys.length) for (const raw of await redis.mget(...keys)) if (raw) alerts.expected += (JSON.parse(raw) as Alert).version ?? 1;
        } while (cursor !== '0');
      }
      const high = await scratch.admin.fetchTopicOffsets(t.alerts);
      const onTopic = high.reduce((n, p) => n + Number(p.high), 0);
      await waitFor(() => published >= onTopic, { timeoutMs: 120000, what: 'the alerts topic read to its end' });
      await reader.disconnect();
      Object.assign(alerts, { published, distinct: changes.size });
      log(`alerts: ${alerts.published} changes published, ${alerts.distinct} distinct, ${alerts.expected} expected from Redis: ${alerts.published === alerts.distinct && alerts.distinct === alerts.expected ? 'EQUAL' : 'NOT EQUAL'}`);
    }
    const memAfter = Number(/used_memory:(\d+)/.exec(await redis.info('memory'))![1]);

    // Replay of the same topic into a sandbox (event-time clock, no outputs).
    const replayLogger = createLogger('bench-replay');
    replayLogger.level = 'warn';
    const replayMem0 = Number(/used_memory:(\d+)/.exec(await redis.info('memory'))![1]);
    const replayCpu0 = process.cpuUsage();
    const replayRedis0 = await redisCpu(redis);
    const replayT0 = Date.now();
    // Progress every tenth of the events (a long run shows how far it got and at what rate).
    let nextProgress = total / 10;
    const onProgress = ({ done }: { done: number }) => {
      if (done < nextProgress) return;
      nextProgress += total / 10;
      const s = (Date.now() - replayT0) / 1000;
      log(`replay progress: ${done} messages handed to the engine in ${s.toFixed(0)} s = ${(done / s).toFixed(0)} /s (load average ${load()})`);
    };
    const rep = opts.noReplay ? { events: 0, ms: 1, store: { clear: async () => 0 }, phases: undefined } : await replay({ kafka, redis, producer, codec, registry, logger: replayLogger }, { name: `${ns}-r`.slice(0, 40).replace(/[^A-Za-z0-9_-]/g, '_'), thresholds: DEFAULT_THRESHOLDS, sourceTopic: t.flowEvents, onProgress });
    // Per event of the topic, not per message handed to the engine: the range reader can
    // hand messages over again (1,985,342 for 1,000,000 events in a loaded 1M run; the
    // engine's fence skips what was applied), which would flatter the rate.
    const replayRate = opts.noReplay ? 0 : total / (rep.ms / 1000);
    let replayNodeUsPerEvent = 0;
    let replayRedisUsPerEvent = 0;
    let replayScriptUsPerEvent = 0;
    let sandboxBytes = 0;
    if (!opts.noReplay) {
      log(`replay into a sandbox: ${total} events in ${rep.ms} ms = ${replayRate.toFixed(0)} events/s (includes group join and the final scan)${rep.events === total ? '' : `; ${rep.events} messages handed to the engine`}`);
      const cpu = process.cpuUsage(replayCpu0);
      const r1 = await redisCpu(redis);
      replayNodeUsPerEvent = (cpu.user + cpu.system) / total;
      replayRedisUsPerEvent = (r1.server - replayRedis0.server) / total;
      replayScriptUsPerEvent = (r1.scripts - replayRedis0.scripts) / total;
      sandboxBytes = Number(/used_memory:(\d+)/.exec(await redis.info('memory'))![1]) - replayMem0;
      if (rep.phases) log(`replay phases: read and apply ${rep.phases.readMs} ms (in processMessages ${rep.phases.applyMs} ms, summed over partitions), final scan ${rep.phases.scanMs} ms`);
      log(`replay CPU: Node ${replayNodeUsPerEvent.toFixed(1)} µs/event (this process); Redis ${replayRedisUsPerEvent.toFixed(1)} µs/event (server CPU), of which scripts ${replayScriptUsPerEvent.toFixed(1)} µs/event (commandstats evalsha); a shared Redis counts its other clients too`);
      log(`sandbox: ${(sandboxBytes / 1048576).toFixed(1)} MiB of Redis for ${syntheticPatients} patients = ${(sandboxBytes / syntheticPatients / 1024).toFixed(2)} KiB per patient`);
    }
    log(`Node peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB; load average ${loadAtStart} at the start, ${load()} now`);
    await rep.store.clear();
    let admitted = 0;
    let patients = 0;
    for (const site of sites) {
      for (const ward of await store.wardCodes(site)) admitted += (await store.wardSummaries(site, [ward], Date.now()))[0]!.occupied;
      patients += opts.replayOnly ? 0 : (await redis.keys(`${store.keys.prefix}:{${site}}:p:*`)).length;
    }
    patients = Math.max(1, patients);
    const sample = opts.simulatorDays ? undefined : await store.patient('RXT', 'SYN1');
    const perPatient = (memAfter - memBefore) / patients;
    if (!opts.replayOnly) log(`Redis: ${((memAfter - memBefore) / 1048576).toFixed(1)} MiB for ${patients} patients (${admitted} currently admitted) = ${(perPatient / 1024).toFixed(2)} KiB per patient; sample events per patient ${sample ? fold(sample.events) && sample.events.length : 0}`);
    return {
      stream, events: total, rawMs, rawRate: Math.round(rawRate), engineMs, engineRate: Math.round(engineRate), ratio: Number((engineRate / rawRate).toFixed(3)),
      produceMs, replayMs: rep.ms, replayRate: Math.round(replayRate), replayRatio: Number((replayRate / rawRate).toFixed(3)),
      replayNodeUsPerEvent: Math.round(replayNodeUsPerEvent), replayRedisUsPerEvent: Math.round(replayRedisUsPerEvent), replayScriptUsPerEvent: Math.round(replayScriptUsPerEvent), sandboxBytes,
      nodeUsPerEvent: Math.round(nodeUsPerEvent), redisUsPerEvent: Math.round(redisUsPerEvent), redisScriptUsPerEvent: Math.round(redisScriptUsPerEvent), commitMeanUs: Math.round(commitMeanUs), commitMaxUs,
      redisBytesPerPatient: Math.round(perPatient), patients, admitted,
      alertsPublished: alerts.published, alertsDistinct: alerts.distinct, alertsExpected: alerts.expected,
      machine: `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`,
    };
  } finally {
    await store.clear();
    await scratch.close();
  }
}

async function main(): Promise<void> {
  // ./pfm bench --time-travel [...]: time travel with and without snapshots (scripts/bench-time-travel.ts).
  if (process.argv.includes('--time-travel')) return timeTravelMain();
  // ./pfm bench --insights [--queries [--warehouse FILE]] [...]: the insights warehouse (scripts/bench-insights.ts).
  if (process.argv.includes('--insights')) return insightsMain();
  // ./pfm bench [N] [--simulator DAYS]: N synthetic events (200,000), or the simulator's trust over DAYS of history.
  const total = Number(process.argv[2]?.startsWith('--') ? 200_000 : process.argv[2] ?? 200_000);
  const simulatorDays = process.argv.includes('--simulator') ? Number(process.argv[process.argv.indexOf('--simulator') + 1]) : undefined;
  if (simulatorDays !== undefined && !(Number.isInteger(simulatorDays) && simulatorDays > 0)) throw new Error('--simulator takes a whole number of days, e.g. --simulator 730');
  const r = await benchEngine(total, { simulatorDays, replayOnly: process.argv.includes('--replay-only'), noReplay: process.argv.includes('--no-replay'), commitCap: process.argv.includes('--commit-cap') ? Number(process.argv[process.argv.indexOf('--commit-cap') + 1]) : undefined });
  log(`machine: ${r.machine}`);
  if (!process.argv.includes('--replay-only')) log(`engine/raw ratio: ${r.ratio} (${r.engineRate} vs ${r.rawRate} events/s)`);
  if (!process.argv.includes('--no-replay')) log(`replay/raw ratio: ${r.replayRatio} (${r.replayRate} vs ${r.rawRate} events/s)`);
  console.log(JSON.stringify(r));
  // Lost or repeated alerts make the run fail, whatever the speed.
  if (r.alertsPublished !== r.alertsDistinct || r.alertsDistinct !== r.alertsExpected) process.exit(1);
}

if (require.main === module) main().catch((e: unknown) => { console.error(e); process.exit(1); });
