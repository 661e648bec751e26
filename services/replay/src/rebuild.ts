// Rebuild on demand: clear live state; the running engine notices the missing record
// and rebuilds each partition from the start of the log (an engine that is not running
// does the same when it starts). Follows progress until Redis has caught up.
import { SingleBar, Presets } from 'cli-progress';
import type { ReplayContext } from './context';

export async function rebuildLive(ctx: ReplayContext, timeoutMs: number): Promise<boolean> {
  const admin = ctx.kafka.admin();
  await admin.connect();
  try {
    const ends = new Map((await admin.fetchTopicOffsets(ctx.topic)).map((p) => [p.partition, { low: BigInt(p.low), high: BigInt(p.high) }]));
    const total = [...ends.values()].reduce((n, e) => n + Number(e.high - e.low), 0);
    const removed = await ctx.live.clear();
    console.log(`cleared ${removed} live keys; waiting for the engine to rebuild ${total} events from ${ctx.topic}`);
    const bar = new SingleBar({ format: 'rebuild [{bar}] {percentage}% | {value}/{total} events | ETA {eta_formatted}', noTTYOutput: true, notTTYSchedule: 2000 }, Presets.shades_classic);
    bar.start(total, 0);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const applied = await ctx.live.appliedOffsets(ctx.topic);
      let done = 0;
      for (const [p, e] of ends) done += applied.has(p) ? Math.min(Number(e.high - e.low), Number(BigInt(applied.get(p)!) + 1n - e.low)) : 0;
      bar.update(done);
      if (done >= total) { bar.stop(); console.log('rebuild complete'); return true; }
      if (Date.now() > deadline) { bar.stop(); console.error('rebuild still running (is the flow-engine up? it rebuilds when it starts)'); return false; }
      await new Promise((r) => setTimeout(r, 500));
    }
  } finally {
    await admin.disconnect();
  }
}
