/** @pfm-stack kafka registry redis */
// Redis loses the flow state (restarted empty) while two partitions are being applied: the
// partition that finds it out first rebuilds from the log, and the other one, whose batch
// was planned on the state Redis lost, must not then write into the emptied store as if it
// were a first commit. (Seen in the container fault test: the other partition's commit
// went through after the first one's rebuild forgot every partition's state id; its
// history ops were refused and good events went to the dead-letter topic: patients and
// their alerts missing.) Real registry and Redis; the batches handed to processMessages
// directly, in the order that let the stale batch through.
import type { KafkaMessage } from 'kafkajs';
import { topicsFor, type FlowEvent } from '@pfm/contracts';
import { DEFAULT_THRESHOLDS } from '@pfm/flow-domain';
import { FlowStore, Keys, WardRegistry } from '@pfm/flow-store';
import { createLogger } from '@pfm/observability';
import { syntheticEvents, uniqueName } from '@pfm/testkit';
import { EventTimeClock } from './clock';
import { openEngineStack, type EngineStack } from './testing';
import { CommitRefused, engineTopics, FlowEngine } from './engine';

describe('Redis state lost while two partitions are applied', () => {
  const ns = uniqueName('lost');
  const t = topicsFor(ns);
  const logger = createLogger('state-lost-test');
  logger.level = 'fatal';
  let stack: EngineStack;
  let store: FlowStore;
  /** Each partition's messages, patients split between the two by the parity of their number. */
  const byPartition: [KafkaMessage[], KafkaMessage[]] = [[], []];
  const patients: [Set<string>, Set<string>] = [new Set(), new Set()];

  beforeAll(async () => {
    stack = await openEngineStack(ns, t.flowEvents, 2);
    store = new FlowStore(stack.redis, new Keys(ns.replace(/-/g, '_')), new WardRegistry([]), DEFAULT_THRESHOLDS);
    const events: FlowEvent[] = syntheticEvents({ total: 800, seed: 31 });
    for (const e of events) {
      const p = (Number(/(\d+)$/.exec(e.patientId)?.[1] ?? 0) % 2) as 0 | 1;
      patients[p].add(e.patientId);
      byPartition[p].push({ offset: String(byPartition[p].length), key: null, value: await stack.codec.encode(e), timestamp: String(e.recordedAt), attributes: 0, headers: {} } as KafkaMessage);
    }
  });

  afterAll(async () => {
    await store?.clear();
    await stack?.producer.disconnect();
    stack?.redis.disconnect();
  });

  it('the other partition\'s batch is refused as state lost, writing nothing, instead of going through as a first commit', async () => {
    const engine = new FlowEngine({ ...stack, store, clock: new EventTimeClock(), logger, groupId: `${ns}-engine`, topics: engineTopics(t), publish: false });
    const [p0, p1] = byPartition;
    expect(patients[0].size).toBeGreaterThan(20);
    expect(patients[1].size).toBeGreaterThan(20);
    // Both partitions commit: the engine has seen the site's state id through each.
    await engine.processMessages(t.flowEvents, 0, p0.slice(0, p0.length / 2));
    await engine.processMessages(t.flowEvents, 1, p1.slice(0, p1.length / 2));
    expect([...(await store.appliedOffsets(t.flowEvents)).keys()].sort()).toEqual([0, 1]);

    // Redis restarts empty.
    await store.clear();
    // Partition 1's next batch finds it out at its commit, and the engine reacts as its
    // batch handler does: that partition is forgotten, to be rebuilt from the log.
    await expect(engine.processMessages(t.flowEvents, 1, p1.slice(p1.length / 2))).rejects.toMatchObject({ reason: 'state-lost' });
    (engine as unknown as { forgetLostState(partition: number, message: string): void }).forgetLostState(1, 'state lost (test)');

    // Partition 0's next batch was planned on what Redis had: refused too, nothing written.
    const refused = await engine.processMessages(t.flowEvents, 0, p0.slice(p0.length / 2)).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(CommitRefused);
    expect((refused as CommitRefused).reason).toBe('state-lost');
    expect(await store.appliedOffsets(t.flowEvents)).toEqual(new Map());
    for (const pid of patients[0]) expect(await store.patient('RXT', pid)).toBeNull();

    // Partition 1's rebuild from the start of its log goes through (its state id forgotten).
    await engine.processMessages(t.flowEvents, 1, p1);
    expect((await store.appliedOffsets(t.flowEvents)).get(1)).toBe(String(p1.length - 1));
  });
});
