// Codecs for the product's topics. Flow events: Avro in the Confluent wire format
// (magic byte, schema id, body) with the schema in the registry. Derived topics
// (board updates, alerts, rejects): JSON checked against the contracts' zod schemas.
import { type SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import type { Kafka, Producer } from 'kafkajs';
import type { z } from 'zod';
import { flowEventAvroSchema, fromAvro, partitionKey, toAvro, topicSpecs, topicsFor, TOPICS, type FlowEvent, type TopicSet } from '@pfm/contracts';
import type { Logger, Metrics } from '@pfm/observability';
import { createKafka, createProducer, ensureTopics, serialSend } from './client';
import { InfrastructureError, isRetriableDecodeError } from './errors';
import { createSchemaRegistry, registryStatus } from './registry';

export const FLOW_EVENTS_SUBJECT = `${TOPICS.flowEvents}-value`;

export class FlowEventCodec {
  private readonly registry: SchemaRegistry;
  private schemaId: number | undefined;
  private readonly logger: Logger | undefined;
  /**
   * `env`: where the registry login comes from (SCHEMA_REGISTRY_USERNAME / _PASSWORD,
   * registryAuthFromEnv) and each request's timeout (SCHEMA_REGISTRY_TIMEOUT_MS,
   * registryTimeoutFromEnv); `opts.timeoutMs` overrides the latter. `opts.logger` gets a
   * warning for each registration attempt that failed and will be retried.
   */
  constructor(private readonly registryUrl: string, private readonly subject: string = FLOW_EVENTS_SUBJECT, env: NodeJS.ProcessEnv = process.env, opts: { logger?: Logger; timeoutMs?: number } = {}) {
    // avsc's default union handling: the payload union (many records) is wrapped, ["null", T] is not.
    this.registry = opts.timeoutMs === undefined ? createSchemaRegistry(registryUrl, env) : createSchemaRegistry(registryUrl, env, opts.timeoutMs);
    this.logger = opts.logger;
  }

  /**
   * Registers (or finds) the current schema; call once before encoding. A principal the
   * registry lets read but not write (role sr-readonly: engine, gateway, insights) looks the
   * schema up instead, waiting up to `lookupWaitMs` for a writer (ingest) to register it.
   */
  async init(attempts = 5, lookupWaitMs = 60_000): Promise<number> {
    const schema = { type: SchemaType.AVRO, schema: JSON.stringify(flowEventAvroSchema) } as const;
    for (let i = 1; ; i++) {
      try {
        const { id } = await this.registry.register(schema, { subject: this.subject });
        this.schemaId = id;
        return id;
      } catch (e) {
        const msg = (e as Error).message;
        const status = registryStatus(e);
        if (status === 403) return this.lookUp(schema, lookupWaitMs);
        if (status === 401) throw new InfrastructureError(`schema registry: login refused (401) registering ${this.subject}: check SCHEMA_REGISTRY_USERNAME and SCHEMA_REGISTRY_PASSWORD`, { cause: e });
        // Two services registering a new subject at once can collide in the registry; a
        // schema the subject's compatibility rule refuses will not pass on retry.
        const final = i >= attempts || /incompatible|409/i.test(msg);
        if (final) throw new InfrastructureError(`schema registry: could not register ${this.subject} (attempt ${i} of ${attempts}): ${msg}`, { cause: e });
        const delayMs = Math.round(200 * 2 ** i + Math.random() * 200);
        this.logger?.warn({ registry: this.registryUrl, subject: this.subject, attempt: i, attempts, delayMs, status }, `schema registry: registering ${this.subject} failed (attempt ${i} of ${attempts}): ${msg}; retrying in ${delayMs} ms`);
        await new Promise((r) => setTimeout(r, delayMs));
      }
    }
  }

  /** The id of `schema` in the subject, as a read-only principal finds it; waits while it is not registered yet. */
  private async lookUp(schema: { type: SchemaType.AVRO; schema: string }, waitMs: number): Promise<number> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      try {
        this.schemaId = await this.registry.getRegistryIdBySchema(this.subject, schema);
        return this.schemaId;
      } catch (e) {
        const status = registryStatus(e);
        const msg = (e as Error).message;
        const pending = status === 404 || (status === undefined && /not found/i.test(msg));
        // A registry that is slow or briefly away (a request timeout, a refused or reset
        // connection, a 5xx) is asked again until the deadline, as a schema not yet registered is.
        const transient = !pending && (/timeout|ECONNREFUSED|ECONNRESET|socket hang up/i.test(msg) || (status !== undefined && status >= 500));
        if ((!pending && !transient) || Date.now() >= deadline) {
          throw new InfrastructureError(`schema registry: this principal may not register ${this.subject} (read-only) and ${pending ? `no writer (ingest) registered this schema within ${waitMs} ms` : 'could not look it up'}: ${msg}`, { cause: e });
        }
        if (transient) this.logger?.warn({ registry: this.registryUrl, subject: this.subject, status }, `schema registry: looking up ${this.subject} failed: ${msg}; asking again`);
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  get id(): number {
    if (this.schemaId === undefined) throw new Error('FlowEventCodec.init() was not called');
    return this.schemaId;
  }

  async encode(e: FlowEvent): Promise<Buffer> {
    return this.registry.encode(this.id, toAvro(e));
  }

  /** Decodes any registered version of the schema (the id travels in the message). */
  async decode(buf: Buffer): Promise<FlowEvent> {
    await this.prepare([buf]);
    return this.decodeSync(buf);
  }

  /** Writer schemas by registry id, fetched once each; an id the registry does not know keeps its error. */
  private readonly writers = new Map<number, { type: { fromBuffer(b: Buffer): unknown } } | { error: Error }>();

  /**
   * Fetches the writer schema of every id among `buffers` not yet cached, so that
   * decodeSync can decode them without a round trip. The registry being unreachable is
   * thrown (retriable); an id it does not know is remembered and thrown by decodeSync.
   */
  async prepare(buffers: Iterable<Buffer | null>): Promise<void> {
    for (const buf of buffers) {
      const id = schemaIdOf(buf);
      if (id === undefined || this.writers.has(id)) continue;
      try {
        this.writers.set(id, { type: (await this.registry.getSchema(id)) as unknown as { fromBuffer(b: Buffer): unknown } });
      } catch (err) {
        if (isRetriableDecodeError(err)) throw err;
        this.writers.set(id, { error: err as Error });
      }
    }
  }

  /** Decodes with a writer schema fetched by prepare(); throws on bad bytes or an id never prepared. */
  decodeSync(buf: Buffer): FlowEvent {
    const id = schemaIdOf(buf);
    if (id === undefined) throw new DecodeError(`Message encoded with magic byte ${JSON.stringify(buf.subarray(0, 1))}, expected the Confluent wire format`);
    const w = this.writers.get(id);
    if (!w) throw new Error(`schema ${id} was not prepared before decodeSync`);
    if ('error' in w) throw w.error;
    return fromAvro(w.type.fromBuffer(buf.subarray(5)) as Record<string, unknown>);
  }
}

/** A message that is not in the Confluent wire format (never passes on retry). */
export class DecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfluentSchemaRegistryArgumentError';
  }
}

/** The schema id of a Confluent wire-format message (magic byte 0, 4-byte id), or undefined. */
function schemaIdOf(buf: Buffer | null): number | undefined {
  if (!buf || buf.length < 5 || buf[0] !== 0) return undefined;
  return buf.readInt32BE(1);
}

export class JsonCodec<T> {
  constructor(private readonly schema: z.ZodType<T, unknown>) {}
  encode(v: T): Buffer { return Buffer.from(JSON.stringify(v)); }
  decode(buf: Buffer): T { return this.schema.parse(JSON.parse(buf.toString('utf8'))); }
}

/** Sends canonical events to pfm.flow-events.v1, keyed by patient; resolves once Kafka has them (acks=-1). */
/** Sends flow events keyed by patient; `traces[i]` (W3C trace context headers) goes with events[i] when given. */
export async function sendFlowEvents(producer: Producer, codec: FlowEventCodec, events: FlowEvent[], topic: string = TOPICS.flowEvents, traces?: Record<string, string>[]): Promise<void> {
  if (events.length === 0) return;
  const messages = await Promise.all(
    events.map(async (e, i) => ({ key: partitionKey(e), value: await codec.encode(e), headers: { ...traces?.[i], 'pfm-event-type': e.type, 'pfm-event-id': e.eventId } })),
  );
  await serialSend(producer, { topic, acks: -1, messages });
}

export interface KafkaRuntime { kafka: Kafka; producer: Producer; codec: FlowEventCodec; topics: TopicSet }

/**
 * What every service does on start: a client, the product's topics (created when
 * missing), the flow-event schema registered, an idempotent producer connected.
 */
export async function connectKafka(o: { brokers: string[]; clientId: string; registryUrl: string; namespace?: string; logger?: Logger; metrics?: Metrics }): Promise<KafkaRuntime> {
  const kafka = createKafka({ brokers: o.brokers, clientId: o.clientId, logger: o.logger, metrics: o.metrics });
  const admin = kafka.admin();
  await admin.connect();
  try {
    await ensureTopics(admin, topicSpecs({ partitions: Number(process.env.PFM_TOPIC_PARTITIONS ?? 6), namespace: o.namespace ?? '' }));
  } finally {
    await admin.disconnect();
  }
  const topics = topicsFor(o.namespace);
  const codec = new FlowEventCodec(o.registryUrl, `${topics.flowEvents}-value`, process.env, { logger: o.logger });
  await codec.init();
  const producer = createProducer(kafka);
  await producer.connect();
  return { kafka, producer, codec, topics };
}
