// Feeding a running simulation to a sender: the warm start (history, as fast as ingest
// takes it) and the live stream (simulated time moving `speed` times faster than the
// wall clock). Used by the demo (scripts/demo.ts) and the end-to-end test.
import type { Delivery } from '../faults';
import type { Simulation } from '../model';
import type { TrustSender } from './sender';

/** A promise that resolves when the signal aborts (never, without one), and its clean-up. */
function aborted(signal?: AbortSignal): { promise: Promise<void>; dispose: () => void } {
  if (!signal) return { promise: new Promise<void>(() => undefined), dispose: () => undefined };
  if (signal.aborted) return { promise: Promise.resolve(), dispose: () => undefined };
  let on: () => void = () => undefined;
  const promise = new Promise<void>((resolve) => { on = () => resolve(); signal.addEventListener('abort', on, { once: true }); });
  return { promise, dispose: () => signal.removeEventListener('abort', on) };
}

/**
 * Sends every delivery (bounded by the sender's in-flight limit) and waits until all are
 * answered, or until the signal aborts (then what is in flight is left to sender.close()).
 */
export async function sendAll(sender: TrustSender, deliveries: Iterable<Delivery>, opts: { signal?: AbortSignal } = {}): Promise<number> {
  let n = 0;
  const stop = aborted(opts.signal);
  try {
    for (const d of deliveries) {
      if (opts.signal?.aborted) break;
      await Promise.race([sender.capacity(), stop.promise]);
      if (opts.signal?.aborted) break;
      sender.send(d).catch(() => undefined); // only fails when the sender is closed; counted in its stats otherwise
      n += 1;
    }
    await Promise.race([sender.drain(), stop.promise]);
    return n;
  } finally {
    stop.dispose();
  }
}

export interface LiveOptions {
  sim: Simulation;
  sender: TrustSender;
  /** Simulated ms per real ms (3600 = one simulated hour per second). */
  speed: number;
  /** Simulated time to continue from (deliveries due before it are skipped: they were sent). */
  from: number;
  /** Real ms between steps (default 250). */
  tickMs?: number;
  /** Called after each step has been answered in full: every delivery due before `until` is in. */
  onStep?: (s: { until: number; sent: number }) => void;
  signal: AbortSignal;
}

/**
 * Runs the live stream until the signal aborts. Each step advances the model to the
 * simulated "now" and sends what became due; a slow step delays the next rather than
 * piling up (so simulated time never runs ahead of what ingest has taken).
 */
export async function runLive(o: LiveOptions): Promise<{ until: number; sent: number }> {
  const tick = o.tickMs ?? 250;
  let until = o.from;
  let sent = 0;
  let last = Date.now();
  while (!o.signal.aborted) {
    await new Promise<void>((resolve) => {
      const done = () => { clearTimeout(t); o.signal.removeEventListener('abort', done); resolve(); };
      const t = setTimeout(done, tick);
      o.signal.addEventListener('abort', done, { once: true });
    });
    if (o.signal.aborted) break;
    const now = Date.now();
    const next = until + Math.round((now - last) * o.speed);
    last = now;
    const due = [...o.sim.deliveries(o.sim.advance(next), next)].filter((d) => d.deliverAt >= o.from);
    sent += await sendAll(o.sender, due, { signal: o.signal });
    if (o.signal.aborted) break; // this step may be incomplete: `until` stays at the last complete one
    until = next;
    o.onStep?.({ until, sent });
  }
  return { until, sent };
}
