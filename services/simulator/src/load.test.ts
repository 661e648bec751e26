import { flowEventInputSchema } from '@pfm/contracts';
import { describeLoad, EVENTS_PER_SITE_DAY, loadSiteCodes, loadStream, OPENING_CENSUS_EVENTS } from './load';
import { createSimulation, DAY_MS } from './model';
import { checkPathways } from './stats';
import { makeTrust } from './trust';

const START = Date.UTC(2026, 0, 1);

describe('load mode', () => {
  it('describes a run: total events, sites, simulated days and time compression', () => {
    const plan = describeLoad({ eventsPerSecond: 1000, durationSeconds: 60, sites: 3 });
    expect(plan.sites).toEqual(['SIM01', 'SIM02', 'SIM03']);
    expect(plan.totalEvents).toBe(60_000);
    expect(plan.simulatedDaysPerSite).toBeCloseTo((20_000 - OPENING_CENSUS_EVENTS) / EVENTS_PER_SITE_DAY, 6);
    expect(plan.timeCompression).toBeGreaterThan(1000);
    expect(() => describeLoad({ eventsPerSecond: 0, durationSeconds: 1, sites: 1 })).toThrow(RangeError);
    expect(() => describeLoad({ eventsPerSecond: 1, durationSeconds: 1, sites: 0 })).toThrow(RangeError);
  });

  it('keeps its per-site constants close to what the model measures', () => {
    const sim = createSimulation({ seed: 'load/SIM01', start: START, trust: makeTrust('SIM01'), historyDays: 0, burnInDays: 120 });
    const first = sim.advance(START + 1);
    const census = first.filter((e) => e.occurredAt < START).length;
    const perDay = (first.length - census + sim.advance(START + 30 * DAY_MS).length) / 30;
    expect(census / OPENING_CENSUS_EVENTS).toBeGreaterThan(0.7);
    expect(census / OPENING_CENSUS_EVENTS).toBeLessThan(1.3);
    expect(perDay / EVENTS_PER_SITE_DAY).toBeGreaterThan(0.8);
    expect(perDay / EVENTS_PER_SITE_DAY).toBeLessThan(1.2);
  });

  it('streams exactly rate x duration items, paced evenly, from every site, each a valid pathway', () => {
    const items = [...loadStream({ eventsPerSecond: 4000, durationSeconds: 5, sites: 3, seed: 'bench', burnInDays: 60 })];
    expect(items).toHaveLength(20_000);
    expect(items[0]?.sendAtMs).toBe(0);
    expect(items[19_999]?.sendAtMs).toBe(4999);
    const bySite = new Map<string, typeof items>();
    for (const it of items) {
      const list = bySite.get(it.delivery.event.site) ?? [];
      list.push(it);
      bySite.set(it.delivery.event.site, list);
    }
    expect([...bySite.keys()].sort()).toEqual(loadSiteCodes(3));
    for (const list of bySite.values()) expect(checkPathways(list.map((i) => i.delivery.event))).toEqual([]);
    expect(items.filter((i) => !flowEventInputSchema.safeParse(i.delivery.event).success)).toEqual([]);
  });

  it('applies delivery faults per site when asked', () => {
    const items = [...loadStream({ eventsPerSecond: 2000, durationSeconds: 5, sites: 2, burnInDays: 60, faults: true })];
    expect(items.some((i) => i.delivery.fault === 'duplicate')).toBe(true);
    expect(items.some((i) => i.delivery.fault === 'late')).toBe(true);
  });
});
