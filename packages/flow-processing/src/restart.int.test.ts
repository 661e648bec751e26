// kafkajs gives its consumer up for good after an error it does not retry (it restarts it
// after the others). The engine must not then live on silently with nothing consuming:
// it starts the consumer again. Real Kafka, registry and Redis.
import { KafkaJSNonRetriableError } from 'kafkajs';
import { topicsFor } from '@pfm/contracts';
import { DEFAULT_THRESHOLDS } from '@pfm/flow-domain';
import { FlowStore, Keys, WardRegistry } from '@pfm/flow-store';
import { sendFlowEvents } from '@pfm/kafka-runtime';
import { createLogger, Metrics } from '@pfm/observability';
import { syntheticEvents, uniqueName, waitFor } from '@pfm/testkit';
import { EventTimeClock } from './clock';
import { openEngineStack, type EngineStack } from './testing';
import { engineTopics, FlowEngine } from './engine';

describe('the engine after kafkajs gives its consumer up', () => {
  const ns = uniqueName('restart');
  const t = topicsFor(ns);
  const logger = createLogger('restart-test');
  logger.level = 'fatal';
  let stack: EngineStack;
  let store: FlowStore;
  let engine: FlowEngine | undefined;

  beforeAll(async () => {
    stack = await openEngineStack(ns, t.flowEvents, 2);
    store = new FlowStore(stack.redis, new Keys(ns.replace(/-/g, '_')), new WardRegistry([]), DEFAULT_THRESHOLDS);
  });

  afterAll(async () => {
    await engine?.stop();
    await store?.clear();
    await stack?.producer.disconnect();
    stack?.redis.disconnect();
  });

  it('starts consuming again and applies every event', async () => {
    const events = syntheticEvents({ total: 400, seed: 21 });
    await sendFlowEvents(stack.producer, stack.codec, events, t.flowEvents);
    const metrics = new Metrics('restart-test');
    let batches = 0;
    engine = new FlowEngine({
      ...stack, store, clock: new EventTimeClock(), logger, metrics, groupId: `${ns}-engine`, topics: engineTopics(t), publish: false,
      // The first batch fails with an error kafkajs does not retry.
      beforeBatch: () => { batches += 1; if (batches === 1) throw new KafkaJSNonRetriableError('injected: an error kafkajs does not retry'); },
    });
    await engine.start();
    const applied = async () => {
      const offsets = await store.appliedOffsets(t.flowEvents);
      return [...offsets.values()].reduce((n, o) => n + Number(o) + 1, 0);
    };
    await waitFor(async () => (await applied()) === events.length, { timeoutMs: 60000, what: `all ${events.length} events applied` })
      .catch(async (e: Error) => { throw new Error(`${e.message}; applied ${await applied()} after ${batches} batches`); });
    expect(batches).toBeGreaterThan(1);
    expect(await metrics.registry.getSingleMetricAsString('pfm_engine_consumer_restarts_total')).toMatch(/pfm_engine_consumer_restarts_total(\{[^}]*\})? 1$/m);
  });
});
