// The insights consumer: its own group on the flow-event and alert topics, read from
// the start of the log, folded into the warehouse. Position lives in the warehouse (the
// offsets committed with the rows); on every assignment each partition is sought to
// the warehouse's record, so Kafka's committed offsets only serve lag monitoring.
import type { Admin, Batch, Consumer, Kafka, KafkaMessage } from 'kafkajs';
import { alertSchema, type Alert, type FlowEvent } from '@pfm/contracts';
import { emptyPatient, type PatientState } from '@pfm/flow-domain';
import { BatchRunner, createConsumer, JsonCodec, superviseConsumer, type FlowEventCodec } from '@pfm/kafka-runtime';
import type { Logger } from '@pfm/observability';
import { evolveAllWithRows } from './fold';
import { noteRow } from './improvements';
import type { Row, RowContext } from './rows';
import type { RecordWrite, Warehouse } from './warehouse';

export interface InsightsTopics { flowEvents: string; alerts: string }

export interface InsightsDeps {
  kafka: Kafka;
  codec: FlowEventCodec;
  warehouse: Warehouse;
  ctx: RowContext;
  logger: Logger;
  groupId: string;
  topics: InsightsTopics;
  /**
   * Upper bound of one fetch per partition (one batch = one warehouse transaction); default
   * DEFAULT_MAX_BATCH_BYTES. A fetch returns what the log holds past the position, so when
   * the consumer is live batches stay small, and only a consumer far behind the high
   * watermark (a rebuild, a backfill, a restart after downtime) takes batches this large.
   */
  maxBatchBytes?: number;
  /**
   * Partitions whose batches are folded side by side (default DEFAULT_CONCURRENT_PARTITIONS).
   * Each partition's batches stay in log order and every use of the warehouse's one writer
   * connection (a batch's transaction, the states' lookup, the offsets, the checkpoint) is
   * still one at a time; only the JavaScript work of one partition's batch (decode, fold,
   * rows) runs while DuckDB writes another's.
   */
  concurrentPartitions?: number;
  /** Called after each committed batch (progress, tests). */
  afterBatch?: (info: { topic: string; partition: number; next: string; count: number }) => void;
}

const MAX_CACHE = 200_000;

/**
 * 8 MiB per partition (about 40,000 flow events). A backfill folds and rewrites each
 * touched record once per batch: the larger the batch, the fewer times a record's rows,
 * its state and its spells' bed days are rewritten (docs/benchmarks.md, "Insights
 * warehouse": 1 MiB batches cost about 1.5x the CPU of whole-partition batches).
 */
export const DEFAULT_MAX_BATCH_BYTES = 8 * 1024 * 1024;

/**
 * Two partitions in flight: one partition's batch is decoded, folded, turned into rows and
 * its states into JSON while DuckDB runs another's statements and COMMIT (records never span
 * partitions, so two batches in flight never touch the same record). On a quiet 2-core
 * machine a two-year backfill went from about 55,000 to about 62,000 events/s with the same
 * CPU (docs/benchmarks.md, "Insights warehouse"); 1 folds one partition at a time.
 */
export const DEFAULT_CONCURRENT_PARTITIONS = 2;

export class InsightsConsumer {
  private consumer: Consumer | undefined;
  private admin: Admin | undefined;
  private readonly cache = new Map<string, PatientState>();
  /** Every record the warehouse holds (read at start, then added to by each commit): a record outside it is new and is not looked up. */
  private stored: Set<string> | undefined;
  private readonly alertCodec = new JsonCodec<Alert>(alertSchema);
  private caughtUpLogged = false;
  private stopping = false;
  private waiters: (() => void)[] = [];
  /** The tail of the queue of work on the warehouse's writer connection (see `exclusive`). */
  private writerTail: Promise<unknown> = Promise.resolve();
  /** Counts, and the milliseconds spent in each stage of the flow-event batches (benchmark, profiling). */
  readonly stats = {
    events: 0, alerts: 0, undecodable: 0, batches: 0, ms: { decode: 0, load: 0, fold: 0, rows: 0, write: 0 },
    /** CPU time of the process (JS and DuckDB's threads) in each stage: on a shared machine the wall time mostly measures waiting for a core. */
    cpuMs: { decode: 0, load: 0, fold: 0, rows: 0, write: 0 },
  };

  constructor(private readonly d: InsightsDeps) {}

  async start(): Promise<void> {
    const maxBatchBytes = this.d.maxBatchBytes ?? DEFAULT_MAX_BATCH_BYTES;
    // maxBytes (the whole fetch; kafkajs's default is 10 MiB) leaves room for a few full partitions.
    const consumer = createConsumer(this.d.kafka, { groupId: this.d.groupId, maxBytesPerPartition: maxBatchBytes, maxBytes: Math.max(10 * 1024 * 1024, 4 * maxBatchBytes) });
    this.consumer = consumer;
    this.stopping = false;
    // A consumer kafkajs gives up would leave the warehouse silently behind: start again.
    superviseConsumer(consumer, {
      logger: this.d.logger, what: 'warehouse', stopped: () => this.stopping,
      restart: async () => { await this.disconnect().catch(() => undefined); this.cache.clear(); await this.start(); },
    });
    this.admin = this.d.kafka.admin();
    await this.admin.connect();
    this.stored = await this.exclusive(() => this.d.warehouse.recordKeys());
    await this.alignGroupOffsets();
    // Far behind the log: checkpoint once when caught up rather than every 16 MiB (Warehouse.beginCatchUp).
    if (!(await this.isCaughtUp())) await this.exclusive(() => this.d.warehouse.beginCatchUp());
    await consumer.connect();
    await consumer.subscribe({ topics: [this.d.topics.flowEvents, this.d.topics.alerts], fromBeginning: true });
    // Partitions side by side (concurrentPartitions); the writer connection serves one batch at a time either way (exclusive).
    await new BatchRunner({
      consumer, logger: this.d.logger, partitionsConsumedConcurrently: this.d.concurrentPartitions ?? DEFAULT_CONCURRENT_PARTITIONS,
      resumeAt: (topic, partition) => this.expectedStart(topic, partition),
      apply: (batch) => this.apply(batch),
      onFailure: (err, batch) => {
        // The transaction rolled back: cached states may be ahead of the warehouse.
        this.cache.clear();
        this.d.logger.error({ err, topic: batch.topic, partition: batch.partition }, 'insights batch failed; will retry');
      },
      afterCommit: (batch, next) => this.committed(batch, next),
    }).run();
  }

  /**
   * Before joining, the group's committed offsets are set to the warehouse's record (the
   * log's start where it has none): a new or rebuilt warehouse file under a group that
   * already consumed to the end would otherwise receive nothing, so nothing would ever
   * be positioned. The seek on each partition's first batch stays as the guard.
   */
  private async alignGroupOffsets(): Promise<void> {
    const stored = await this.exclusive(() => this.d.warehouse.offsets());
    for (const topic of [this.d.topics.flowEvents, this.d.topics.alerts]) {
      const partitions = (await this.admin!.fetchTopicOffsets(topic)).map((p) => {
        const s = stored.get(`${topic}:${p.partition}`);
        return { partition: p.partition, offset: s !== undefined && BigInt(s) >= BigInt(p.low) ? s : p.low };
      });
      try {
        await this.admin!.setOffsets({ groupId: this.d.groupId, topic, partitions });
      } catch (e) {
        // Another member is active (setOffsets needs an empty group): the first-batch seek positions instead.
        this.d.logger.warn({ topic, err: (e as Error).message }, 'could not align the group offsets with the warehouse');
      }
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.disconnect();
  }

  private async disconnect(): Promise<void> {
    await this.consumer?.disconnect();
    await this.admin?.disconnect();
    this.consumer = undefined;
    this.admin = undefined;
  }

  /** Resolves once every partition of both topics is consumed up to its current end. */
  async untilCaughtUp(): Promise<void> {
    if (await this.isCaughtUp()) return;
    await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  /** True when the warehouse's recorded offsets reach the end of every partition. */
  async isCaughtUp(): Promise<boolean> {
    const admin = this.admin ?? this.d.kafka.admin();
    if (!this.admin) await admin.connect();
    try {
      const stored = await this.exclusive(() => this.d.warehouse.offsets());
      for (const topic of [this.d.topics.flowEvents, this.d.topics.alerts]) {
        for (const p of await admin.fetchTopicOffsets(topic)) {
          const next = BigInt(stored.get(`${topic}:${p.partition}`) ?? p.low);
          if (next < BigInt(p.high)) return false;
        }
      }
      return true;
    } finally {
      if (!this.admin) await admin.disconnect();
    }
  }

  private async expectedStart(topic: string, partition: number): Promise<string> {
    const stored = (await this.exclusive(() => this.d.warehouse.offsets())).get(`${topic}:${partition}`);
    const low = (await this.admin!.fetchTopicOffsets(topic)).find((p) => p.partition === partition)?.low ?? '0';
    if (stored === undefined) return low;
    return BigInt(stored) < BigInt(low) ? low : stored;
  }

  private async apply(batch: Batch): Promise<void> {
    const next = (BigInt(batch.messages[batch.messages.length - 1]!.offset) + 1n).toString();
    if (batch.topic === this.d.topics.alerts) await this.applyAlerts(batch.messages, { topic: batch.topic, partition: batch.partition, next });
    else await this.applyFlowEvents(batch.messages, { topic: batch.topic, partition: batch.partition, next });
  }

  private async committed(batch: Batch, next: string): Promise<void> {
    this.stats.batches += 1;
    this.d.logger.debug({ topic: batch.topic, partition: batch.partition, next, count: batch.messages.length }, 'insights batch committed');
    this.d.afterBatch?.({ topic: batch.topic, partition: batch.partition, next, count: batch.messages.length });
    if (next === batch.highWatermark) await this.noteIfCaughtUp();
  }

  private async noteIfCaughtUp(): Promise<void> {
    // Live, one partition reaches its end while another has a new event most of the time: only
    // the first catch-up after start is news (at info); the group lag on /metrics shows the rest.
    if (!(await this.isCaughtUp())) return;
    try {
      await this.exclusive(() => this.d.warehouse.endCatchUp());
    } catch (e) {
      // A reader's open transaction can refuse the checkpoint: DuckDB's own threshold makes the next one.
      this.d.logger.warn({ err: (e as Error).message }, 'checkpoint after catching up failed');
    }
    if (!this.caughtUpLogged) this.d.logger.info({ events: this.stats.events, alerts: this.stats.alerts }, 'insights caught up with the log');
    else this.d.logger.debug({ events: this.stats.events, alerts: this.stats.alerts }, 'insights at the end of the log');
    this.caughtUpLogged = true;
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  private async applyFlowEvents(messages: KafkaMessage[], offset: { topic: string; partition: number; next: string }): Promise<void> {
    const t = performance.now();
    const c = process.cpuUsage();
    // The writer schemas of the batch fetched once (a registry that cannot be reached fails
    // the batch, to be retried), then every message decoded without a round trip.
    await this.d.codec.prepare(messages.map((m) => m.value));
    const decoded: FlowEvent[] = [];
    for (const m of messages) {
      try {
        decoded.push(this.d.codec.decodeSync(m.value!));
      } catch (e) {
        // The engine sends these to the rejects topic; the warehouse only passes over them.
        this.stats.undecodable += 1;
        this.d.logger.warn({ topic: offset.topic, partition: offset.partition, offset: m.offset, err: (e as Error).message }, 'undecodable flow event skipped');
      }
    }
    const cpu = process.cpuUsage(c);
    this.stats.ms.decode += performance.now() - t;
    this.stats.cpuMs.decode += (cpu.user + cpu.system) / 1000;
    await this.applyDecoded(decoded, offset);
  }

  /**
   * One batch of decoded flow events (one partition's, in log order) folded and written in
   * one transaction with the partition's next offset. Public for the fold benchmark without
   * Kafka (scripts/bench-insights.ts --no-kafka); the consumer calls it for every batch.
   */
  async applyDecoded(decoded: FlowEvent[], offset: { topic: string; partition: number; next: string }): Promise<void> {
    const { pseudo } = this.d.ctx;
    const { ms, cpuMs } = this.stats;
    let t = performance.now();
    let c = process.cpuUsage();
    const lap = (stage: keyof typeof ms) => {
      const now = performance.now();
      const cpu = process.cpuUsage();
      ms[stage] += now - t;
      cpuMs[stage] += (cpu.user - c.user + cpu.system - c.system) / 1000;
      t = now;
      c = cpu;
    };
    // Improvement notes are about no patient: a row each, never folded, and they do not move
    // the watermark (their time is when the change took effect, not how far the log has come).
    const notes = new Map<string, Row>();
    for (const e of decoded) {
      if (e.type !== 'improvement.noted') continue;
      const row = noteRow(e);
      const k = `${e.site}/${String(row.note_id)}`;
      notes.delete(k);
      notes.set(k, row);
    }
    // Each record's events of the batch, in log order, applied at once (evolveAll: the same state as one by one).
    const byRecord = new Map<string, FlowEvent[]>();
    const keys = new Map<string, string>();
    let watermark: number | undefined;
    for (const e of decoded) {
      if (e.type === 'improvement.noted') continue;
      const local = `${e.site}/${e.patientId}`;
      let k = keys.get(local);
      if (k === undefined) { k = pseudo.recordKey(e.site, e.patientId); keys.set(local, k); }
      const list = byRecord.get(k);
      if (list) list.push(e);
      else byRecord.set(k, [e]);
      watermark = Math.max(watermark ?? e.occurredAt, e.occurredAt);
    }
    const stored = this.stored ??= await this.exclusive(() => this.d.warehouse.recordKeys());
    // The states this batch starts from, taken now: another partition's batch may clear the
    // cache (a failed batch) while this one waits for the writer connection.
    const known = new Map<string, PatientState>();
    const missing: string[] = [];
    for (const k of byRecord.keys()) {
      const s = this.cache.get(k);
      if (s) known.set(k, s);
      else if (stored.has(k)) missing.push(k);
    }
    if (missing.length) for (const [k, s] of await this.exclusive(() => this.d.warehouse.loadStates(missing))) known.set(k, s);
    lap('load');
    // Each record's new state and rows, in one walk of its history where evolveAll's one-fold
    // shortcut holds (evolveAllWithRows): the "fold" stage is then only the rest.
    const records: RecordWrite[] = [];
    for (const [recordKey, events] of byRecord) {
      const start = known.get(recordKey);
      const { state, rows } = evolveAllWithRows(start ?? emptyPatient(events[0]!.site, events[0]!.patientId), events, this.d.ctx);
      records.push({ recordKey, state, stateJson: JSON.stringify(state), stored: start !== undefined, rows });
    }
    lap('rows');
    await this.exclusive(() => this.d.warehouse.commit({ records, alerts: [], offsets: [offset], watermark, notes: [...notes.values()] }));
    lap('write');
    this.stats.events += decoded.length;
    for (const { recordKey: k, state } of records) { this.cache.delete(k); this.cache.set(k, state); stored.add(k); }
    for (const k of this.cache.keys()) {
      if (this.cache.size <= MAX_CACHE) break;
      this.cache.delete(k);
    }
  }

  /**
   * Runs `work` on the warehouse's writer connection once everything queued before it has
   * finished (failed or not): one transaction, one statement at a time, whichever
   * partition's batch asks.
   */
  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.writerTail.then(work, work);
    this.writerTail = run.catch(() => undefined);
    return run;
  }

  private async applyAlerts(messages: KafkaMessage[], offset: { topic: string; partition: number; next: string }): Promise<void> {
    const latest = new Map<string, Row>();
    for (const m of messages) {
      let a: Alert;
      try {
        a = this.alertCodec.decode(m.value!);
      } catch (e) {
        this.stats.undecodable += 1;
        this.d.logger.warn({ topic: offset.topic, partition: offset.partition, offset: m.offset, err: (e as Error).message.slice(0, 200) }, 'undecodable alert skipped');
        continue;
      }
      const row = alertRow(a, this.d.ctx);
      // Delivery is at least once: an older version repeated after a newer one is not the latest.
      const have = latest.get(String(row.alert_id));
      if (have && Number(have.version) > Number(row.version)) continue;
      latest.delete(String(row.alert_id));
      latest.set(String(row.alert_id), row);
    }
    await this.exclusive(() => this.d.warehouse.commit({ records: [], alerts: [...latest.values()], offsets: [offset] }));
    this.stats.alerts += messages.length;
  }
}

/** An alert as analysts see it: pseudonymised ids, no NHS number, no message text (it names the patient). */
export function alertRow(a: Alert, ctx: RowContext): Row {
  const hasPatient = !!a.patientId && !a.patientId.startsWith('team:');
  return {
    alert_id: ctx.pseudo.opaque(a.alertId), rule: a.rule, severity: a.severity, threshold_value: a.threshold.value, threshold_unit: a.threshold.unit,
    site: a.site, ward: a.ward ?? null, team: a.team ?? null, patient_key: hasPatient ? ctx.pseudo.patientKey(a.site, a.patientId!, a.nhsNumber) : null,
    spell_id: a.spellId ?? null, referral_id: a.referralId ?? null, became_true_at: a.becameTrueAt, raised_at: a.raisedAt,
    acknowledged_at: a.acknowledged?.at ?? null, resolved_at: a.resolvedAt ?? null, version: a.version ?? 1,
  };
}
