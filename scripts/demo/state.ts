// What the demo remembers between runs (.stack/demo-state.json, .stack/demo-secret) and
// what it finds in the live stores, so that re-running it never double-counts:
//   earlier demo state in Redis + state file -> reuse it: no history, continue live from
//     where the last run stopped (the same seeded timeline, so every event keeps its id);
//   --fresh -> clear the live key prefix and use a new topic namespace (the engine then
//     has nothing old to rebuild from);
//   nothing recorded but live data present -> refuse, and say how to clear it.
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import type Redis from 'ioredis';
import type { Kafka } from 'kafkajs';
import { newSenderKey } from '@pfm/access';
import { topicSpecs, topicsFor } from '@pfm/contracts';
import { DEFAULT_THRESHOLDS } from '@pfm/flow-domain';
import { FlowStore, Keys, WardRegistry } from '@pfm/flow-store';
import { ensureTopics, FlowEventCodec } from '@pfm/kafka-runtime';

export const LIVE_PREFIX = 'pfm';

export interface DemoState {
  version: 1;
  seed: string;
  /** Simulation start (end of history), epoch ms. */
  start: number;
  historyDays: number;
  faults: boolean;
  /** Topic namespace in use ('' = the default topics). */
  namespace: string;
  site: string;
  /** Every delivery due before this simulated time has been answered by ingest. */
  confirmedUntil: number;
  createdAt: string;
}

/** The state file, or undefined when it is missing or not one this version wrote. */
export function readState(file: string): DemoState | undefined {
  if (!existsSync(file)) return undefined;
  try {
    const v = JSON.parse(readFileSync(file, 'utf8')) as Partial<DemoState>;
    const ok = v.version === 1 && typeof v.seed === 'string' && typeof v.start === 'number' && typeof v.historyDays === 'number'
      && typeof v.faults === 'boolean' && typeof v.namespace === 'string' && typeof v.site === 'string' && typeof v.confirmedUntil === 'number';
    return ok ? (v as DemoState) : undefined;
  } catch {
    return undefined;
  }
}

export function writeState(file: string, s: DemoState): void {
  writeFileSync(file, `${JSON.stringify(s, null, 2)}\n`);
}

/** The demo's JWT secret: made once (48 random hex characters), kept in .stack/demo-secret (mode 600). */
export function demoSecret(file: string): string {
  if (existsSync(file)) {
    const s = readFileSync(file, 'utf8').trim();
    if (s.length >= 32) return s;
  }
  const secret = randomBytes(24).toString('hex');
  writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return secret;
}

/** The demo's key sealing raw rejected input (PFM_REJECTS_KEYS), made once and kept beside the secret. */
export function demoRejectsKey(file: string): string {
  if (existsSync(file)) {
    const s = readFileSync(file, 'utf8').trim();
    if (/^demo:[A-Za-z0-9+/=]{44}$/.test(s)) return s;
  }
  const key = `demo:${randomBytes(32).toString('base64')}`;
  writeFileSync(file, `${key}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return key;
}

/**
 * The demo's sender credentials, new on every run: one sender (the simulator) allowed
 * every channel for the demo's sites, MLLP from loopback. Writes the senders file ingest
 * reads (hashes only) and the key itself (mode 600, for curl); returns both paths and the key.
 */
export function demoSenders(dir: string, sites: string[]): { file: string; key: string } {
  const { key, keySha256 } = newSenderKey('demo-simulator');
  const file = `${dir}/senders.json`;
  writeFileSync(file, `${JSON.stringify([{ id: 'demo-simulator', keySha256, channels: ['json', 'fhir', 'hl7v2'], mllpPeers: ['127.0.0.1', '::1'], types: ['*'], sites, sourceSystem: 'SIM-EPR' }], null, 2)}\n`, { mode: 0o600 });
  writeFileSync(`${dir}/sender-key`, `${key}\n`, { mode: 0o600 });
  chmodSync(`${dir}/sender-key`, 0o600);
  return { file, key };
}

/** Whether Redis holds live state under the prefix (any key at all). */
export async function hasLiveState(redis: Redis, prefix = LIVE_PREFIX): Promise<boolean> {
  const [, keys] = await redis.scan('0', 'MATCH', new Keys(prefix).all(), 'COUNT', 1000);
  if (keys.length) return true;
  return (await redis.exists(new Keys(prefix).sites())) === 1;
}

/** The engine's clock for a site (event time of the last scan), if any. */
export async function engineClock(redis: Redis, site: string, prefix = LIVE_PREFIX): Promise<number | undefined> {
  const v = await redis.get(new Keys(prefix).clock(site));
  return v === null ? undefined : Number(v);
}

/** Deletes every key of the live prefix (FlowStore.clear: SCAN + UNLINK, never FLUSHALL). */
export async function clearLive(redis: Redis, prefix = LIVE_PREFIX): Promise<number> {
  return new FlowStore(redis, new Keys(prefix), new WardRegistry([]), DEFAULT_THRESHOLDS).clear();
}

/** Messages on the flow-event topic of a namespace (0 when the topic does not exist). */
export async function flowEventCount(kafka: Kafka, namespace: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const topic = topicsFor(namespace).flowEvents;
    const topics = await admin.listTopics();
    if (!topics.includes(topic)) return 0;
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.reduce((n, o) => n + Number(o.high) - Number(o.low), 0);
  } finally {
    await admin.disconnect();
  }
}

export const freshNamespace = (now = new Date()): string => `demo-${now.toISOString().replace(/[-:T]/g, '').slice(0, 14)}`;

/**
 * Registers the current flow-event schema for a namespace's topic, as ingest will.
 * Returns the registry's refusal (e.g. an older, incompatible schema under that subject), or undefined when it is fine.
 */
export async function schemaRefusal(registryUrl: string, namespace: string): Promise<string | undefined> {
  try {
    await new FlowEventCodec(registryUrl, `${topicsFor(namespace).flowEvents}-value`).init();
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

/**
 * Creates a namespace's topics and registers its flow-event schema before the services
 * start: ingest and the engine start together, and two first registrations of one new
 * subject at the same moment can fail in the registry ("rule already exists").
 */
export async function prepareNamespace(kafka: Kafka, registryUrl: string, namespace: string): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await ensureTopics(admin, topicSpecs({ partitions: Number(process.env.PFM_TOPIC_PARTITIONS ?? 6), namespace }));
  } finally {
    await admin.disconnect();
  }
  const refusal = await schemaRefusal(registryUrl, namespace);
  if (refusal) throw new Error(refusal);
}
