// Time travel for the board: the board as it was at T, computed by replaying the flow log
// into a throwaway sandbox from the nearest snapshot before T (see @pfm/flow-processing;
// restored on demand: only the keys the replay and the board read). One replay at a time per gateway (a promise
// queue), the last RESULT_CACHE results kept in memory by (at, basis), and the sandbox's
// keys cleared as soon as the board has been read from it.
import { randomBytes } from 'node:crypto';
import type { Kafka, Producer } from 'kafkajs';
import type { FlowEvent } from '@pfm/contracts';
import { FlowStore, Keys } from '@pfm/flow-store';
import { partitionBounds, readRanges, type FlowEventCodec, type OffsetRange } from '@pfm/kafka-runtime';
import type { Logger } from '@pfm/observability';
import { boardAt, replay, sandboxPrefix, SnapshotStore, type BoardAt } from '@pfm/flow-processing';

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
  /** Snapshots of the live log under the live rules (taken by the replay service, or by this gateway with PFM_SNAPSHOT_INTERVAL_MS). */
  readonly snapshots: SnapshotStore;

  constructor(private readonly d: ReplayBoardDeps) {
    this.snapshots = new SnapshotStore(d.store.redis, SnapshotStore.prefixFor(d.store.keys.prefix), d.flowTopic, d.store.thresholds, d.store.registry);
  }

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
        { name, thresholds: store.thresholds, sourceTopic: this.d.flowTopic, until: at, basis, snapshots: this.snapshots, restore: 'on-demand' },
      );
      logger.info({ at, basis, events: r.events, ms: r.ms, snapshot: r.fromSnapshot?.id ?? null }, 'replayed the board for a time');
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
    // Per partition: its first and last message.
    const ranges = new Map<number, OffsetRange[]>();
    for (const [p, b] of await partitionBounds(kafka, topic)) {
      if (b.high > b.low) ranges.set(p, [{ from: b.low, to: b.low + 1n }, { from: b.high - 1n, to: b.high }]);
    }
    if (!ranges.size) return { from: null, to: null };
    const events: FlowEvent[] = [];
    await readRanges(kafka, topic, ranges, async (_p, msgs) => {
      for (const m of msgs) if (m.value) events.push(await codec.decode(m.value));
    }, { groupPrefix: `pfm-gateway-range-${this.id}`, maxBytesPerPartition: 64 * 1024 });
    if (!events.length) return { from: null, to: null };
    const times = events.flatMap((e) => [e.occurredAt, e.recordedAt]);
    return { from: Math.min(...times), to: Math.max(...times) };
  }
}
