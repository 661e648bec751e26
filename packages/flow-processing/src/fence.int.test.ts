// Batch commits are fenced: after another engine takes a partition over, the previous
// owner's batch (a zombie) is refused and changes nothing; a batch delivered again is a
// no-op. Real registry and Redis; the batches are handed to processMessages directly.
import type { KafkaMessage } from 'kafkajs';
import { topicsFor } from '@pfm/contracts';
import { DEFAULT_THRESHOLDS } from '@pfm/flow-domain';
import { FlowStore, Keys, WardRegistry } from '@pfm/flow-store';
import { createLogger } from '@pfm/observability';
import { syntheticEvents, uniqueName } from '@pfm/testkit';
import { EventTimeClock } from './clock';
import { openEngineStack, type EngineStack } from './testing';
import { CommitRefused, engineTopics, FlowEngine } from './engine';

describe('fenced batch commits', () => {
  const ns = uniqueName('fence');
  const t = topicsFor(ns);
  const logger = createLogger('fence-test');
  logger.level = 'fatal';
  let stack: EngineStack;
  let store: FlowStore;
  let messages: KafkaMessage[];

  beforeAll(async () => {
    stack = await openEngineStack(ns, t.flowEvents, 1);
    store = new FlowStore(stack.redis, new Keys(ns.replace(/-/g, '_')), new WardRegistry([]), DEFAULT_THRESHOLDS);
    const events = syntheticEvents({ total: 600, seed: 8 });
    messages = await Promise.all(events.map(async (e, i) => ({ offset: String(i), key: null, value: await stack.codec.encode(e), timestamp: String(e.recordedAt), attributes: 0, headers: {} }) as KafkaMessage));
  });

  afterAll(async () => {
    await store?.clear();
    await stack?.producer.disconnect();
    stack?.redis.disconnect();
  });

  const engine = () => new FlowEngine({ ...stack, store, clock: new EventTimeClock(), logger, groupId: `${ns}-engine`, topics: engineTopics(t), publish: false, maxEventsPerCommit: 100 });

  it('refuses a zombie owner, and a redelivered batch changes nothing', async () => {
    const first = engine();
    await first.processMessages(t.flowEvents, 0, messages.slice(0, 300));
    const after300 = await store.dump();
    expect((await store.appliedOffsets(t.flowEvents)).get(0)).toBe('299');

    // The same batch again (a retry after a failure between commit and publish): a no-op.
    await first.processMessages(t.flowEvents, 0, messages.slice(0, 300));
    expect(first.stats.redelivered).toBe(300);
    expect(await store.dump()).toEqual(after300);

    // A second engine takes the partition over and applies the next 200 events.
    const second = engine();
    await second.processMessages(t.flowEvents, 0, messages.slice(300, 500));
    const after500 = await store.dump();
    // The first, unaware, tries the batch it was given before the takeover: refused whole.
    await expect(first.processMessages(t.flowEvents, 0, messages.slice(300, 600))).rejects.toThrow(CommitRefused);
    expect(first.stats.fenced).toBe(1);
    expect(await store.dump()).toEqual(after500);
    // A batch overlapping what was committed is refused too, naming where to resume.
    const overlap = await second.processMessages(t.flowEvents, 0, messages.slice(450, 600)).catch((e: unknown) => e);
    expect(overlap).toBeInstanceOf(CommitRefused);
    expect((overlap as CommitRefused).applied).toBe('499');
    expect(await store.dump()).toEqual(after500);
  });

  it('a batch fenced by this process\'s own claim after a rebalance sets nothing aside', async () => {
    // kafkajs can rejoin the group while another partition's batch is still in flight; the
    // new assignment claims the partition again, and the old batch's commit is refused.
    const own = new FlowStore(stack.redis, new Keys(uniqueName('fence-own').replace(/-/g, '_')), new WardRegistry([]), DEFAULT_THRESHOLDS);
    const e = new FlowEngine({ ...stack, store: own, clock: new EventTimeClock(), logger, groupId: `${ns}-own`, topics: engineTopics(t), publish: false, maxEventsPerCommit: 100 });
    try {
      await e.processMessages(t.flowEvents, 0, messages.slice(0, 100));
      let reached!: () => void;
      let release!: () => void;
      const atCommit = new Promise<void>((r) => { reached = r; });
      const gate = new Promise<void>((r) => { release = r; });
      const commitRun = own.commitRun.bind(own);
      jest.spyOn(own, 'commitRun').mockImplementationOnce(async (run) => { reached(); await gate; return commitRun(run); });
      const inFlight = e.processMessages(t.flowEvents, 0, messages.slice(100, 200)).catch((err: unknown) => err);
      await atCommit;
      e.assigned(); // the rebalance, while that batch waits to commit
      await e.processMessages(t.flowEvents, 0, messages.slice(100, 200));
      release();
      const refused = await inFlight;
      expect(refused).toBeInstanceOf(CommitRefused);
      expect((refused as CommitRefused).stale).toBe(true);
      // The partition goes on under the new assignment (it used to wait, paused, for a
      // next assignment that never came).
      await e.processMessages(t.flowEvents, 0, messages.slice(200, 300));
      expect((await own.appliedOffsets(t.flowEvents)).get(0)).toBe('299');
    } finally {
      jest.restoreAllMocks();
      await own.clear();
    }
  });

  it('a batch whose patients leave the shared cache while it waits on Redis (another partition cleared it) still applies every event', async () => {
    // Two stores on their own prefixes: one engine runs undisturbed, the other has its
    // shared cache cleared just as each batch's patient load returns, as a batch of
    // another partition does when its commit is refused or fails.
    const mk = (label: string) => new FlowStore(stack.redis, new Keys(uniqueName(label).replace(/-/g, '_')), new WardRegistry([]), DEFAULT_THRESHOLDS);
    const calm = mk('fence-calm');
    const cleared = mk('fence-cleared');
    const a = new FlowEngine({ ...stack, store: calm, clock: new EventTimeClock(), logger, groupId: `${ns}-calm`, topics: engineTopics(t), publish: false, maxEventsPerCommit: 100 });
    const b = new FlowEngine({ ...stack, store: cleared, clock: new EventTimeClock(), logger, groupId: `${ns}-cleared`, topics: engineTopics(t), publish: false, maxEventsPerCommit: 100 });
    try {
      const load = cleared.loadPatients.bind(cleared);
      jest.spyOn(cleared, 'loadPatients').mockImplementation(async (refs) => {
        const got = await load(refs);
        (b as unknown as { cache: Map<string, unknown> }).cache.clear();
        return got;
      });
      for (let i = 0; i < 600; i += 100) {
        await a.processMessages(t.flowEvents, 0, messages.slice(i, i + 100));
        await b.processMessages(t.flowEvents, 0, messages.slice(i, i + 100));
      }
      // Later batches meet patients of earlier ones (cache hits before the clear).
      expect(b.stats.dead_lettered).toBe(0);
      expect(b.stats).toEqual(a.stats);
      const canon = async (st: FlowStore) => Object.fromEntries(Object.entries(await st.dump()).map(([k, v]) => [k.replace(st.keys.prefix, '<p>'), v]));
      expect(await canon(cleared)).toEqual(await canon(calm));
    } finally {
      jest.restoreAllMocks();
      await calm.clear();
      await cleared.clear();
    }
  });
});
