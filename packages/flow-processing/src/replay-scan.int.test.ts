// A replay without outputs against the same replay made the way it was before pages and
// without the outbox (its engine writing every alert change to the sandbox's outbox, its
// final scan reading each patient and raising each clock with its own script call), on
// the real stack: the same sandbox state (every key) and the same alerts, while the
// replay writes no outbox stream at any point.
import { topicsFor } from '@pfm/contracts';
import { DEFAULT_THRESHOLDS } from '@pfm/flow-domain';
import { FlowStore, Keys, WardRegistry } from '@pfm/flow-store';
import { partitionBounds, readRanges, sendFlowEvents } from '@pfm/kafka-runtime';
import { createLogger } from '@pfm/observability';
import { SYNTHETIC_WARDS, syntheticEvents, uniqueName } from '@pfm/testkit';
import { EventTimeClock } from './clock';
import { engineTopics, FlowEngine } from './engine';
import { replay, sandboxNamespace, sandboxPrefix } from './replay';
import { Scanner } from './scanner';
import { openEngineStack, type EngineStack } from './testing';

const registry = new WardRegistry(SYNTHETIC_WARDS.map((code) => ({ site: 'RXT', code, name: `${code} Ward`, type: 'adult_acute' as const, beds: 20 })));

describe('replay final scan by pages, no outbox without outputs', () => {
  const ns = uniqueName('rscan');
  const t = topicsFor(ns);
  const logger = createLogger('replay-scan-test');
  logger.level = 'warn';
  let stack: EngineStack;
  const stores: FlowStore[] = [];

  beforeAll(async () => {
    stack = await openEngineStack(ns, t.flowEvents, 3);
    await sendFlowEvents(stack.producer, stack.codec, syntheticEvents({ total: 2500, seed: 11, start: Date.parse('2026-02-01T00:00:00Z') }), t.flowEvents);
  });

  afterAll(async () => {
    for (const s of stores) await s.clear();
    await stack?.producer.disconnect();
    stack?.redis.disconnect();
  });

  /** Every key of a sandbox, its prefix removed. */
  const state = async (store: FlowStore) => Object.fromEntries(Object.entries(await store.dump()).map(([k, v]) => [k.slice(store.keys.prefix.length), v]));
  const streamsUnder = async (prefix: string) => {
    const out: string[] = [];
    for (const key of await stack.redis.keys(`${prefix}:*`)) if ((await stack.redis.type(key)) === 'stream') out.push(key);
    return out;
  };

  /** The replay as it was made before: the outbox written, each fired clock raised by its own call after reading its patient. */
  async function replayOneByOne(name: string): Promise<{ store: FlowStore; dueAtEnd: number; outboxWritten: number }> {
    const store = new FlowStore(stack.redis, new Keys(sandboxPrefix(name)), registry, DEFAULT_THRESHOLDS);
    stores.push(store);
    await store.clear();
    const clock = new EventTimeClock();
    const engine = new FlowEngine({ ...stack, store, clock, logger, groupId: `${ns}-old`, topics: { ...engineTopics(topicsFor(sandboxNamespace(name))), flowEvents: t.flowEvents }, publish: false });
    const scanner = new Scanner({ store, engine, clock, producer: stack.producer, codec: stack.codec, flowTopic: t.flowEvents, logger, parkWaitMs: DEFAULT_THRESHOLDS.parkMinutes * 60_000, expireParked: false });
    const bounds = await partitionBounds(stack.kafka, t.flowEvents);
    const ranges = new Map([...bounds].map(([p, b]) => [p, [{ from: b.low, to: b.high }]]));
    await readRanges(stack.kafka, t.flowEvents, ranges, (p, msgs) => engine.processMessages(t.flowEvents, p, msgs), { groupPrefix: `${ns}-old`, bounds, partitionsConcurrently: ranges.size });
    const outboxWritten = await stack.redis.xlen(store.keys.alertOutbox('RXT'));
    clock.finish();
    const dueAtEnd = (await store.duePatients('RXT', clock.now(), 1_000_000)).length;
    await scanner.scanOnce();
    for (const site of await store.sites()) await store.setClock(site, clock.now());
    return { store, dueAtEnd, outboxWritten };
  }

  it('leaves the state and alerts of the one-by-one replay, and no outbox', async () => {
    const name = `${ns.slice(-8)}-new`;
    const streamsSeen: string[] = [];
    const r = await replay({ ...stack, registry, logger }, {
      name, thresholds: DEFAULT_THRESHOLDS, sourceTopic: t.flowEvents,
      onProgress: () => { void streamsUnder(sandboxPrefix(name)).then((s) => streamsSeen.push(...s)); },
    });
    stores.push(r.store);
    const old = await replayOneByOne(`${ns.slice(-8)}-old`);
    // The reference wrote alert changes to its outbox, and its final scan had clocks to raise.
    expect(old.outboxWritten).toBeGreaterThan(100);
    expect(old.dueAtEnd).toBeGreaterThan(20);
    expect(r.events).toBe(2500);

    expect(await state(r.store)).toEqual(await state(old.store));
    expect(await r.store.alerts('RXT', { includeResolved: true })).toEqual(await old.store.alerts('RXT', { includeResolved: true }));
    expect(r.alertsRaised).toBe(await old.store.activeAlertCount('RXT'));
    expect(streamsSeen).toEqual([]);
    expect(await streamsUnder(sandboxPrefix(name))).toEqual([]);
  });
});
