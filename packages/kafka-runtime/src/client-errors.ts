// Kafka client errors counted by class: every failed call of a producer, consumer or
// admin made from an instrumented client, and every consumer crash, lands in
// `pfm_kafka_client_errors_total{client,class,retriable}`. Alert rules read this, not the logs.
import type { Kafka } from 'kafkajs';
import type { Metrics } from '@pfm/observability';

export type KafkaClientRole = 'producer' | 'consumer' | 'admin';

export interface KafkaErrorClass {
  /** The error's name (KafkaJSConnectionError, KafkaJSProtocolError, InfrastructureError, ...). */
  class: string;
  /** Whether retrying can help, as the error says (kafkajs and PfmError both carry `retriable`). */
  retriable: 'true' | 'false' | 'unknown';
}

/** Names are bounded (error classes, not messages); anything that does not look like one is `other`. */
const CLASS_NAME = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;
const KAFKA_CODE = /^[A-Z][A-Z_]{0,63}$/;

/**
 * An error's class: its name (with the Kafka error code for a protocol error, from
 * Kafka's own bounded table: `KafkaJSProtocolError:MESSAGE_TOO_LARGE`) and its `retriable`.
 * When kafkajs gave up retrying (KafkaJSNumberOfRetriesExceeded) the class is that of
 * the error it kept meeting, which says what to fix.
 */
export function classifyKafkaError(err: unknown): KafkaErrorClass {
  if (!err || typeof err !== 'object') return { class: 'unknown', retriable: 'unknown' };
  const e = err as { name?: unknown; retriable?: unknown; type?: unknown; cause?: unknown };
  if (e.name === 'KafkaJSNumberOfRetriesExceeded' && e.cause && typeof e.cause === 'object') return classifyKafkaError(e.cause);
  let name = typeof e.name === 'string' && CLASS_NAME.test(e.name) ? e.name : 'other';
  if (name === 'KafkaJSProtocolError' && typeof e.type === 'string' && KAFKA_CODE.test(e.type)) name = `${name}:${e.type}`;
  const retriable = typeof e.retriable === 'boolean' ? (e.retriable ? 'true' : 'false') : 'unknown';
  return { class: name, retriable };
}

export type KafkaErrorRecorder = (client: KafkaClientRole, err: unknown) => void;

/** Registers the counter on the service's registry; one recorder per registry. */
const recorders = new WeakMap<Metrics, KafkaErrorRecorder>();
export function kafkaErrorRecorder(metrics: Metrics): KafkaErrorRecorder {
  const existing = recorders.get(metrics);
  if (existing) return existing;
  const counter = metrics.counter('pfm_kafka_client_errors_total', 'Failed Kafka client calls and consumer crashes, by client, error class and whether the error is retriable', ['client', 'class', 'retriable']);
  const record: KafkaErrorRecorder = (client, err) => counter.inc({ client, ...classifyKafkaError(err) });
  recorders.set(metrics, record);
  return record;
}

/** Wraps each method of a kafkajs client object so that a rejected call is counted (and still rejects). */
function countRejections<T extends object>(client: T, role: KafkaClientRole, record: KafkaErrorRecorder): T {
  const target = client as Record<string, unknown>;
  for (const [key, value] of Object.entries(target)) {
    if (typeof value !== 'function') continue;
    const method = value as (...args: unknown[]) => unknown;
    target[key] = (...args: unknown[]) => {
      const result = method.apply(client, args);
      if (result instanceof Promise) return result.catch((e: unknown) => { record(role, e); throw e; });
      return result;
    };
  }
  return client;
}

/**
 * Counts the errors of every producer, consumer and admin the client creates from now on:
 * rejected calls (connect, send, commit, admin requests) and consumer crashes (the run
 * loop failed: a broker error or the handler's own, retried by kafkajs and given up or
 * restarted). Returns the same client.
 */
export function countKafkaErrors(kafka: Kafka, metrics: Metrics): Kafka {
  const record = kafkaErrorRecorder(metrics);
  const producer = kafka.producer.bind(kafka);
  const consumer = kafka.consumer.bind(kafka);
  const admin = kafka.admin.bind(kafka);
  kafka.producer = (config) => countRejections(producer(config), 'producer', record);
  kafka.admin = (config) => countRejections(admin(config), 'admin', record);
  kafka.consumer = (config) => {
    const c = consumer(config);
    c.on(c.events.CRASH, ({ payload }) => record('consumer', payload.error));
    return countRejections(c, 'consumer', record);
  };
  return kafka;
}
