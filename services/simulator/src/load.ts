// Load mode for benchmarks: N events per second for D seconds across S sites, built on
// the same trust model (each site is its own organisation code, seed and trust). The
// model's event time runs as fast as needed to supply the rate; each item says when, in
// wall-clock ms from the start of the run, the sender should send it.
import type { Delivery, FaultsInput } from './faults';
import { createSimulation, HOUR_MS, type Simulation } from './model';
import type { Seed } from './rng';
import { makeTrust } from './trust';

export interface LoadOptions {
  /** Target send rate, events per second (all sites together). */
  eventsPerSecond: number;
  durationSeconds: number;
  /** Number of sites (organisations), each a full default-shaped trust. */
  sites: number;
  seed?: Seed;
  /** Event time at which the live stream starts (default 2026-01-01T00:00Z). */
  start?: number;
  faults?: FaultsInput;
  /** Warm-up per site before the stream (default 120 days; shorter than the demo's). */
  burnInDays?: number;
  /** Event time each model step covers (default 1 hour). */
  stepMs?: number;
}

export interface LoadPlan {
  sites: string[];
  eventsPerSecond: number;
  durationSeconds: number;
  totalEvents: number;
  /** Model events per site per simulated day (measured on the default trust; see load.test.ts). */
  eventsPerSiteDay: number;
  /** Events every site releases at once at the start: the opening census of open journeys (estimate). */
  openingCensusPerSite: number;
  /** Simulated days each site runs through to supply the events (estimate). */
  simulatedDaysPerSite: number;
  /** Simulated time per wall-clock time (estimate). */
  timeCompression: number;
}

export interface LoadItem {
  /** When to send, ms from the start of the run: index / eventsPerSecond. */
  sendAtMs: number;
  delivery: Delivery;
}

/** Measured on the default trust (load.test.ts keeps these honest). */
export const EVENTS_PER_SITE_DAY = 240;
export const OPENING_CENSUS_EVENTS = 4_500;

const DEFAULT_LOAD_START = Date.UTC(2026, 0, 1);

/** Organisation codes for load sites: SIM01, SIM02, ... */
export function loadSiteCodes(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `SIM${String(i + 1).padStart(2, '0')}`);
}

function check(o: LoadOptions): void {
  if (!(o.eventsPerSecond > 0)) throw new RangeError('eventsPerSecond must be > 0');
  if (!(o.durationSeconds > 0)) throw new RangeError('durationSeconds must be > 0');
  if (!Number.isInteger(o.sites) || o.sites < 1 || o.sites > 99) throw new RangeError('sites must be an integer 1..99');
}

export function describeLoad(o: LoadOptions): LoadPlan {
  check(o);
  const totalEvents = Math.round(o.eventsPerSecond * o.durationSeconds);
  const perSite = totalEvents / o.sites;
  const simulatedDaysPerSite = Math.max(0, perSite - OPENING_CENSUS_EVENTS) / EVENTS_PER_SITE_DAY;
  return {
    sites: loadSiteCodes(o.sites),
    eventsPerSecond: o.eventsPerSecond,
    durationSeconds: o.durationSeconds,
    totalEvents,
    eventsPerSiteDay: EVENTS_PER_SITE_DAY,
    openingCensusPerSite: OPENING_CENSUS_EVENTS,
    simulatedDaysPerSite,
    timeCompression: (simulatedDaysPerSite * 86_400) / o.durationSeconds,
  };
}

/**
 * The load stream: every site's deliveries (faults applied when asked) merged in
 * event-time order, paced at eventsPerSecond. Lazy; stops after totalEvents items.
 */
export function* loadStream(o: LoadOptions): Generator<LoadItem> {
  const plan = describeLoad(o);
  const start = o.start ?? DEFAULT_LOAD_START;
  const step = o.stepMs ?? HOUR_MS;
  const seed = String(o.seed ?? 'load');
  const sims: Simulation[] = plan.sites.map((site) =>
    createSimulation({
      seed: `${seed}/${site}`,
      start,
      trust: makeTrust(site),
      historyDays: 0,
      burnInDays: o.burnInDays ?? 120,
      ...(o.faults !== undefined ? { faults: o.faults } : {}),
    }),
  );
  const perMs = o.eventsPerSecond / 1000;
  let sent = 0;
  for (let until = start + step; sent < plan.totalEvents; until += step) {
    const batch: Delivery[] = [];
    for (const sim of sims) for (const d of sim.deliveries(sim.advance(until), until)) batch.push(d);
    batch.sort((a, b) => a.deliverAt - b.deliverAt); // stable: sites, then each site's order
    for (const delivery of batch) {
      if (sent >= plan.totalEvents) return;
      yield { sendAtMs: Math.floor(sent / perMs), delivery };
      sent++;
    }
  }
}
