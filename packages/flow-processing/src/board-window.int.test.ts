// The board window on the real stack: events of one ward applied in separate batches
// within the window give one update at once and one at the window's end (not one per
// batch), carrying the newest change and the ward as it stands; what the window holds
// when the engine stops is published before it stops. Kafka, registry and Redis.
import type { Consumer } from 'kafkajs';
import { topicsFor, type BoardUpdate, type FlowEvent } from '@pfm/contracts';
import { DEFAULT_THRESHOLDS } from '@pfm/flow-domain';
import { ev, T0 } from '@pfm/flow-domain/src/testing';
import { FlowStore, Keys, WardRegistry } from '@pfm/flow-store';
import { sendFlowEvents } from '@pfm/kafka-runtime';
import { createLogger, Metrics } from '@pfm/observability';
import { uniqueName, waitFor } from '@pfm/testkit';
import { EventTimeClock } from './clock';
import { closeEngineStack, openEngineStack, readJsonTopics, type EngineStack } from './testing';
import { engineTopics, FlowEngine } from './engine';

const registry = new WardRegistry([
  { site: 'RXT', code: 'OAK', name: 'Oak Ward', type: 'adult_acute', beds: 10 },
  { site: 'RXT', code: 'ELM', name: 'Elm Ward', type: 'picu', beds: 6 },
]);

describe('board updates through the window', () => {
  const ns = uniqueName('boardwin');
  const t = topicsFor(ns);
  const logger = createLogger('board-window-test');
  logger.level = 'warn';
  let stack: EngineStack;
  let store: FlowStore;
  let reader: Consumer;
  let engine: FlowEngine | undefined;
  const updates: BoardUpdate[] = [];
  let metrics = new Metrics('board-window-test');

  beforeAll(async () => {
    stack = await openEngineStack(ns, t.flowEvents, 1);
    store = new FlowStore(stack.redis, new Keys(ns.replace(/-/g, '_')), registry, DEFAULT_THRESHOLDS);
    reader = await readJsonTopics(stack.kafka, `${ns}-reader`, [t.boardUpdates], (_topic, v) => { updates.push(v as BoardUpdate); });
  });

  afterAll(() => closeEngineStack({ engine, reader, producer: stack?.producer, store, redis: stack?.redis }));

  const start = async (boardWindowMs: number) => {
    await engine?.stop();
    metrics = new Metrics('board-window-test');
    engine = new FlowEngine({ ...stack, store, clock: new EventTimeClock(), logger, metrics, groupId: `${ns}-engine-${boardWindowMs}`, topics: engineTopics(t), publish: true, boardWindowMs });
    await engine.start();
  };
  const occupied = async (ward: string) => (await store.wardSummaries('RXT', [ward], 0))[0]!.occupied;
  /** Sends each event alone and waits for it to be applied: every event is a batch of its own. */
  const applyOneByOne = async (events: FlowEvent[], ward: string) => {
    for (const [i, e] of events.entries()) {
      await sendFlowEvents(stack.producer, stack.codec, [e], t.flowEvents);
      await waitFor(async () => (await occupied(ward)) === i + 1, { what: `admission ${i + 1} on ${ward} applied` });
    }
  };
  const of = (ward: string) => updates.filter((u) => u.ward === ward);

  it('publishes a ward updated by four batches within the window twice: at once, then at the end with the newest change', async () => {
    await start(8000);
    const admissions = [1, 2, 3, 4].map((i) => ev('patient.admitted', { spellId: `S${i}`, ward: 'OAK', bed: `B${i}` }, T0 + i * 60_000, { patientId: `P${i}` }));
    await applyOneByOne(admissions, 'OAK');
    // The first batch's update went at once; the next three are held.
    await waitFor(() => of('OAK').length >= 1, { what: 'the first update, sent at once' });
    expect(of('OAK')[0]!.change?.eventId).toBe(admissions[0]!.eventId);
    await waitFor(() => of('OAK').some((u) => u.change?.eventId === admissions[3]!.eventId), { timeoutMs: 20000, what: 'the update at the window\'s end' });
    const oak = of('OAK');
    // Four batches, at most three updates (two when all four land in one window, as they do
    // unless the machine is very slow); with no window this is four.
    expect(oak.length).toBeLessThanOrEqual(3);
    expect(oak.at(-1)!.summary.occupied).toBe(4);
    expect(oak.at(-1)!.seq).toBeGreaterThan(oak[0]!.seq);
    expect(await metrics.registry.getSingleMetricAsString('pfm_engine_board_updates_total')).toMatch(/how="merged"[^}]*\} [1-9]/);
    await engine!.stop();
    engine = undefined;
  });

  it('publishes what the window holds when the engine stops', async () => {
    await start(600_000);
    const admissions = [5, 6].map((i) => ev('patient.admitted', { spellId: `S${i}`, ward: 'ELM', bed: `E${i}` }, T0 + i * 60_000, { patientId: `P${i}` }));
    await applyOneByOne(admissions, 'ELM');
    await waitFor(() => of('ELM').length === 1, { what: 'the first ELM update, sent at once' });
    // The second is held for ten minutes: only the stop can send it.
    await new Promise((r) => setTimeout(r, 500));
    expect(of('ELM')).toHaveLength(1);
    await engine!.stop();
    engine = undefined;
    const last = await waitFor(() => of('ELM').find((u) => u.change?.eventId === admissions[1]!.eventId), { what: 'the held update, published at stop' });
    expect(last.summary.occupied).toBe(2);
  });
});
