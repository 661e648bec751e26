// The flow engine: consumes pfm.flow-events.v1, applies each event exactly once to the
// Redis view (offset-guarded Lua commit), publishes ward board updates, raises alerts
// from the outbox, and sends what it cannot apply to the rejects topic with a reason.
//
// Position: Redis is the record of what was applied. On every partition assignment the
// consumer seeks to Redis's applied offset + 1 (or the log's start when Redis has no
// record, which rebuilds lost state); Kafka commits follow Redis writes and serve lag
// monitoring only.
import type { Admin, Consumer, EachBatchPayload, Kafka, KafkaMessage, Producer } from 'kafkajs';
import type { ChainableCommander, Redis } from 'ioredis';
import type { BoardUpdate, FlowEvent, Reject } from '@pfm/contracts';
import { alertFor, emptyPatient, evolve, fold, type PatientState } from '@pfm/flow-domain';
import type { Derived, FlowStore } from '@pfm/flow-store';
import { sendChunked, type FlowEventCodec } from '@pfm/kafka-runtime';
import type { Logger, Metrics } from '@pfm/observability';
import { BatchTrace } from './batch-trace';
import type { Clock } from './clock';

export interface EngineTopics { flowEvents: string; rejects: string; boardUpdates: string; alerts: string }

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
  /** Upper bound of one fetch per partition (one batch = one Redis pipeline); default 1 MiB. */
  maxBatchBytes?: number;
  /** Events for which this returns false are passed over (offset recorded, state unchanged): time travel. */
  accept?: (e: FlowEvent) => boolean;
  /** Called after each batch is committed (progress reporting, scanners in event-time mode). */
  afterBatch?: (info: { partition: number; lastOffset: string; count: number }) => Promise<void> | void;
}

const MAX_CACHE = 200_000;

export class FlowEngine {
  private consumer: Consumer | undefined;
  private admin: Admin | undefined;
  private readonly positioned = new Set<number>();
  /** Partitions this process has written to Redis since it was positioned. */
  private readonly appliedHere = new Set<number>();
  /** Patients of the partitions this process owns: state plus its derived view, facts and clocks. */
  private readonly cache = new Map<string, { state: PatientState; derived: Derived }>();
  private readonly counters;
  private readonly lag;
  private readonly rebuilds;
  private readonly batchSizes;
  private readonly applyDelay;
  private readonly batchFailures;
  readonly stats = { applied: 0, duplicate: 0, parked: 0, rejected: 0, expired: 0, redelivered: 0 };

  constructor(private readonly d: EngineDeps) {
    this.counters = d.metrics?.counter('pfm_engine_events_total', 'Flow events processed, by outcome', ['outcome']);
    this.lag = d.metrics?.gauge('pfm_engine_partition_lag', 'Messages behind the partition high watermark', ['partition']);
    this.rebuilds = d.metrics?.counter('pfm_engine_rebuilds_total', 'Partitions rebuilt from the log after Redis lost their state');
    this.batchSizes = d.metrics?.histogram('pfm_engine_batch_size', 'Messages per applied batch (one Redis pipeline)', [1, 10, 50, 100, 500, 1000, 2500, 5000, 10000]);
    this.applyDelay = d.metrics?.histogram('pfm_engine_apply_delay_seconds', 'Time from an event to its apply in Redis: since its event time (from=event_time) or since ingest wrote it to Kafka (from=received)', [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600, 86400], ['from']);
    this.batchFailures = d.metrics?.counter('pfm_engine_batch_failures_total', 'Batches that failed and will be retried (Redis or Kafka trouble), by error class', ['class']);
  }

  async start(opts: { fromBeginning?: boolean } = {}): Promise<void> {
    const consumer = this.d.kafka.consumer({ groupId: this.d.groupId, allowAutoTopicCreation: false, sessionTimeout: this.d.sessionTimeoutMs ?? 30000, heartbeatInterval: Math.min(3000, Math.floor((this.d.sessionTimeoutMs ?? 30000) / 3)), maxBytesPerPartition: this.d.maxBatchBytes ?? 1024 * 1024 });
    this.consumer = consumer;
    this.admin = this.d.kafka.admin();
    await this.admin.connect();
    await consumer.connect();
    // Event time resumes where the previous run left it (not at 0 until the next event).
    if (this.d.clock.kind === 'event') {
      for (const site of await this.d.store.sites()) { const c = await this.d.store.clock(site); if (c) this.d.clock.observe(c); }
    }
    // Alerts a previous run queued but did not get to publish (it stopped in between).
    if (this.d.publish) for (const site of await this.d.store.sites()) await this.drainOutbox(site);
    await consumer.subscribe({ topic: this.d.topics.flowEvents, fromBeginning: opts.fromBeginning ?? true });
    // A new assignment: every partition must be positioned from Redis's record again.
    consumer.on(consumer.events.GROUP_JOIN, () => { this.positioned.clear(); this.appliedHere.clear(); this.cache.clear(); });
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

  async stop(): Promise<void> {
    await this.consumer?.disconnect();
    await this.admin?.disconnect();
    this.consumer = undefined;
    this.admin = undefined;
  }

  private async onBatch({ batch, resolveOffset, commitOffsetsIfNecessary, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    if (!isRunning() || isStale() || batch.messages.length === 0) return;
    if (this.positioned.has(batch.partition) && this.appliedHere.has(batch.partition)) {
      const applied = await this.d.store.appliedOffsets(this.d.topics.flowEvents);
      if (!applied.has(batch.partition)) {
        // Redis lost the state this process built (flushed, failed over empty): rebuild
        // this partition from the start of the log before serving anything newer.
        this.d.logger.warn({ partition: batch.partition }, 'flow state missing from Redis: rebuilding the partition from the log');
        this.rebuilds?.inc();
        this.positioned.delete(batch.partition);
        this.appliedHere.delete(batch.partition);
        this.cache.clear();
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
    const traced = new BatchTrace(batch.topic, batch.partition, batch.messages);
    try {
      await this.processMessages(batch.topic, batch.partition, batch.messages);
      traced.end();
    } catch (err) {
      traced.end(err);
      // Redis or Kafka trouble: forget cached state (it may be ahead of Redis) and let
      // kafkajs retry the batch with backoff; the offset guard makes the retry safe.
      this.cache.clear();
      this.batchFailures?.inc({ class: err instanceof Error ? err.name : 'unknown' });
      this.d.logger.error({ err, partition: batch.partition }, 'batch failed; will retry');
      throw err;
    }
    const last = batch.messages[batch.messages.length - 1]!.offset;
    this.appliedHere.add(batch.partition);
    resolveOffset(last);
    await commitOffsetsIfNecessary({ topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: (BigInt(last) + 1n).toString() }] }] });
    await heartbeat();
    this.lag?.set({ partition: String(batch.partition) }, Number(BigInt(batch.highWatermark) - BigInt(last) - 1n));
    this.batchSizes?.observe(batch.messages.length);
    const appliedAt = Date.now();
    for (const m of batch.messages) this.applyDelay?.observe({ from: 'received' }, Math.max(0, appliedAt - Number(m.timestamp)) / 1000);
    await this.d.afterBatch?.({ partition: batch.partition, lastOffset: last, count: batch.messages.length });
  }

  /** Applies a run of messages from one partition in order. Exposed for replay and tests. */
  async processMessages(topic: string, partition: number, messages: KafkaMessage[]): Promise<void> {
    const { store } = this.d;
    const decoded: { offset: string; event?: FlowEvent; raw: Buffer | null; error?: string }[] = [];
    for (const m of messages) {
      try {
        decoded.push({ offset: m.offset, event: await this.d.codec.decode(m.value!), raw: m.value });
      } catch (e) {
        decoded.push({ offset: m.offset, raw: m.value, error: (e as Error).message });
      }
    }
    // Load every patient of the batch not in the cache, in one round trip.
    const missing = new Map<string, { site: string; patientId: string }>();
    for (const d of decoded) {
      if (!d.event) continue;
      const k = `${d.event.site}/${d.event.patientId}`;
      if (!this.cache.has(k)) missing.set(k, { site: d.event.site, patientId: d.event.patientId });
    }
    const loaded = await store.loadPatients([...missing.values()]);
    [...missing.values()].forEach((ref, i) => {
      const s = loaded[i] ?? emptyPatient(ref.site, ref.patientId);
      this.cache.set(`${ref.site}/${ref.patientId}`, { state: s, derived: store.derive(ref.site, ref.patientId, fold(s.events).view) });
    });

    const pipeline = store.redis.pipeline();
    const rejects: Reject[] = [];
    const touched = new Map<string, Set<string>>(); // site -> ward scopes
    const changes = new Map<string, { eventId: string; type: string; spellId?: string }>();
    const sites = new Set<string>();
    const offsetField = `${topic}:${partition}`;
    for (const d of decoded) {
      if (!d.event) {
        rejects.push(this.reject(`engine:${topic}:${partition}:${d.offset}`, 'undecodable event on the flow topic', d.error ?? '', d.raw));
        this.count('rejected');
        continue;
      }
      const e = d.event;
      sites.add(e.site);
      this.d.clock.observe(e.occurredAt, partition);
      const k = `${e.site}/${e.patientId}`;
      const cached = this.cache.get(k)!;
      if (this.d.accept && !this.d.accept(e)) {
        store.queueApply(pipeline, store.planApply({ site: e.site, patientId: e.patientId, before: cached.derived, after: cached.derived, state: null, offsetField, offset: d.offset }));
        continue;
      }
      this.fireDueClocks(pipeline, e, cached, touched);
      // Parking time on the engine's clock: wall time live, event time in replay and demos.
      const r = evolve(cached.state, e, this.d.clock.now());
      const changed = r.outcome.kind !== 'duplicate';
      const derived = r.outcome.kind === 'applied' ? store.derive(e.site, e.patientId, r.view) : cached.derived;
      const ack = e.type === 'alert.acknowledged' && r.outcome.kind === 'applied' ? { alertId: e.payload.alertId, by: e.payload.by, at: e.occurredAt, note: e.payload.note } : undefined;
      const plan = store.planApply({
        site: e.site, patientId: e.patientId, before: cached.derived, after: derived, state: changed ? r.state : null,
        offsetField, offset: d.offset, acknowledge: ack, at: e.occurredAt,
      });
      store.queueApply(pipeline, plan);
      this.cache.delete(k); // re-insert: the Map's order is then least recently used first
      this.cache.set(k, { state: r.state, derived });
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
    for (const site of sites) await store.noteSite(site);
    for (const key of this.cache.keys()) {
      if (this.cache.size <= MAX_CACHE) break;
      this.cache.delete(key);
    }
    const results = (await pipeline.exec()) ?? [];
    for (const [err, res] of results) {
      if (err) throw err;
      if (res === -1) this.stats.redelivered += 1;
    }
    const appliedAt = Date.now();
    for (const d of decoded) if (d.event) this.applyDelay?.observe({ from: 'event_time' }, Math.max(0, appliedAt - d.event.occurredAt) / 1000);
    if (!this.d.publish) return;
    if (rejects.length) {
      await sendChunked(this.d.producer, this.d.topics.rejects, rejects.map((r) => ({ key: r.rejectId, value: JSON.stringify(r) })));
    }
    await this.publishBoards(touched, changes);
    for (const site of sites) await this.drainOutbox(site);
  }

  /**
   * Clocks of this patient that fell due between their previous event and this one
   * are raised now, against the state before this event: the same alerts whether time
   * is the wall clock or a replay's event time, and independent of how partitions
   * interleave. Clocks with no later event are raised by the scanner.
   */
  private fireDueClocks(pipeline: ChainableCommander, e: FlowEvent, cached: { state: PatientState; derived: Derived }, touched: Map<string, Set<string>>): void {
    const prev = cached.state.events.length ? cached.state.events[cached.state.events.length - 1]!.occurredAt : Number.POSITIVE_INFINITY;
    for (const timer of cached.derived.timers) {
      if (timer.dueAt <= prev || timer.dueAt > e.occurredAt) continue;
      const raisedAt = this.d.clock.kind === 'event' ? timer.dueAt : this.d.clock.now();
      const alert = alertFor(e.site, e.patientId, cached.state.nhsNumber, cached.derived.view, this.d.store.ctxFor(e.site), timer, raisedAt);
      if (!alert) continue;
      this.d.store.queueRaiseAlert(pipeline, alert, this.d.store.dueMember(e.patientId, timer.alertId));
      if (alert.ward) {
        if (!touched.has(e.site)) touched.set(e.site, new Set());
        touched.get(e.site)!.add(alert.ward);
      }
    }
  }

  async publishBoards(touched: Map<string, Set<string>>, changes: Map<string, { eventId: string; type: string; spellId?: string }> = new Map()): Promise<void> {
    const now = this.d.clock.now();
    const messages: { key: string; value: string; headers: Record<string, string> }[] = [];
    for (const [site, wards] of touched) {
      const summaries = await this.d.store.wardSummaries(site, [...wards].sort(), now);
      for (const s of summaries) {
        const u: BoardUpdate = { site, ward: s.ward, seq: s.seq, at: now, summary: s, change: changes.get(`${site}/${s.ward}`) };
        messages.push({ key: `${site}/${s.ward}`, value: JSON.stringify(u), headers: BatchTrace.headersFor(u.change?.eventId) });
      }
    }
    if (messages.length && this.d.publish) await sendChunked(this.d.producer, this.d.topics.boardUpdates, messages);
  }

  /** Publishes alerts queued in Redis (raised or acknowledged), then removes them from the outbox. */
  async drainOutbox(site: string): Promise<number> {
    let n = 0;
    for (;;) {
      const { alerts, confirm } = await this.d.store.peekOutbox(site, 5000);
      if (!alerts.length) return n;
      if (this.d.publish) await sendChunked(this.d.producer, this.d.topics.alerts, alerts.map((a) => ({ key: `${a.site}/${a.alertId}`, value: JSON.stringify(a) })));
      await confirm();
      n += alerts.length;
    }
  }

  private count(outcome: keyof FlowEngine['stats']): void {
    this.stats[outcome] += 1;
    this.counters?.inc({ outcome });
  }

  private reject(rejectId: string, reason: string, detail: string, raw: Buffer | null, e?: FlowEvent): Reject {
    return {
      rejectId, stage: 'engine', channel: e?.channel ?? 'kafka', sourceSystem: e?.sourceSystem, receivedAt: Date.now(), reason,
      errors: detail ? [{ path: '', message: detail }] : [], raw: e ? JSON.stringify(e) : (raw ?? Buffer.alloc(0)).toString('base64'),
      rawEncoding: e ? 'utf8' : 'base64', eventId: e?.eventId,
    };
  }
}

export type { Redis };
