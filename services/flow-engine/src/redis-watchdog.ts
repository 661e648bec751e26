// A network cut that drops packets (no reset, no close) leaves the Redis socket open with
// nothing answering: every command waits, and so does the engine, until the OS gives up on
// the connection (about 15 minutes of TCP retransmissions). The watchdog PINGs on its own
// schedule and, when no answer comes in time, drops the connection so ioredis dials again;
// the commands in flight fail, the batch is retried (the offset guard makes that safe).
// Proven by tests/container-faults.e2e.test.ts (Redis cut off its network for 10 s).
import type Redis from 'ioredis';

export interface RedisWatchdog { stop(): void }

export function watchRedis(redis: Redis, opts: { intervalMs?: number; timeoutMs?: number; onRedial?: () => void } = {}): RedisWatchdog {
  const intervalMs = opts.intervalMs ?? 2000;
  const timeoutMs = opts.timeoutMs ?? 5000;
  let busy = false;
  let connectedSince: number | undefined;
  const timer = setInterval(() => {
    // Connected but never ready: the socket was accepted and nothing answers the ready
    // check (ioredis's connect timeout covers only the TCP handshake). Dial again.
    if (redis.status === 'connect') {
      connectedSince ??= Date.now();
      if (Date.now() - connectedSince > timeoutMs) { connectedSince = undefined; opts.onRedial?.(); redis.disconnect(true); }
      return;
    }
    connectedSince = undefined;
    if (busy || redis.status !== 'ready') return;
    busy = true;
    let answered = false;
    const deadline = setTimeout(() => {
      if (answered) return;
      opts.onRedial?.();
      redis.disconnect(true);
    }, timeoutMs);
    redis.ping().then(() => { answered = true; }, () => { answered = true; }).finally(() => { clearTimeout(deadline); busy = false; });
  }, intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
