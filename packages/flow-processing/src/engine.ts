// The flow engine: consumes pfm.flow-events.v1, applies each event exactly once to the
// Redis view (offset-guarded Lua commit), publishes ward board updates, raises alerts
// from the outbox, and sends what it cannot apply to the rejects topic with a reason.
//
// Position: Redis is the record of what was applied. On every partition assignment the
// consumer seeks to Redis's applied offset + 1 (or the log's start when Redis has no
// record, which rebuilds lost state); Kafka commits follow Redis writes and serve lag
// monitoring only.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Admin, Consumer, EachBatchPayload, Kafka, KafkaMessage, Producer } from 'kafkajs';
import type { Redis } from 'ioredis';
import { flowEventSchema, isPlainFlowEvent, type BoardUpdate, type FlowEvent, type Reject, type TopicSet } from '@pfm/contracts';
import { alertFor, clockScope, emptyPatient, evolve, fold, mergePatients, movesLiveState, type PatientState } from '@pfm/flow-domain';
import { invalidOp, type Derived, type FlowStore, type KeyedOp, type OutboxEntry } from '@pfm/flow-store';
import { createConsumer, InfrastructureError, isRetriableDecodeError, sendChunked, superviseConsumer, type FlowEventCodec } from '@pfm/kafka-runtime';
import type { Logger, Metrics } from '@pfm/observability';
import { BatchTrace } from './batch-trace';
import { BoardWindow, type WardChange, type WardSend } from './board-window';
import type { Clock } from './clock';

export interface EngineTopics {
  flowEvents: string; rejects: string; boardUpdates: string; alerts: string;
  /** Events that can never apply (undecodable, breaking the contract, refused by Redis), with partition and offset. */
  deadLetters: string;
}

/** The engine's topics in a topic set (live, a test namespace, a sandbox). */
export function engineTopics(t: TopicSet): EngineTopics {
  return { flowEvents: t.flowEvents, rejects: t.ingestRejects, boardUpdates: t.boardUpdates, alerts: t.alerts, deadLetters: t.flowEventsDlq };
}

export interface EngineDeps {
  kafka: Kafka;
  producer: Producer;
  codec: FlowEventCodec;
  store: FlowStore;
  clock: Clock;
  logger: Logger;
  metrics?: Metrics;
  groupId: string;
  /** Output topics; null = do not publish (e.g. a silent replay sandbox). */
  topics: EngineTopics;
  publish: boolean;
  /** Partitions processed at once (each in order); overlaps Redis and Kafka round trips. Default 3. */
  partitionsConcurrently?: number;
  /** How long a silent member keeps its partitions (a crashed engine's are reassigned after this). Default 30 s. */
  sessionTimeoutMs?: number;
  /** Upper bound of one fetch per partition; default 1 MiB. */
  maxBatchBytes?: number;
  /**
   * Most events committed by one script call (a batch is committed in runs of at most
   * this many): bounds how long Redis is blocked by one commit. Default MAX_EVENTS_PER_COMMIT.
   */
  maxEventsPerCommit?: number;
  /** Events for which this returns false are passed over (offset recorded, state unchanged): time travel. */
  accept?: (e: FlowEvent) => boolean;
  /**
   * Name this process reads the alert outbox under (default: host and group). A restart
   * under the same name publishes what the previous run read and did not acknowledge.
   */
  outboxConsumer?: string;
  /**
   * Seals a reject's raw input before it is published (the rejects and dead-letter topics
   * keep what the engine could not apply, the whole event with its identifiers). Unset:
   * stored in clear (development only; production refuses to start without keys).
   */
  sealReject?: (r: Reject) => Reject;
  /**
   * Board updates: a ward updated within this many ms is held and published once at the
   * window's end (board-window.ts). 0 = every ward a batch touched is published with the
   * batch. Default BOARD_WINDOW_MS.
   */
  boardWindowMs?: number;
  /** Called when a batch is delivered, before it is applied (timing). */
  beforeBatch?: (info: { partition: number; count: number }) => void | Promise<void>;
  /** Called after each batch is committed (progress reporting, scanners in event-time mode). */
  afterBatch?: (info: { partition: number; lastOffset: string; count: number }) => Promise<void> | void;
}

const MAX_CACHE = 200_000;
/** Default cap of events per commit (docs/benchmarks.md: Redis blocked time per call). */
export const MAX_EVENTS_PER_COMMIT = 100;
/** Default board window (ms): the issue's 100-250 ms, at its short end (docs/benchmarks.md "Board window"). */
export const BOARD_WINDOW_MS = 100;

/** A patient in the engine's cache: state, derived view, and whether its history folds with no failures (then evolve may step). */
interface Cached { state: PatientState; derived: Derived; clean: boolean }

/** One event's share of a commit: its offset and the keyed ops of its change. */
interface Unit { index: number; offset: string; ops: KeyedOp[] }
/** Consecutive events of one site, committed by one script call. */
interface Run { site: string; first: string; last: string; units: Unit[] }

/**
 * Redis refusing a history op because it holds fewer of the patient's events than the plan
 * kept (flow-store lua/history.lua): the history was lost under the plan (Redis restarted
 * empty or flushed between the patient's load and the commit), so the partition rebuilds;
 * the event is not a bad one and never goes to the dead-letter topic for it.
 */
const HISTORY_GONE = /hist keeps more events than the history holds/;

/**
 * A commit the fence refused: part of the run was applied before (resume after `applied`),
 * or another owner holds the partition. `stale`: the run was planned under an assignment
 * this process has since left (a rebalance happened while it was in flight), so the
 * refusal says nothing about who owns the partition now.
 */
export class CommitRefused extends Error {
  constructor(readonly reason: 'applied-before' | 'fenced' | 'state-lost', readonly partition: number, readonly applied?: string, readonly stale = false) {
    super(reason === 'fenced' ? `partition ${partition} is owned by another engine: commit refused`
      : reason === 'state-lost' ? `partition ${partition}: Redis lost the flow state since this process last committed: commit refused`
        : `partition ${partition}: events up to offset ${applied} were applied before`);
    this.name = 'CommitRefused';
  }
}

/**
 * Why an event went to the dead-letter topic, as a metric label: empty message, bytes the
 * codec cannot decode, an event that breaks the contract, one the flow rules threw on, or
 * one whose change Redis refused. The reject itself carries the full reason and detail.
 */
export const DEAD_LETTER_KINDS = ['empty', 'undecodable', 'contract', 'rules', 'redis_refused'] as const;
export type DeadLetterKind = (typeof DEAD_LETTER_KINDS)[number];
/** Outbox entries read by another engine and unacknowledged this long are taken over (it died). */
export const OUTBOX_CLAIM_IDLE_MS = 60_000;

export class FlowEngine {
  private consumer: Consumer | undefined;
  private admin: Admin | undefined;
  private readonly positioned = new Set<number>();
  /** Partitions this process has written to Redis since it was positioned. */
  private readonly appliedHere = new Set<number>();
  /** Patients of the partitions this process owns: state plus its derived view, facts and clocks. */
  private readonly cache = new Map<string, Cached>();
  /** This process's ownership epoch per partition (claimed at its first batch after an assignment). */
  private readonly epochs = new Map<number, number>();
  /**
   * Per partition and site, the state id this process's commits of that partition have seen
   * in Redis (lua/applyBatch-1.lua): a commit that finds it gone is refused (Redis lost the
   * state since), instead of writing into an empty store. Forgotten at each assignment, and
   * for a partition when that partition rebuilds: never for the others, whose batches in
   * flight were planned on the state Redis lost and must be refused and rebuild in turn.
   */
  private readonly stateIds = new Map<number, Map<string, string>>();
  private readonly stateIdProposal = randomBytes(8).toString('hex');
  /** Partitions whose commits were refused as another owner's: left alone until the next assignment. */
  private readonly fenced = new Set<number>();
  /**
   * Counts assignments (group joins). A batch remembers the one it was planned under: kafkajs
   * may rejoin while other partitions' batches are still in flight, and such a batch can be
   * fenced by this process's own claim under the new assignment. That refusal must not set
   * the partition aside, or it would wait for an assignment that never comes.
   */
  private generation = 0;
  private stopping = false;
  private fromBeginning = true;
  private readonly restarts;
  /** Script time of batch commits (µs): for the benchmark's Redis blocked-time figures. */
  readonly commits = { calls: 0, micros: 0, maxMicros: 0, maxEvents: 0 };
  private readonly counters;
  private readonly lag;
  private readonly rebuilds;
  private readonly alertsPublished;
  private readonly outboxConsumer: string;
  /** Per site: the outbox pass waiting to start (shared by callers) and the end of the last one. */
  private readonly drains = new Map<string, { queued?: Promise<number>; tail: Promise<void> }>();
  /** Sites whose outbox holds entries this process read and could not confirm (publish or acknowledgement failed). */
  private readonly unconfirmed = new Set<string>();
  private readonly outboxFailures;
  readonly stats = { applied: 0, duplicate: 0, parked: 0, rejected: 0, expired: 0, redelivered: 0, dead_lettered: 0, fenced: 0 };
  private readonly batchSizes;
  private readonly applyDelay;
  private readonly batchFailures;
  private readonly deadLetterKinds;
  private readonly boards: BoardWindow;

  constructor(private readonly d: EngineDeps) {
    this.counters = d.metrics?.counter('pfm_engine_events_total', 'Flow events processed, by outcome', ['outcome']);
    // Every outcome exported from 0: Prometheus' increase() misses a series that is born
    // at 1, so the first dead letter of a process would not fire PfmEventsDeadLettered.
    for (const outcome of Object.keys(this.stats)) this.counters?.inc({ outcome }, 0);
    this.deadLetterKinds = d.metrics?.counter('pfm_engine_dead_letters_total', 'Events set aside on the dead-letter topic, by reason (empty, undecodable, contract, rules, redis_refused)', ['reason']);
    for (const reason of DEAD_LETTER_KINDS) this.deadLetterKinds?.inc({ reason }, 0);
    this.lag = d.metrics?.gauge('pfm_engine_partition_lag', 'Messages behind the partition high watermark', ['partition']);
    this.rebuilds = d.metrics?.counter('pfm_engine_rebuilds_total', 'Partitions rebuilt from the log after Redis lost their state');
    this.alertsPublished = d.metrics?.counter('pfm_engine_alert_changes_published_total', 'Alert changes (raised, acknowledged, resolved) published to the alerts topic, by how they were read from the outbox', ['read']);
    this.outboxConsumer = d.outboxConsumer ?? `${hostname()}/${d.groupId}`;
    this.outboxFailures = d.metrics?.counter('pfm_engine_alert_publish_failures_total', 'Outbox passes whose publish of alert changes (or their acknowledgement) failed; the changes are published again by the next pass');
    this.outboxFailures?.inc({}, 0);
    this.batchSizes = d.metrics?.histogram('pfm_engine_batch_size', 'Messages per applied batch (one Redis pipeline)', [1, 10, 50, 100, 500, 1000, 2500, 5000, 10000]);
    this.applyDelay = d.metrics?.histogram('pfm_engine_apply_delay_seconds', 'Time from an event to its apply in Redis: since its event time (from=event_time) or since ingest wrote it to Kafka (from=received)', [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600, 86400], ['from']);
    this.restarts = d.metrics?.counter('pfm_engine_consumer_restarts_total', 'Times the engine started its Kafka consumer again after kafkajs gave it up on an error it does not retry');
    this.restarts?.inc({}, 0);
    this.batchFailures = d.metrics?.counter('pfm_engine_batch_failures_total', 'Batches that failed and will be retried (Redis or Kafka trouble), by error class', ['class']);
    const boardUpdates = d.metrics?.counter('pfm_engine_board_updates_total', 'Ward board updates: published at once, published at a window\'s end, or merged into one held for its window', ['how']);
    for (const how of ['at_once', 'window_end', 'merged']) boardUpdates?.inc({ how }, 0);
    this.boards = new BoardWindow({
      windowMs: d.boardWindowMs ?? BOARD_WINDOW_MS, logger: d.logger, headersFor: (id) => BatchTrace.headersFor(id),
      send: (site, wards) => this.sendBoards(site, wards),
      onCount: (how, n) => boardUpdates?.inc({ how }, n),
    });
  }

  async start(opts: { fromBeginning?: boolean } = {}): Promise<void> {
    this.stopping = false;
    this.fromBeginning = opts.fromBeginning ?? true;
    const consumer = createConsumer(this.d.kafka, { groupId: this.d.groupId, sessionTimeout: this.d.sessionTimeoutMs ?? 30000, heartbeatInterval: Math.min(3000, Math.floor((this.d.sessionTimeoutMs ?? 30000) / 3)), maxBytesPerPartition: this.d.maxBatchBytes ?? 1024 * 1024 });
    this.consumer = consumer;
    this.admin = this.d.kafka.admin();
    await this.admin.connect();
    await consumer.connect();
    // Event time resumes where the previous run left it (not at 0 until the next event).
    if (this.d.clock.kind === 'event') {
      for (const site of await this.d.store.sites()) { const c = await this.d.store.clock(site); if (c) this.d.clock.observe(c); }
    }
    // Alerts a previous run queued or read but did not get to publish (it stopped in between).
    for (const site of await this.d.store.sites()) { await this.recoverOutbox(site, { own: true }); await this.drainOutbox(site); }
    await consumer.subscribe({ topic: this.d.topics.flowEvents, fromBeginning: this.fromBeginning });
    // A new assignment: every partition must be positioned from Redis's record again.
    consumer.on(consumer.events.GROUP_JOIN, () => this.assigned());
    // A consumer kafkajs gives up must not leave the engine alive with nothing consuming.
    superviseConsumer(consumer, {
      logger: this.d.logger, what: 'flow events', stopped: () => this.stopping,
      onRestart: () => this.restarts?.inc(),
      restart: async () => {
        await this.disconnect().catch(() => undefined);
        await this.start({ fromBeginning: this.fromBeginning });
      },
    });
    await consumer.run({ autoCommit: false, eachBatchAutoResolve: false, partitionsConsumedConcurrently: this.d.partitionsConcurrently ?? 3, eachBatch: (p) => this.onBatch(p) });
  }

  /**
   * Where this partition must resume: right after the offset Redis says was applied, or
   * the start of the log when Redis has no record (state lost or never built: rebuild).
   */
  private async expectedStart(partition: number): Promise<string> {
    const applied = (await this.d.store.appliedOffsets(this.d.topics.flowEvents)).get(partition);
    const low = (await this.admin!.fetchTopicOffsets(this.d.topics.flowEvents)).find((p) => p.partition === partition)?.low ?? '0';
    if (applied === undefined) {
      this.d.logger.info({ partition, from: low }, 'no applied offset in Redis for this partition: building its state from the start of the log');
      return low;
    }
    const next = BigInt(applied) + 1n;
    return (next < BigInt(low) ? BigInt(low) : next).toString();
  }

  /**
   * The group handed partitions out anew (called on each join; exposed for tests): every
   * partition is positioned from Redis's record again, and ownership is claimed again.
   */
  assigned(): void {
    this.generation += 1;
    this.positioned.clear(); this.appliedHere.clear(); this.cache.clear(); this.epochs.clear(); this.stateIds.clear();
    // Partitions set aside after a refused commit: fetched again if this assignment has them.
    if (this.fenced.size) this.consumer?.resume([{ topic: this.d.topics.flowEvents, partitions: [...this.fenced] }]);
    this.fenced.clear();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.disconnect();
    // Batches have stopped: what the window still holds goes out before the producer closes.
    await this.boards.flush();
    // Alert changes whose publish failed: one more try now, rather than at this process's
    // next start or another engine's claim of them.
    for (const site of [...this.unconfirmed]) {
      await this.drainOutbox(site).catch((err: unknown) => this.d.logger.error({ err, site }, 'alert changes still unpublished at stop: the next engine to start publishes them'));
    }
  }

  private async disconnect(): Promise<void> {
    await this.consumer?.disconnect();
    await this.admin?.disconnect();
    this.consumer = undefined;
    this.admin = undefined;
  }

  private async onBatch({ batch, resolveOffset, commitOffsetsIfNecessary, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    if (!isRunning() || isStale() || batch.messages.length === 0) return;
    const generation = this.generation;
    if (this.fenced.has(batch.partition)) return;
    if (this.positioned.has(batch.partition) && this.appliedHere.has(batch.partition)) {
      const applied = await this.d.store.appliedOffsets(this.d.topics.flowEvents);
      if (!applied.has(batch.partition)) {
        // Redis lost the state this process built (flushed, failed over empty): rebuild
        // this partition from the start of the log before serving anything newer.
        this.forgetLostState(batch.partition, 'flow state missing from Redis: rebuilding the partition from the log');
      }
    }
    if (!this.positioned.has(batch.partition)) {
      const start = await this.expectedStart(batch.partition);
      this.positioned.add(batch.partition);
      if (batch.messages[0]!.offset !== start) {
        // Kafka's committed position differs from what Redis holds: Redis wins.
        this.d.logger.info({ partition: batch.partition, from: batch.messages[0]!.offset, to: start }, 'repositioning partition from the Redis record');
        this.consumer!.seek({ topic: batch.topic, partition: batch.partition, offset: start });
        return;
      }
    }
    await this.d.beforeBatch?.({ partition: batch.partition, count: batch.messages.length });
    const traced = new BatchTrace(batch.topic, batch.partition, batch.messages);
    try {
      await this.processMessages(batch.topic, batch.partition, batch.messages);
      traced.end();
    } catch (err) {
      traced.end(err);
      if (err instanceof CommitRefused) {
        // Nothing of the refused run was applied; what was planned on top of it is stale.
        this.cache.clear();
        if (err.reason === 'state-lost') {
          // Redis lost the state between this process's commits (restarted empty, flushed)
          // and a commit found it out: rebuild the partition from the log, as the check
          // before a batch does.
          this.forgetLostState(batch.partition, 'flow state missing from Redis (found at commit): rebuilding the partition from the log');
          const start = await this.expectedStart(batch.partition);
          this.positioned.add(batch.partition);
          this.consumer?.seek({ topic: batch.topic, partition: batch.partition, offset: start });
          return;
        }
        if (err.reason === 'fenced' && (err.stale || generation !== this.generation)) {
          this.d.logger.info({ partition: batch.partition }, 'a batch of the previous assignment was refused: the new assignment resumes from the Redis record');
          return;
        }
        if (err.reason === 'fenced') {
          this.d.logger.warn({ partition: batch.partition }, 'another engine owns this partition now: its commits win; waiting for the next assignment');
          this.fenced.add(batch.partition);
          // No fetching it again in a loop until the group hands out partitions anew.
          this.consumer!.pause([{ topic: batch.topic, partitions: [batch.partition] }]);
          return;
        }
        const next = (BigInt(err.applied!) + 1n).toString();
        this.d.logger.warn({ partition: batch.partition, from: batch.messages[0]!.offset, to: next }, 'part of this batch was applied before: resuming after the committed offset');
        this.consumer!.seek({ topic: batch.topic, partition: batch.partition, offset: next });
        return;
      }
      // Redis or Kafka trouble: forget cached state (it may be ahead of Redis) and let
      // kafkajs retry the batch with backoff; the offset guard makes the retry safe.
      this.cache.clear();
      this.batchFailures?.inc({ class: err instanceof Error ? err.name : 'unknown' });
      this.d.logger.error({ err, partition: batch.partition }, 'batch failed; will retry');
      throw err;
    }
    const last = batch.messages[batch.messages.length - 1]!.offset;
    this.appliedHere.add(batch.partition);
    // Observed at the apply, before the commit: whoever sees the group's committed offset
    // (lag 0) also sees these events in the delay histogram.
    const appliedAt = Date.now();
    for (const m of batch.messages) this.applyDelay?.observe({ from: 'received' }, Math.max(0, appliedAt - Number(m.timestamp)) / 1000);
    this.batchSizes?.observe(batch.messages.length);
    resolveOffset(last);
    await commitOffsetsIfNecessary({ topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: (BigInt(last) + 1n).toString() }] }] });
    await heartbeat();
    this.lag?.set({ partition: String(batch.partition) }, Number(BigInt(batch.highWatermark) - BigInt(last) - 1n));
    await this.d.afterBatch?.({ partition: batch.partition, lastOffset: last, count: batch.messages.length });
  }

  /** Applies a run of messages from one partition in order. Exposed for replay and tests. */
  async processMessages(topic: string, partition: number, messages: KafkaMessage[]): Promise<void> {
    const { store } = this.d;
    if (this.fenced.has(partition)) throw new CommitRefused('fenced', partition);
    const generation = this.generation;
    const decoded: { offset: string; event?: FlowEvent; raw: Buffer | null }[] = [];
    const deadLetters: Reject[] = [];
    const poison = (m: { offset: string; raw: Buffer | null }, kind: DeadLetterKind, reason: string, detail: string, e?: FlowEvent) => {
      deadLetters.push({ ...this.reject(`dlq:${topic}:${partition}:${m.offset}`, reason, detail, e ? null : m.raw, e), source: { topic, partition, offset: m.offset } });
      this.count('dead_lettered');
      this.deadLetterKinds?.inc({ reason: kind });
    };
    // Writer schemas fetched once per id (a round trip only for an id not seen before); then every message decodes synchronously.
    try {
      await this.d.codec.prepare(messages.map((m) => m.value));
    } catch (err) {
      throw new InfrastructureError(`schema registry unavailable while decoding: ${(err as Error).message}`, { cause: err });
    }
    for (const m of messages) {
      const d = { offset: m.offset, raw: m.value };
      const outcome = this.decode(m.value);
      if (outcome.ok) decoded.push({ ...d, event: outcome.event });
      else poison(d, outcome.kind, outcome.reason, outcome.detail, outcome.event);
    }
    // The batch's patients, held by the batch itself from here to its commit: the shared
    // cache only lends them. Another partition's batch may clear the shared cache while this
    // one waits on Redis (its commit refused or failed), and an event planned on a patient
    // that vanished would go aside as a rules error: a good event not applied.
    // Every patient not in the cache is loaded in one round trip.
    const mine = new Map<string, Cached>();
    const missing = new Map<string, { site: string; patientId: string }>();
    for (const d of decoded) {
      if (!d.event) continue;
      const k = `${d.event.site}/${d.event.patientId}`;
      const hit = this.cache.get(k);
      if (hit) mine.set(k, hit);
      else missing.set(k, { site: d.event.site, patientId: d.event.patientId });
    }
    const loaded = await store.loadPatients([...missing.values()]);
    [...missing.entries()].forEach(([k, ref], i) => {
      const c = this.cached(ref.site, ref.patientId, loaded[i] ?? emptyPatient(ref.site, ref.patientId));
      mine.set(k, c);
      this.cache.set(k, c);
    });
    const epoch = await this.epochFor(topic, partition);

    const rejects: Reject[] = [];
    const touched = new Map<string, Set<string>>(); // site -> ward scopes
    const changes = new Map<string, WardChange>();
    const sites = new Set<string>();
    const offsetField = `${topic}:${partition}`;
    const cap = this.d.maxEventsPerCommit ?? MAX_EVENTS_PER_COMMIT;
    // Consecutive events of one site form a run, committed by one script call, in order.
    const runs: Run[] = [];
    for (const [i, d] of decoded.entries()) {
      const e = d.event!;
      let run = runs[runs.length - 1];
      if (!run || run.site !== e.site || run.units.length >= cap) { run = { site: e.site, first: d.offset, last: d.offset, units: [] }; runs.push(run); }
      run.last = d.offset;
      const unit: Unit = { index: i, offset: d.offset, ops: [] };
      run.units.push(unit);
      // The patient as before this event: restored if the event goes aside.
      const key = `${e.site}/${e.patientId}`;
      const before = mine.get(key);
      try {
        await this.planEvent(unit.ops, d as { offset: string; event: FlowEvent; raw: Buffer | null }, partition, { rejects, touched, changes, sites, mine });
      } catch (err) {
        // A bug or data the rules cannot handle: this event only goes aside, its offset
        // recorded as passed over, and the partition moves on.
        this.restore(mine, key, before);
        poison(d, 'rules', 'the flow rules could not apply this event', (err as Error).message, e);
        unit.ops = [];
        continue;
      }
      // Every op checked before the call: an event whose change Redis would refuse goes aside alone.
      let bad: string | undefined;
      for (let j = 0; j < unit.ops.length && bad === undefined; j++) bad = invalidOp(unit.ops[j]!);
      if (bad) {
        this.restore(mine, key, before);
        this.d.logger.error({ partition, offset: d.offset, error: bad }, 'the change of one event is not valid; it goes to the dead-letter topic');
        poison(d, 'redis_refused', 'Redis would refuse the change this event makes', bad, e);
        unit.ops = [];
      }
    }
    for (const site of sites) await store.noteSite(site);
    for (const key of this.cache.keys()) {
      if (this.cache.size <= MAX_CACHE) break;
      this.cache.delete(key);
    }
    // What goes aside is on Kafka before the commit that passes over it: a failed send
    // fails the batch with nothing applied, and the retry sends it again under the same
    // ids (the rejects view keeps one record per id). Sent after the commit, a send that
    // failed would be lost: the retry finds the batch applied and moves on.
    if (this.d.publish) await this.sendAside(deadLetters, rejects);
    try {
      for (const run of runs) await this.commit(run, offsetField, partition, epoch, generation, async (u, err) => {
        const d = decoded[u.index]!;
        // Later events of the batch were planned on top of the refused change: read back what Redis holds.
        this.cache.clear();
        this.d.logger.error({ partition, offset: d.offset, error: err.message }, 'Redis refused the change of one event; it goes to the dead-letter topic');
        poison(d, 'redis_refused', 'Redis refused the change this event makes', err.message, d.event);
        if (this.d.publish) await this.sendAside(deadLetters.slice(-1), []);
      });
    } catch (err) {
      // The cache holds what was planned and not committed.
      this.cache.clear();
      throw err;
    }
    const appliedAt = Date.now();
    for (const d of decoded) if (d.event) this.applyDelay?.observe({ from: 'event_time' }, Math.max(0, appliedAt - d.event.occurredAt) / 1000);
    if (!this.d.publish) return;
    await this.publishBoards(touched, changes);
    for (const site of sites) await this.drainOutbox(site);
  }

  /** Sends events set aside: those that can never apply to the dead-letter topic, those the rules refused to the rejects topic. */
  private async sendAside(deadLetters: readonly Reject[], rejects: readonly Reject[]): Promise<void> {
    if (deadLetters.length) await sendChunked(this.d.producer, this.d.topics.deadLetters, deadLetters.map((r) => ({ key: r.rejectId, value: JSON.stringify(r) })));
    if (rejects.length) await sendChunked(this.d.producer, this.d.topics.rejects, rejects.map((r) => ({ key: r.rejectId, value: JSON.stringify(r) })));
  }

  /** Puts a patient's entry (the batch's and the cache's) back as it was before an event that went aside. */
  private restore(mine: Map<string, Cached>, key: string, before: Cached | undefined): void {
    if (before) { mine.set(key, before); this.cache.set(key, before); } else { mine.delete(key); this.cache.delete(key); }
  }

  /** A patient's entry after a planned event: the batch's own, and the cache's for the next batch. */
  private keep(mine: Map<string, Cached>, key: string, c: Cached): void {
    mine.set(key, c);
    this.cache.delete(key); // re-insert: the Map's order is then least recently used first
    this.cache.set(key, c);
  }

  /** A patient's cache entry from its state: its view, what it contributes, its clocks. */
  private cached(site: string, patientId: string, state: PatientState): Cached {
    const f = fold(state.events);
    return { state, derived: this.d.store.derive(site, patientId, f.view), clean: f.failures.length === 0 };
  }

  /**
   * Redis lost the state this process built (flushed, restarted empty): forget what this
   * process knew of the partition, so that it is positioned from Redis's (missing) record,
   * i.e. rebuilt from the start of the log.
   */
  private forgetLostState(partition: number, message: string): void {
    this.d.logger.warn({ partition }, message);
    this.rebuilds?.inc();
    this.positioned.delete(partition);
    this.appliedHere.delete(partition);
    this.cache.clear();
    this.stateIds.delete(partition);
  }

  /** This process's epoch for the partition, claimed (fencing out any previous owner) on first use after an assignment. */
  private async epochFor(topic: string, partition: number): Promise<number> {
    let epoch = this.epochs.get(partition);
    if (epoch === undefined) {
      epoch = await this.d.store.claimPartition(topic, partition);
      this.epochs.set(partition, epoch);
    }
    return epoch;
  }

  /**
   * Commits one run with one fenced script call. A run the fence refuses throws
   * CommitRefused, unless every event of it was applied before (a redelivery: nothing to
   * do). When Redis refuses the call itself, each event is committed on its own so that
   * only the one it refuses goes aside (`refused`), and the partition moves on.
   */
  private async commit(run: Run, field: string, partition: number, epoch: number, generation: number, refused: (u: Unit, err: Error) => Promise<void>): Promise<void> {
    const { store } = this.d;
    const once = async (r: Run): Promise<void> => {
      const out = await store.commitRun({ site: r.site, field, first: r.first, last: r.last, epoch, stateId: { seen: this.stateIds.get(partition)?.get(r.site), proposal: this.stateIdProposal }, ops: r.units.flatMap((u) => u.ops) });
      if (out.status === 'state-lost') throw new CommitRefused('state-lost', partition);
      if (out.status === 'applied') {
        if (out.stateId) {
          const seen = this.stateIds.get(partition) ?? new Map<string, string>();
          seen.set(r.site, out.stateId);
          this.stateIds.set(partition, seen);
        }
        this.commits.calls += 1;
        this.commits.micros += out.micros;
        if (out.micros > this.commits.maxMicros) { this.commits.maxMicros = out.micros; this.commits.maxEvents = r.units.length; }
        return;
      }
      if (out.status === 'fenced') {
        this.count('fenced');
        // Planned under an assignment since left: the new one decides; set nothing aside.
        if (generation !== this.generation) throw new CommitRefused('fenced', partition, undefined, true);
        this.fenced.add(partition);
        throw new CommitRefused('fenced', partition);
      }
      if (BigInt(out.applied) >= BigInt(r.last)) { this.stats.redelivered += r.units.length; return; }
      throw new CommitRefused('applied-before', partition, out.applied);
    };
    try {
      await once(run);
    } catch (err) {
      // Redis answered, and refused this call: the data, not the connection.
      if (!(err instanceof Error) || err.name !== 'ReplyError') throw err;
      if (HISTORY_GONE.test(err.message)) throw new CommitRefused('state-lost', partition);
      for (const u of run.units) {
        const single: Run = { site: run.site, first: u.offset, last: u.offset, units: [u] };
        try {
          await once(single);
        } catch (e) {
          if (!(e instanceof Error) || e.name !== 'ReplyError' || u.ops.length === 0) throw e;
          // A history that Redis no longer holds is lost state, not a bad event: rebuild.
          if (HISTORY_GONE.test(e.message)) throw new CommitRefused('state-lost', partition);
          await refused(u, e);
          await once({ ...single, units: [{ ...u, ops: [] }] });
        }
      }
    }
  }

  /** Moves a retired record into the survivor (A40); undefined when there is nothing to move. */
  private async mergeRetired(mine: Map<string, Cached>, site: string, retiredId: string, survivor: PatientState): Promise<{ survivor: PatientState; also: { patientId: string; before: Derived; after: Derived; state: PatientState }[] } | undefined> {
    const { store } = this.d;
    const rk = `${site}/${retiredId}`;
    let rc = mine.get(rk) ?? this.cache.get(rk);
    if (!rc) rc = this.cached(site, retiredId, (await store.loadPatients([{ site, patientId: retiredId }]))[0] ?? emptyPatient(site, retiredId));
    const m = mergePatients(survivor, rc.state);
    if (m.moved === 0 && m.retired === rc.state) return undefined;
    if (m.conflicts.length) this.d.logger.warn({ site, conflicts: m.conflicts.length }, 'A40 merge: some moved events do not apply to the surviving record');
    const after = store.derive(site, retiredId, fold(m.retired.events).view);
    this.keep(mine, rk, { state: m.retired, derived: after, clean: true });
    return { survivor: m.survivor, also: [{ patientId: retiredId, before: rc.derived, after, state: m.retired }] };
  }

  /**
   * Decodes one message. Bad data (no magic byte, a schema id the registry does not
   * know, a body that does not fit the schema or the contract) is an outcome; the
   * registry being unreachable is thrown as retriable, so the batch is retried with
   * back-off instead of events being set aside while it is down.
   */
  private decode(value: Buffer | null): { ok: true; event: FlowEvent } | { ok: false; kind: DeadLetterKind; reason: string; detail: string; event?: FlowEvent } {
    if (!value || value.length === 0) return { ok: false, kind: 'empty', reason: 'empty message on the flow topic', detail: '' };
    let event: FlowEvent;
    try {
      event = this.d.codec.decodeSync(value);
    } catch (err) {
      if (isRetriableDecodeError(err)) throw new InfrastructureError(`schema registry unavailable while decoding: ${(err as Error).message}`, { cause: err });
      return { ok: false, kind: 'undecodable', reason: 'undecodable event on the flow topic', detail: (err as Error).message };
    }
    // The quick check passes what the contract accepts as decoded; anything else is the contract's to judge (and explain).
    if (isPlainFlowEvent(event)) return { ok: true, event };
    const valid = flowEventSchema.safeParse(event);
    if (!valid.success) {
      return { ok: false, kind: 'contract', reason: 'event breaks the flow-event contract', event, detail: valid.error.issues.map((i) => `${i.path.join('.') || '(event)'}: ${i.message}`).join('; ').slice(0, 2000) };
    }
    return { ok: true, event };
  }

  /** Queues one event's change: due clocks, the rules' outcome, its rejects and board changes. */
  private async planEvent(
    ops: KeyedOp[], d: { offset: string; event: FlowEvent; raw: Buffer | null }, partition: number,
    out: { rejects: Reject[]; touched: Map<string, Set<string>>; changes: Map<string, WardChange>; sites: Set<string>; mine: Map<string, Cached> },
  ): Promise<void> {
    const { store } = this.d;
    const { rejects, touched, changes, sites, mine } = out;
    const e = d.event;
    sites.add(e.site);
    this.d.clock.observe(e.occurredAt, partition);
    const k = `${e.site}/${e.patientId}`;
    const cached = mine.get(k)!;
    // Not about a patient (an improvement note) or passed over (time travel): only its offset is recorded, with the run's.
    if (!movesLiveState(e) || (this.d.accept && !this.d.accept(e))) return;
    const fired = this.fireDueClocks(ops, e, cached, touched);
    // Parking time on the engine's clock: wall time live, event time in replay and demos.
    // A clean cached view lets evolve step the event instead of re-folding the history.
    let r = evolve(cached.state, e, this.d.clock.now(), cached.clean ? cached.derived.view : undefined);
    let clean = r.outcome.kind === 'applied' ? true : cached.clean;
    // A40: the retired record's history moves to the survivor in the same atomic commit.
    const merge = e.type === 'patient.merged' && r.outcome.kind === 'applied' ? await this.mergeRetired(mine, e.site, e.payload.mergedPatientId, r.state) : undefined;
    if (merge) {
      const f = fold(merge.survivor.events);
      r = { ...r, state: merge.survivor, view: f.view };
      clean = f.failures.length === 0;
    }
    const changed = r.outcome.kind !== 'duplicate';
    // Only the clocks of what the event changed are computed again, when the view is the
    // one before plus this event alone (a clean history, nothing released, no merge).
    const since = cached.clean && !merge && r.released.length === 0 ? { prior: cached.derived, scope: clockScope(e) } : undefined;
    const derived = r.outcome.kind === 'applied' ? store.derive(e.site, e.patientId, r.view, since) : cached.derived;
    const ack = e.type === 'alert.acknowledged' && r.outcome.kind === 'applied' ? { alertId: e.payload.alertId, by: e.payload.by, at: e.occurredAt, note: e.payload.note } : undefined;
    const own = e.type === 'alert.owned' && r.outcome.kind === 'applied' ? { alertId: e.payload.alertId, name: e.payload.owner, by: e.payload.by, at: e.occurredAt } : undefined;
    const plan = store.planApply({
      site: e.site, patientId: e.patientId, before: cached.derived, after: derived, state: changed ? r.state : null, prior: cached.state,
      offsetField: '', offset: d.offset, acknowledge: ack, own, at: e.occurredAt, also: merge?.also, fired,
    });
    for (const op of plan.changes) ops.push(op);
    this.keep(mine, k, { state: r.state, derived, clean });
    this.count(r.outcome.kind);
    if (r.outcome.kind === 'rejected') rejects.push(this.reject(`engine:${e.eventId}`, r.outcome.reason, '', d.raw, e));
    if (r.outcome.kind === 'expired') rejects.push(this.reject(`engine:${r.outcome.event.eventId}`, r.outcome.reason, '', null, r.outcome.event));
    for (const scope of plan.scopes) {
      if (!scope.startsWith('ward:')) continue;
      if (!touched.has(e.site)) touched.set(e.site, new Set());
      touched.get(e.site)!.add(scope.slice(5));
      changes.set(`${e.site}/${scope.slice(5)}`, { eventId: e.eventId, type: e.type, spellId: (e.payload as { spellId?: string }).spellId });
    }
  }

  /**
   * Clocks of this patient that fell due between their previous event and this one
   * are raised now, against the state before this event: the same alerts whether time
   * is the wall clock or a replay's event time, and independent of how partitions
   * interleave. Clocks with no later event are raised by the scanner. Returns the ids of
   * the clocks raised (the patient's next due time moves past them, `planApply({ fired })`).
   */
  private fireDueClocks(ops: KeyedOp[], e: FlowEvent, cached: Cached, touched: Map<string, Set<string>>): string[] | undefined {
    const prev = cached.state.events.length ? cached.state.events[cached.state.events.length - 1]!.occurredAt : Number.POSITIVE_INFINITY;
    let fired: string[] | undefined;
    for (const timer of cached.derived.timers) {
      if (timer.dueAt <= prev || timer.dueAt > e.occurredAt) continue;
      const raisedAt = this.d.clock.kind === 'event' ? timer.dueAt : this.d.clock.now();
      // The view's clocks are the cached ones (derived from the same view): not computed again.
      const alert = alertFor(e.site, e.patientId, cached.state.nhsNumber, cached.derived.view, this.d.store.ctxFor(e.site), timer, raisedAt, cached.derived.timers);
      if (!alert) continue;
      for (const op of this.d.store.raiseOps(alert)) ops.push(op);
      (fired ??= []).push(timer.alertId);
      if (alert.ward) {
        if (!touched.has(e.site)) touched.set(e.site, new Set());
        touched.get(e.site)!.add(alert.ward);
      }
    }
    return fired;
  }

  /**
   * Publishes the boards of the wards touched (by site), each with its newest change: at
   * once for a ward not updated within the board window, else once at the window's end.
   */
  async publishBoards(touched: Map<string, Set<string>>, changes: Map<string, WardChange> = new Map()): Promise<void> {
    if (!this.d.publish) return;
    await this.boards.offer(touched, changes);
  }

  /** Reads the wards' summaries now and publishes one update each. */
  private async sendBoards(site: string, wards: WardSend[]): Promise<void> {
    const now = this.d.clock.now();
    const summaries = await this.d.store.wardSummaries(site, wards.map((w) => w.ward), now);
    const messages = summaries.map((s, i) => {
      const w = wards[i]!;
      const u: BoardUpdate = { site, ward: s.ward, seq: s.seq, at: now, summary: s, change: w.change };
      return { key: `${site}/${s.ward}`, value: JSON.stringify(u), headers: w.headers };
    });
    if (messages.length) await sendChunked(this.d.producer, this.d.topics.boardUpdates, messages);
  }

  /**
   * Publishes the alert changes waiting in the site's outbox, then acknowledges them.
   * Callable from every partition and the scanner at once: within this process one pass
   * per site runs at a time, and a caller arriving during a pass waits for the next one
   * (which starts after its own writes; callers arriving meanwhile share it). Across
   * processes the outbox's consumer group hands each change to one reader only.
   */
  drainOutbox(site: string): Promise<number> {
    let q = this.drains.get(site);
    if (!q) { q = { tail: Promise.resolve() }; this.drains.set(site, q); }
    if (q.queued) return q.queued;
    const queue = q;
    const pass = queue.tail.then(() => { queue.queued = undefined; return this.drainPass(site); });
    queue.queued = pass;
    queue.tail = pass.then(() => undefined, () => undefined);
    return pass;
  }

  /**
   * One pass over a site's outbox: first the changes this process read before and could
   * not confirm (a publish or acknowledgement failed: they are pending under its name and
   * no later read of new entries returns them), then the new ones.
   */
  private async drainPass(site: string): Promise<number> {
    let n = 0;
    if (this.unconfirmed.has(site)) {
      n += await this.publishOwnPending(site);
      this.unconfirmed.delete(site);
      if (n) this.d.logger.warn({ site, count: n }, 'published alert changes whose first publish failed');
    }
    for (;;) {
      const entries = await this.d.store.readOutbox(site, this.outboxConsumer, { max: 5000 });
      if (!entries.length) return n;
      n += await this.publishOutbox(site, entries, 'new');
    }
  }

  /**
   * Publishes outbox entries that were read and never acknowledged: this consumer's own
   * (with `own`, at start: a previous run under the same name died between publishing and
   * acknowledging) and other consumers' idle for OUTBOX_CLAIM_IDLE_MS (they died). Readers
   * of the alerts topic keep the highest version of each alert, so a repeat is harmless.
   */
  async recoverOutbox(site: string, opts: { own?: boolean } = {}): Promise<number> {
    let n = 0;
    if (opts.own) n += await this.publishOwnPending(site);
    for (;;) {
      const claimed = await this.d.store.claimOutbox(site, this.outboxConsumer, OUTBOX_CLAIM_IDLE_MS, 5000);
      if (!claimed.length) break;
      n += await this.publishOutbox(site, claimed, 'claimed');
    }
    if (n) this.d.logger.warn({ site, count: n }, 'published alert changes another run read but had not confirmed');
    return n;
  }

  /** Publishes the entries this process's outbox name read before and did not acknowledge. */
  private async publishOwnPending(site: string): Promise<number> {
    let n = 0;
    for (;;) {
      const mine = await this.d.store.readOutbox(site, this.outboxConsumer, { max: 5000, pending: true });
      if (!mine.length) return n;
      n += await this.publishOutbox(site, mine, 'recovered');
    }
  }

  private async publishOutbox(site: string, entries: OutboxEntry[], read: 'new' | 'recovered' | 'claimed'): Promise<number> {
    const alerts = entries.flatMap((e) => (e.alert ? [e.alert] : []));
    try {
      if (this.d.publish && alerts.length) {
        await sendChunked(this.d.producer, this.d.topics.alerts, alerts.map((a) => ({ key: `${a.site}/${a.alertId}`, value: JSON.stringify(a) })));
        this.alertsPublished?.inc({ read }, alerts.length);
      }
      await this.d.store.ackOutbox(site, entries.map((e) => e.id));
    } catch (err) {
      // The entries stay pending under this process's name: the site's next pass reads them again.
      this.unconfirmed.add(site);
      this.outboxFailures?.inc();
      throw err;
    }
    return alerts.length;
  }

  private count(outcome: keyof FlowEngine['stats']): void {
    this.stats[outcome] += 1;
    this.counters?.inc({ outcome });
  }

  private reject(rejectId: string, reason: string, detail: string, raw: Buffer | null, e?: FlowEvent): Reject {
    const r: Reject = {
      rejectId, stage: 'engine', channel: e?.channel ?? 'kafka', sourceSystem: e?.sourceSystem, receivedAt: Date.now(), reason,
      errors: detail ? [{ path: '', message: detail }] : [], raw: e ? JSON.stringify(e) : (raw ?? Buffer.alloc(0)).toString('base64'),
      rawEncoding: e ? 'utf8' : 'base64', eventId: e?.eventId,
    };
    return this.d.sealReject ? this.d.sealReject(r) : r;
  }
}

export type { Redis };
