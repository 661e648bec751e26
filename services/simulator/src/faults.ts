// Realistic delivery faults, as a plan the sender realises: duplicates (the same
// eventId sent again), late messages (delivered after later events), and bad NHS
// numbers (a keying error that fails Modulus 11, so ingest must reject it). Cancels
// (admission / transfer / discharge entered in error, cancelled, re-done) are not a
// delivery fault: they are real events and the model emits them (faults.cancel).
import type { FlowEventInput } from '@pfm/contracts';
import { TimeHeap } from './heap';
import { corruptNhsNumber } from './nhs-numbers';
import { Rng, type Lognormal, type Seed } from './rng';

export type DeliveryFault = 'duplicate' | 'late' | 'bad_nhs';

export interface Delivery {
  event: FlowEventInput;
  /** Event time at which the sender should send it (occurredAt unless late or a duplicate). */
  deliverAt: number;
  fault?: DeliveryFault;
  /** For bad_nhs: the event as it should have been (what ops re-drive once fixed). */
  original?: FlowEventInput;
}

export interface FaultRates {
  /** Share of events delivered twice (same eventId). */
  duplicate: number;
  /** Share of events delivered late, after events that happened after them. */
  late: number;
  /** Share of events carrying an NHS number that arrive with a wrong check digit. */
  badNhs: number;
  /** Share of admissions, transfers and discharges entered in error, cancelled and re-done (model events). */
  cancel: number;
  /** How late a late message is, minutes (lognormal), capped at maxLateMinutes. */
  lateMinutes: Lognormal;
  maxLateMinutes: number;
  /** When the duplicate is re-sent after the original, minutes [min, max] uniform. */
  duplicateAfterMinutes: [number, number];
}

export const NO_FAULTS: FaultRates = {
  duplicate: 0,
  late: 0,
  badNhs: 0,
  cancel: 0,
  lateMinutes: { median: 20, sigma: 1 },
  maxLateMinutes: 6 * 60,
  duplicateAfterMinutes: [0, 5],
};

/** A small, realistic fault rate (illustrative): about 1 in 100 events duplicated or late. */
export const DEFAULT_FAULTS: FaultRates = { ...NO_FAULTS, duplicate: 0.01, late: 0.01, badNhs: 0.002, cancel: 0.01 };

export type FaultsInput = boolean | Partial<FaultRates>;

export function resolveFaults(input?: FaultsInput): FaultRates {
  if (input === undefined || input === false) return { ...NO_FAULTS };
  if (input === true) return { ...DEFAULT_FAULTS };
  return { ...NO_FAULTS, ...input };
}

interface Pending {
  at: number;
  seq: number;
  delivery: Delivery;
}

const MINUTE_MS = 60_000;

/**
 * Turns an event-time-ordered stream into deliveries ordered by deliverAt. Stateful:
 * a late message still pending at the end of one call is delivered by a later call.
 */
export class DeliveryPlanner {
  private readonly heap = new TimeHeap<Pending>();
  private seq = 0;
  private watermark = Number.NEGATIVE_INFINITY;
  private readonly rng: Rng;

  constructor(
    seed: Seed,
    readonly rates: FaultRates,
  ) {
    this.rng = new Rng(`${String(seed)}/delivery`);
  }

  /** Deliveries for these events; with untilMs, also every held delivery due before it. */
  *plan(events: Iterable<FlowEventInput>, untilMs?: number): Generator<Delivery> {
    for (const e of events) {
      this.add(e);
      if (e.occurredAt > this.watermark) this.watermark = e.occurredAt;
      yield* this.release((at) => at <= this.watermark);
    }
    if (untilMs !== undefined) yield* this.release((at) => at < untilMs);
  }

  /** Every delivery still held (end of a run). */
  *drain(): Generator<Delivery> {
    yield* this.release(() => true);
  }

  private *release(due: (at: number) => boolean): Generator<Delivery> {
    for (let top = this.heap.peek(); top && due(top.at); top = this.heap.peek()) {
      this.heap.pop();
      yield top.delivery;
    }
  }

  private push(delivery: Delivery): void {
    this.heap.push({ at: delivery.deliverAt, seq: ++this.seq, delivery });
  }

  private add(event: FlowEventInput): void {
    const r = this.rates;
    const u = this.rng.next();
    if (u < r.late) {
      const minutes = Math.min(r.maxLateMinutes, Math.max(1, this.rng.lognormal(r.lateMinutes)));
      this.push({ event, deliverAt: event.occurredAt + Math.round(minutes * MINUTE_MS), fault: 'late' });
      return;
    }
    if (u < r.late + r.badNhs && event.nhsNumber !== undefined) {
      const bad = { ...event, nhsNumber: corruptNhsNumber(event.nhsNumber, this.rng) };
      this.push({ event: bad, deliverAt: event.occurredAt, fault: 'bad_nhs', original: event });
      return;
    }
    this.push({ event, deliverAt: event.occurredAt });
    if (u >= r.late + r.badNhs && u < r.late + r.badNhs + r.duplicate) {
      const [lo, hi] = r.duplicateAfterMinutes;
      this.push({ event, deliverAt: event.occurredAt + Math.round(this.rng.uniform(lo, hi) * MINUTE_MS), fault: 'duplicate' });
    }
  }
}
