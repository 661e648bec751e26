// Sending events through ingest the way a real sender does: HTTP POST /v1/events in
// batches, re-sending after Retry-After when ingest answers 503 (Kafka unavailable,
// nothing accepted). And realistic input: the simulator's synthetic trust.
import type { FlowEventInput, Ward } from '@pfm/contracts';
import { createSimulation, wardsOf } from '@pfm/simulator';
import { postEvents } from './stack';

/** Posts events; resolves with the 202 body once ingest accepted all of them. */
export async function postAccepted(ingestUrl: string, events: unknown[], opts: { tries?: number } = {}): Promise<Record<string, unknown>> {
  const tries = opts.tries ?? 6;
  for (let i = 1; ; i++) {
    const r = await postEvents(ingestUrl, events);
    if (r.status === 202) return r.body;
    if (r.status !== 503 || i >= tries) throw new Error(`ingest answered ${r.status}: ${JSON.stringify(r.body).slice(0, 500)}`);
    // The contract's back-off (Retry-After), shortened: the test stack recovers fast.
    await new Promise((resolve) => setTimeout(resolve, 500 * i));
  }
}

/** Posts events in batches of `batch` (ingest's default limit is 500), in order. */
export async function postInBatches(ingestUrl: string, events: FlowEventInput[], batch = 500): Promise<number> {
  for (let i = 0; i < events.length; i += batch) await postAccepted(ingestUrl, events.slice(i, i + batch));
  return events.length;
}

/** The simulator's trust: its ward registry and `days` of history ending at `start`. */
export function simulatedTrust(opts: { seed: number; start: number; days: number }): { wards: Ward[]; events: FlowEventInput[] } {
  const sim = createSimulation({ seed: opts.seed, start: opts.start, historyDays: Math.max(opts.days, 1) });
  return { wards: wardsOf(sim.trust), events: [...sim.history(opts.days)] };
}
