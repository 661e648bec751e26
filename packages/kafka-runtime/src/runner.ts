// The consumer loop of a service whose position lives in its own store (Redis for the
// engine, the warehouse for insights), written once: batches in partition order, each
// partition positioned from the store's record on its first batch after every group
// join, the offset resolved and committed (for lag monitoring) only after the batch is
// applied, a heartbeat per batch, a failed batch retried by kafkajs with back-off, and
// partitions paused while the service says it is overloaded.
import type { Batch, Consumer, EachBatchPayload } from 'kafkajs';
import type { Logger } from '@pfm/observability';

export interface BatchRunnerOptions {
  consumer: Consumer;
  /** Where a partition resumes (the store's record, or the log's start): asked on its first batch after each join. */
  resumeAt: (topic: string, partition: number) => Promise<string>;
  /** Applies one batch (messages in partition order). Throw to have it retried with back-off. */
  apply: (batch: Batch) => Promise<void>;
  /** After a failed apply, before the retry: drop what may be ahead of the store. */
  onFailure?: (err: unknown, batch: Batch) => void;
  /** After the batch is applied, its offset resolved and committed, and a heartbeat sent. */
  afterCommit?: (batch: Batch, next: string) => Promise<void> | void;
  /** Back-pressure: while this returns true after a batch, that partition is paused (checked every pauseCheckMs, default 200). */
  overloaded?: () => boolean;
  pauseCheckMs?: number;
  /** Default 1: partitions one after another. */
  partitionsConsumedConcurrently?: number;
  logger?: Logger;
}

export class BatchRunner {
  private readonly positioned = new Set<string>();
  private readonly paused = new Map<string, NodeJS.Timeout>();
  constructor(private readonly o: BatchRunnerOptions) {}

  /** Starts consuming (the consumer is connected and subscribed). */
  async run(): Promise<void> {
    const { consumer } = this.o;
    // A new assignment: every partition is positioned from the store's record again.
    consumer.on(consumer.events.GROUP_JOIN, () => { this.positioned.clear(); });
    consumer.on(consumer.events.STOP, () => this.clearPauses());
    await consumer.run({ autoCommit: false, eachBatchAutoResolve: false, partitionsConsumedConcurrently: this.o.partitionsConsumedConcurrently ?? 1, eachBatch: (p) => this.onBatch(p) });
  }

  /** The next batch of this partition is positioned from the store's record again (its state was lost or rolled back). */
  forget(topic: string, partition: number): void { this.positioned.delete(`${topic}:${partition}`); }

  /** Every partition is positioned again (all cached state dropped). */
  forgetAll(): void { this.positioned.clear(); }

  private clearPauses(): void {
    for (const t of this.paused.values()) clearInterval(t);
    this.paused.clear();
  }

  private async onBatch({ batch, resolveOffset, commitOffsetsIfNecessary, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    if (!isRunning() || isStale() || batch.messages.length === 0) return;
    const tp = `${batch.topic}:${batch.partition}`;
    if (!this.positioned.has(tp)) {
      const start = await this.o.resumeAt(batch.topic, batch.partition);
      this.positioned.add(tp);
      if (batch.messages[0]!.offset !== start) {
        this.o.logger?.info({ topic: batch.topic, partition: batch.partition, from: batch.messages[0]!.offset, to: start }, 'positioning partition from the store record');
        this.o.consumer.seek({ topic: batch.topic, partition: batch.partition, offset: start });
        return;
      }
    }
    try {
      await this.o.apply(batch);
    } catch (err) {
      this.positioned.delete(tp);
      this.o.onFailure?.(err, batch);
      throw err;
    }
    const last = batch.messages[batch.messages.length - 1]!.offset;
    const next = (BigInt(last) + 1n).toString();
    resolveOffset(last);
    await commitOffsetsIfNecessary({ topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: next }] }] });
    await heartbeat();
    await this.o.afterCommit?.(batch, next);
    if (this.o.overloaded?.()) this.pause(batch.topic, batch.partition);
  }

  private pause(topic: string, partition: number): void {
    const tp = `${topic}:${partition}`;
    if (this.paused.has(tp)) return;
    this.o.consumer.pause([{ topic, partitions: [partition] }]);
    this.o.logger?.warn({ topic, partition }, 'overloaded: partition paused');
    this.paused.set(tp, setInterval(() => {
      if (this.o.overloaded?.()) return;
      clearInterval(this.paused.get(tp));
      this.paused.delete(tp);
      this.o.consumer.resume([{ topic, partitions: [partition] }]);
      this.o.logger?.info({ topic, partition }, 'partition resumed');
    }, this.o.pauseCheckMs ?? 200));
  }
}
