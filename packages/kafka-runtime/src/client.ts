// Kafka clients for the product: one place for client settings, logging, topic setup
// and the idempotent producer every service uses.
import { readFileSync } from 'node:fs';
import { Kafka, logLevel, type Admin, type ITopicConfig, type Consumer, type ConsumerConfig, type KafkaConfig, type Producer, type ProducerRecord, type RecordMetadata, type SASLOptions, type logCreator } from 'kafkajs';
import { topicSpecs, type TopicSpec } from '@pfm/contracts';
import type { Logger, Metrics } from '@pfm/observability';
import { countKafkaErrors } from './client-errors';

const levels: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error', [logLevel.WARN]: 'warn', [logLevel.INFO]: 'info', [logLevel.DEBUG]: 'debug', [logLevel.NOTHING]: 'debug',
};

function pinoLogCreator(logger?: Logger): logCreator {
  return () => ({ namespace, level, log }) => {
    if (!logger) return;
    const { message, ...extra } = log;
    // kafkajs logs every rebalance and reconnect at INFO; keep them at debug to keep logs calm.
    const lvl = levels[level] === 'info' ? 'debug' : levels[level] ?? 'debug';
    logger[lvl]({ kafka: namespace, ...extra }, message);
  };
}

/**
 * How long a consumer's fetch waits at the broker while a partition has nothing new
 * (kafkajs's default is 5 s; the Java client's fetch.max.wait.ms is 500 ms). A fetch
 * returns as soon as a message arrives whatever this is; what it bounds is how long a
 * consumer's stop (disconnect, SIGTERM, a test's teardown) waits for the fetch in flight.
 */
export const FETCH_MAX_WAIT_MS = 500;

export class KafkaAuthConfigError extends Error {}

const saslMechanisms = ['scram-sha-512', 'scram-sha-256', 'plain'] as const;
export type KafkaSaslMechanism = (typeof saslMechanisms)[number];

/**
 * The broker credentials from the environment, the one place every Kafka client of the
 * product (services, tools, tests) gets them:
 *   KAFKA_SASL_MECHANISM  scram-sha-512 (default when a user is set), scram-sha-256 or plain
 *   KAFKA_SASL_USERNAME   the principal (ingest, engine, gateway, ...); unset or empty: no SASL
 *   KAFKA_SASL_PASSWORD   its password
 *   KAFKA_SSL             "true" for TLS to the brokers (SASL_SSL), with the system's CAs
 *   KAFKA_SSL_CA_FILE     a PEM file of the CA(s) to trust instead (the native stack's local
 *                         CA, .stack/kafka/tls/ca.crt); setting it turns TLS on
 * Throws KafkaAuthConfigError for a user without a password, an unknown mechanism or a CA
 * file that cannot be read, so a service stops at start rather than retrying a login that
 * cannot work.
 */
export function kafkaSaslFromEnv(env: NodeJS.ProcessEnv = process.env): { sasl?: SASLOptions; ssl?: KafkaConfig['ssl'] } {
  const ssl = kafkaTlsFromEnv(env);
  const username = env.KAFKA_SASL_USERNAME?.trim();
  if (!username) return ssl ? { ssl } : {};
  const password = env.KAFKA_SASL_PASSWORD;
  if (!password) throw new KafkaAuthConfigError(`KAFKA_SASL_USERNAME is set (${username}) but KAFKA_SASL_PASSWORD is empty`);
  const mechanism = (env.KAFKA_SASL_MECHANISM?.trim().toLowerCase() || 'scram-sha-512') as KafkaSaslMechanism;
  if (!saslMechanisms.includes(mechanism)) throw new KafkaAuthConfigError(`KAFKA_SASL_MECHANISM=${env.KAFKA_SASL_MECHANISM}: expected one of ${saslMechanisms.join(', ')}`);
  return { sasl: { mechanism, username, password } as SASLOptions, ...(ssl ? { ssl } : {}) };
}

/** TLS to the brokers from KAFKA_SSL_CA_FILE (trust that CA) or KAFKA_SSL=true (the system's CAs); undefined: no TLS. */
function kafkaTlsFromEnv(env: NodeJS.ProcessEnv): KafkaConfig['ssl'] | undefined {
  const caFile = env.KAFKA_SSL_CA_FILE?.trim();
  if (caFile) {
    try {
      return { ca: [readFileSync(caFile)] };
    } catch (e) {
      throw new KafkaAuthConfigError(`KAFKA_SSL_CA_FILE=${caFile}: ${(e as Error).message}`);
    }
  }
  return env.KAFKA_SSL === 'true' ? true : undefined;
}

/**
 * kafkajs settings with the credentials of `env` (kafkaSaslFromEnv) added to `base`: for
 * clients made outside createKafka (tests, tools). `base` wins when it sets sasl itself.
 */
export function kafkaClientConfig(base: KafkaConfig, env: NodeJS.ProcessEnv = process.env): KafkaConfig {
  return { ...kafkaSaslFromEnv(env), ...base };
}

/**
 * The product's Kafka client: credentials from the environment (kafkaSaslFromEnv) unless
 * `env` is given. With `metrics`, every producer, consumer and admin it makes counts its
 * errors (`pfm_kafka_client_errors_total`).
 */
export function createKafka(opts: { brokers: string[]; clientId: string; logger?: Logger; metrics?: Metrics; env?: NodeJS.ProcessEnv }): Kafka {
  const kafka = new Kafka({
    ...kafkaSaslFromEnv(opts.env),
    clientId: opts.clientId,
    brokers: opts.brokers,
    logLevel: logLevel.WARN,
    logCreator: pinoLogCreator(opts.logger),
    retry: { initialRetryTime: 200, retries: 8, maxRetryTime: 5000 },
    connectionTimeout: 3000,
  });
  return opts.metrics ? countKafkaErrors(kafka, opts.metrics) : kafka;
}

/**
 * How many copies of each partition the product's topics are created with, and how many
 * must have a write before it counts (`min.insync.replicas`): `PFM_TOPIC_REPLICATION_FACTOR`
 * when set, else 3 on a cluster of 3 or more brokers and one per broker below that (a
 * single-node development broker: 1). With 3 copies, 2 must have each write, so losing a
 * broker loses nothing acknowledged and refuses no write.
 */
export function topicReplication(brokers: number, configured?: string): { replicationFactor: number; minInsyncReplicas: number } {
  let rf = Math.max(1, Math.min(3, brokers));
  if (configured !== undefined && configured !== '') {
    rf = Number(configured);
    if (!Number.isInteger(rf) || rf < 1) throw new Error(`PFM_TOPIC_REPLICATION_FACTOR must be a whole number of 1 or more, not ${JSON.stringify(configured)}`);
    if (rf > brokers) throw new Error(`PFM_TOPIC_REPLICATION_FACTOR is ${rf}, but the cluster has ${brokers} broker${brokers === 1 ? '' : 's'}: a topic cannot have more copies than brokers`);
  }
  return { replicationFactor: rf, minInsyncReplicas: rf >= 3 ? 2 : 1 };
}

/** Creates the product's topics when missing (safe to call on every start), replicated as topicReplication says. */
export async function ensureTopics(admin: Admin, specs: TopicSpec[] = topicSpecs({ partitions: Number(process.env.PFM_TOPIC_PARTITIONS ?? 6), namespace: process.env.PFM_TOPIC_NAMESPACE ?? '' })): Promise<void> {
  const existing = new Set(await admin.listTopics());
  const missing = specs.filter((s) => !existing.has(s.topic));
  if (missing.length === 0) return;
  const { brokers } = await admin.describeCluster();
  const { replicationFactor, minInsyncReplicas } = topicReplication(brokers.length, process.env.PFM_TOPIC_REPLICATION_FACTOR);
  await createTopicsReady(admin, missing.map((s) => ({
    ...s, replicationFactor,
    configEntries: [...s.configEntries.filter((c) => c.name !== 'min.insync.replicas'), { name: 'min.insync.replicas', value: String(minInsyncReplicas) }],
  })));
}

/**
 * Creates `topics` (one that exists already, made by another service between a list and
 * this call, is left as it is) and returns once the broker serves every partition of each
 * with a leader. kafkajs's own wait (`waitForLeaders`) retries only while a leader is being
 * elected; a loaded broker can answer the metadata request just after the create with
 * UNKNOWN_TOPIC_OR_PARTITION ("does not host this topic-partition") before its metadata
 * holds the new topic, and that error is retriable: it is waited out here, up to `timeoutMs`.
 */
export async function createTopicsReady(admin: Pick<Admin, 'createTopics' | 'fetchTopicMetadata'>, topics: ITopicConfig[], timeoutMs = 30_000, sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))): Promise<void> {
  try {
    await admin.createTopics({ topics, waitForLeaders: false });
  } catch (e) {
    if (!String((e as Error).message).includes('already exists')) throw e;
  }
  const names = topics.map((t) => t.topic);
  const deadline = Date.now() + timeoutMs;
  let last = 'no leader yet';
  for (let wait = 50; ; wait = Math.min(wait * 2, 1000)) {
    try {
      const { topics: found } = await admin.fetchTopicMetadata({ topics: names });
      const want = new Map(topics.map((t) => [t.topic, t.numPartitions ?? 1]));
      const waiting = found.filter((t) => t.partitions.length < (want.get(t.name) ?? 1) || t.partitions.some((p) => p.leader < 0)).map((t) => t.name);
      if (found.length === names.length && waiting.length === 0) return;
      last = `no leader yet for ${waiting.join(', ') || 'every topic'}`;
    } catch (e) {
      if ((e as { retriable?: boolean }).retriable !== true) throw e;
      last = (e as Error).message;
    }
    if (Date.now() > deadline) throw new Error(`topics ${names.join(', ')} were created but the broker did not serve them within ${timeoutMs} ms (last: ${last})`);
    await sleep(wait);
  }
}

/** Idempotent producer, acks from all in-sync replicas: a send resolves only once Kafka has it durably. */
/**
 * A consumer with the product's defaults: no topic created by reading it, and fetches that
 * wait at most FETCH_MAX_WAIT_MS at the broker (so a stop does not wait kafkajs's 5 s).
 * `config` adds to or overrides them.
 */
export function createConsumer(kafka: Kafka, config: ConsumerConfig): Consumer {
  return kafka.consumer({ allowAutoTopicCreation: false, maxWaitTimeInMs: FETCH_MAX_WAIT_MS, ...config });
}

export function createProducer(kafka: Kafka): Producer {
  return kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false, retry: { retries: 5 } });
}

/** The send in progress on each producer: every send waits for the one before it. */
const lastSend = new WeakMap<Producer, Promise<unknown>>();

/**
 * One send at a time per producer. kafkajs's idempotent producer numbers record batches
 * as it builds requests; concurrent send() calls on one producer (three partitions'
 * batches and the scanner at once) can number batches out of order, which the broker
 * refuses (OUT_OF_ORDER_SEQUENCE_NUMBER) and which is known to drop or stall sends.
 * Queued here, the order of sends is the order of calls.
 */
export function serialSend(producer: Producer, record: ProducerRecord): Promise<RecordMetadata[]> {
  const prev = lastSend.get(producer) ?? Promise.resolve();
  const next = prev.catch(() => undefined).then(() => producer.send(record));
  lastSend.set(producer, next);
  return next;
}

/**
 * Sends messages in requests of at most ~maxBytes each (acks=-1), in order. A single
 * record batch over the broker's message.max.bytes (1 MiB by default) is refused whole,
 * which would stall whatever produced it; this keeps every request under that limit.
 */
export async function sendChunked(producer: Producer, topic: string, messages: { key: string; value: string | Buffer; headers?: Record<string, string> }[], maxBytes = 512 * 1024): Promise<void> {
  let chunk: typeof messages = [];
  let size = 0;
  for (const m of messages) {
    const n = m.key.length + (typeof m.value === 'string' ? Buffer.byteLength(m.value) : m.value.length) + 64;
    if (chunk.length && size + n > maxBytes) {
      await serialSend(producer, { topic, acks: -1, messages: chunk });
      chunk = [];
      size = 0;
    }
    chunk.push(m);
    size += n;
  }
  if (chunk.length) await serialSend(producer, { topic, acks: -1, messages: chunk });
}
