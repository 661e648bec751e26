// Time travel for the board: the board as it was at T, computed by replaying the flow log
// into a throwaway sandbox (see @pfm/flow-processing). One replay at a time per gateway (a promise
// queue), the last RESULT_CACHE results kept in memory by (at, basis), and the sandbox's
// keys cleared as soon as the board has been read from it.
import { randomBytes } from 'node:crypto';
import type { Kafka, Producer } from 'kafkajs';
import type { FlowEvent } from '@pfm/contracts';
import { FlowStore, Keys } from '@pfm/flow-store';
import type { FlowEventCodec } from '@pfm/kafka-runtime';
import type { Logger } from '@pfm/observability';
import { boardAt, replay, sandboxPrefix, type BoardAt } from '@pfm/flow-processing';

export type Basis = 'shown' | 'known';

export interface ReplayBoardDeps { store: FlowStore; kafka: Kafka; producer: Producer; codec: FlowEventCodec; logger: Logger; flowTopic: string }

/** First and last event times in the flow log (null when it is empty). */
export interface EventRange { from: number | null; to: number | null }

const RESULT_CACHE = 10;
/** How long a computed range is reused (the log only grows; the slider tolerates a stale end). */
const RANGE_TTL_MS = 30_000;

export class ReplayBoards {
  /** Per gateway instance, so two gateways (or two test products) on one Redis never share a sandbox. */
  private readonly id = randomBytes(3).toString('hex');
  private queue: Promise<unknown> = Promise.resolve();
  private readonly results = new Map<string, Promise<BoardAt>>();
  private range: { at: number; value: Promise<EventRange> } | undefined;

  constructor(private readonly d: ReplayBoardDeps) {}

  /** Runs jobs one after another; a failed job does not block the next. */
  private serial<T>(job: () => Promise<T>): Promise<T> {
    const run = this.queue.then(job, job);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** The whole board at `at` (every site and ward: callers cut it to the client's scope). */
  boardAt(at: number, basis: Basis): Promise<BoardAt> {
    const key = `${at}|${basis}`;
    const hit = this.results.get(key);
    if (hit) {
      this.results.delete(key);
      this.results.set(key, hit); // most recently used last
      return hit;
    }
    const value = this.serial(() => this.compute(at, basis));
    this.results.set(key, value);
    while (this.results.size > RESULT_CACHE) this.results.delete(this.results.keys().next().value!);
    value.catch(() => { if (this.results.get(key) === value) this.results.delete(key); });
    return value;
  }

  private async compute(at: number, basis: Basis): Promise<BoardAt> {
    const { store, kafka, producer, codec, logger } = this.d;
    const name = `gw-${this.id}-${at}`;
    try {
      const r = await replay(
        { kafka, producer, codec, logger, redis: store.redis, registry: store.registry },
        { name, thresholds: store.thresholds, sourceTopic: this.d.flowTopic, until: at, basis },
      );
      logger.info({ at, basis, events: r.events, ms: r.ms }, 'replayed the board for a time');
      return await boardAt(r.store, at);
    } finally {
      await new FlowStore(store.redis, new Keys(sandboxPrefix(name)), store.registry, store.thresholds).clear();
    }
  }

  /**
   * First and last event times in the flow log: the first and last message of each
   * partition (log order, so a late-arriving event older than a partition's first message
   * is not seen), the earliest and latest of occurredAt / recordedAt among them. Cheap:
   * two messages per partition, reused for RANGE_TTL_MS.
   */
  eventRange(): Promise<EventRange> {
    if (this.range && Date.now() - this.range.at < RANGE_TTL_MS) return this.range.value;
    const value = this.serial(() => this.readRange());
    this.range = { at: Date.now(), value };
    value.catch(() => { if (this.range?.value === value) this.range = undefined; });
    return value;
  }

  private async readRange(): Promise<EventRange> {
    const { kafka, codec } = this.d;
    const topic = this.d.flowTopic;
    const admin = kafka.admin();
    await admin.connect();
    let offsets;
    try { offsets = await admin.fetchTopicOffsets(topic); } finally { await admin.disconnect(); }
    // Per partition: the offsets still to read (first, then last).
    const wanted = new Map<number, bigint[]>();
    for (const p of offsets) {
      const low = BigInt(p.low);
      const high = BigInt(p.high);
      if (high > low) wanted.set(p.partition, high - 1n > low ? [low, high - 1n] : [low]);
    }
    if (!wanted.size) return { from: null, to: null };
    const events: FlowEvent[] = [];
    const consumer = kafka.consumer({ groupId: `pfm-gateway-range-${this.id}-${randomBytes(3).toString('hex')}`, maxBytesPerPartition: 64 * 1024 });
    await consumer.connect();
    try {
      await consumer.subscribe({ topic, fromBeginning: true });
      await new Promise<void>((resolve, reject) => {
        consumer.run({
          autoCommit: false,
          eachBatch: async ({ batch, isRunning, isStale }) => {
            const todo = wanted.get(batch.partition);
            if (!isRunning() || isStale() || !todo?.length) return;
            for (const m of batch.messages) {
              if (BigInt(m.offset) !== todo[0] || !m.value) continue;
              events.push(await codec.decode(m.value));
              todo.shift();
              if (!todo.length) break;
            }
            if (todo.length) consumer.seek({ topic, partition: batch.partition, offset: todo[0]!.toString() });
            else {
              wanted.delete(batch.partition);
              if (!wanted.size) resolve();
            }
          },
        }).catch(reject);
      });
    } finally {
      await consumer.disconnect();
    }
    const times = events.flatMap((e) => [e.occurredAt, e.recordedAt]);
    return { from: Math.min(...times), to: Math.max(...times) };
  }
}
