// A replay into a sandbox, before and after a change, in the same run on the same topic:
// the events are produced once, then replayed by each tree's own @pfm/flow-processing in
// turn, each run into a Redis server of its own (started here on a free port, stopped
// after), so that its CPU, commands and peak memory are that replay's alone.
//
//   source .stack/stack.env   # Kafka and the registry (the flow topic is a scratch one)
//   node --max-old-space-size=8192 --import tsx scripts/bench-replay.ts 200000 \
//     --tree old=/tmp/pfm-parent --tree new=. [--rounds 2] [--fingerprint]
//
// Per run: messages the reader handed to the engine (more than the events when it read a
// partition again), wall time, read and apply, final scan, Redis server CPU and script time per
// event, XADD and script calls, the Redis's used_memory_peak and used_memory at the end
// (over the empty server's), the active alerts, and with --fingerprint a SHA-256 of the
// sandbox's canonical dump (prefix removed), so the trees' states can be compared.
// Figures: docs/benchmarks.md ("Flow engine and replay").
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createServer } from 'node:net';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import Redis from 'ioredis';
import { DEFAULT_THRESHOLDS } from '@pfm/flow-domain';
import { WardRegistry } from '@pfm/flow-store';
import { createLogger } from '@pfm/observability';
import { syntheticEventChunks } from '@pfm/testkit';
import type { replay as replayFn } from '@pfm/flow-processing';
import { openScratch } from '../tests/support/scratch';

const log = (m: string) => process.stdout.write(`[bench-replay] ${m}\n`);
const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');

async function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.once('error', fail);
    srv.listen(0, '127.0.0.1', () => { const a = srv.address(); srv.close(() => ok(typeof a === 'object' && a ? a.port : 0)); });
  });
}

function info(raw: string, field: string): number {
  return Number(new RegExp(`^${field}:([\\d.]+)`, 'm').exec(raw)?.[1] ?? 0);
}
function cmdstat(raw: string, cmd: string): { calls: number; usec: number } {
  const m = new RegExp(`^cmdstat_${cmd}:calls=(\\d+),usec=(\\d+),`, 'm').exec(raw);
  return { calls: Number(m?.[1] ?? 0), usec: Number(m?.[2] ?? 0) };
}

async function main(): Promise<void> {
  const total = Number(process.argv[2] ?? 200_000);
  const arg = (name: string) => process.argv.flatMap((a, i) => (a === name ? [process.argv[i + 1]!] : []));
  const trees = arg('--tree').map((t) => { const [label, dir] = t.split('='); return { label: label!, dir: resolve(dir!) }; });
  if (!trees.length) throw new Error('--tree label=dir (at least one)');
  const rounds = Number(arg('--rounds')[0] ?? 1);
  const fingerprint = process.argv.includes('--fingerprint');
  // Each tree's own replay, which loads that tree's store, scripts and domain rules.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const replays = new Map(trees.map((t) => [t.label, (require(resolve(t.dir, 'packages/flow-processing/src/index.ts')) as { replay: typeof replayFn }).replay]));

  const scratch = await openScratch('bench-replay');
  const logger = createLogger('bench-replay');
  logger.level = 'warn';
  const results: Record<string, unknown>[] = [];
  try {
    log(`producing ${total} synthetic events (load average ${load()})`);
    const t0 = Date.now();
    for (const chunk of syntheticEventChunks({ total, seed: 3 }, 10_000)) await scratch.send(chunk);
    log(`produced in ${Date.now() - t0} ms`);
    for (let round = 0; round < rounds; round++) {
      // Alternate the order from one round to the next (old, new; new, old; ...).
      const order = round % 2 === 0 ? trees : [...trees].reverse();
      for (const tree of order) {
        const port = await freePort();
        execFileSync('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no', '--daemonize', 'yes', '--logfile', `/tmp/bench-replay-redis-${port}.log`]);
        for (let i = 0; ; i++) {
          try { if (execFileSync('redis-cli', ['-p', String(port), 'ping']).toString().trim() === 'PONG') break; } catch (err) { if (i > 50) throw err; }
          await new Promise((r) => setTimeout(r, 100));
        }
        // No reconnecting once the server is shut down at the end of the run.
        const redis = new Redis({ port, host: '127.0.0.1', retryStrategy: () => null });
        redis.on('error', () => undefined);
        try {
          const before = { cpu: await redis.info('cpu'), cmd: await redis.info('commandstats'), mem: await redis.info('memory') };
          const loadAtStart = load();
          const name = `br${Date.now().toString(36)}`;
          const rep = await replays.get(tree.label)!({ kafka: scratch.kafka, redis, producer: scratch.producer, codec: scratch.codec, registry: new WardRegistry([]), logger }, { name, thresholds: DEFAULT_THRESHOLDS, sourceTopic: scratch.topics.flowEvents });
          const after = { cpu: await redis.info('cpu'), cmd: await redis.info('commandstats'), mem: await redis.info('memory') };
          const cpu = (s: string) => (info(s, 'used_cpu_user') + info(s, 'used_cpu_sys')) * 1e6;
          const evalsha = { calls: cmdstat(after.cmd, 'evalsha').calls - cmdstat(before.cmd, 'evalsha').calls, usec: cmdstat(after.cmd, 'evalsha').usec - cmdstat(before.cmd, 'evalsha').usec };
          const base = info(before.mem, 'used_memory');
          const r: Record<string, unknown> = {
            tree: tree.label, round, events: total, handed: rep.events, wallMs: rep.ms, readMs: rep.phases.readMs, applyMs: rep.phases.applyMs, scanMs: rep.phases.scanMs,
            redisCpuUsPerEvent: Number(((cpu(after.cpu) - cpu(before.cpu)) / total).toFixed(1)), scriptUsPerEvent: Number((evalsha.usec / total).toFixed(1)), scriptCalls: evalsha.calls,
            xaddPerEvent: Number(((cmdstat(after.cmd, 'xadd').calls - cmdstat(before.cmd, 'xadd').calls) / total).toFixed(3)),
            peakMiB: Number(((info(after.mem, 'used_memory_peak') - base) / 1048576).toFixed(1)), endMiB: Number(((info(after.mem, 'used_memory') - base) / 1048576).toFixed(1)),
            alertsActive: rep.alertsRaised, load: `${loadAtStart} -> ${load()}`,
          };
          if (fingerprint) {
            const dump = await rep.store.dump();
            const h = createHash('sha256');
            for (const [k, v] of Object.entries(dump)) h.update(`${k.slice(rep.store.keys.prefix.length)}\u0000${JSON.stringify(v)}\u0000`);
            r.dumpKeys = Object.keys(dump).length;
            r.dumpSha256 = h.digest('hex').slice(0, 16);
          }
          results.push(r);
          log(JSON.stringify(r));
        } finally {
          await redis.shutdown('NOSAVE').catch(() => undefined);
          redis.disconnect();
        }
      }
    }
  } finally {
    await scratch.close();
  }
  console.log(JSON.stringify(results));
}

main().then(() => process.exit(0), (e: unknown) => { console.error(e); process.exit(1); });
